package demo_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/slots"
)

func calendar(t *testing.T) *apphub.Calendar {
	t.Helper()
	cal, err := demo.Calendar()
	if err != nil {
		t.Fatalf("demo data does not validate: %v", err)
	}
	return cal
}

func TestDataValidatesAndIsDeterministic(t *testing.T) {
	cal := calendar(t)
	if !reflect.DeepEqual(demo.Data(), demo.Data()) {
		t.Error("Data differs between calls")
	}
	kinds := map[string]int{}
	skills := map[string]int{}
	var nights, weekends int
	for _, r := range cal.Resources() {
		kinds[r.Kind]++
		for _, s := range r.Skills {
			skills[s]++
		}
		if r.Kind == apphub.KindCounter && r.EffectiveCapacity() < 2 {
			t.Errorf("counter %s has capacity %d", r.ID, r.EffectiveCapacity())
		}
		for _, s := range r.Shifts {
			start, length, _ := s.Span()
			if r.Kind == apphub.KindTechnician && start+length > 24*60 {
				nights++
			}
			if r.Kind == apphub.KindTechnician && (s.Weekday == time.Saturday || s.Weekday == time.Sunday) {
				weekends++
			}
		}
	}
	if kinds[apphub.KindTechnician] != 60 || kinds[apphub.KindCounter] != 12 || kinds[apphub.KindAgentPool] != 3 {
		t.Errorf("resources by kind %v", kinds)
	}
	if skills["fiber"] == 0 || skills["copper"] == 0 || skills["mobile"] == 0 {
		t.Errorf("skills %v", skills)
	}
	if nights == 0 || weekends == 0 {
		t.Errorf("%d night shifts, %d weekend shifts", nights, weekends)
	}
	d := cal.Data()
	if len(d.Places) != 6 || len(d.Zones) != 12 || len(d.HolidayCalendars) != 3 {
		t.Errorf("%d places, %d zones, %d holiday calendars", len(d.Places), len(d.Zones), len(d.HolidayCalendars))
	}
	for _, pc := range []string{"75001", "75020", "10001", "10040", "200000", "200040"} {
		if _, ok := cal.ZoneOfPostCode(pc); !ok {
			t.Errorf("postcode %s has no zone", pc)
		}
	}
	if _, ok := cal.Resource("tech-paris-007"); !ok {
		t.Error("tech-paris-007 is missing")
	}
}

func TestEaster(t *testing.T) {
	for year, want := range map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25", 1818: "1818-03-22"} {
		if got := demo.Easter(year).Format(time.DateOnly); got != want {
			t.Errorf("Easter(%d) = %s, want %s", year, got, want)
		}
	}
}

func TestHolidays(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		calendar string
		perYear  map[string]int
		dates    map[string]string // date → part of its name
	}{
		{"holidays-fr", map[string]int{"2026": 11, "2027": 11}, map[string]string{
			"2026-04-06": "Pâques", "2026-05-14": "Ascension", "2026-05-25": "Pentecôte", "2026-07-14": "nationale",
			"2027-03-29": "Pâques", "2027-05-06": "Ascension", "2027-05-17": "Pentecôte", "2027-11-11": "Armistice",
		}},
		{"holidays-us", map[string]int{"2026": 11, "2027": 12, "2028": 10}, map[string]string{
			"2026-01-19": "Martin Luther King", "2026-07-03": "Independence Day (observed)", "2026-11-26": "Thanksgiving",
			"2027-06-18": "Juneteenth", "2027-07-05": "Independence Day (observed)", "2027-12-24": "Christmas Day (observed)",
			"2027-12-31": "New Year's Day (observed)", "2027-05-31": "Memorial Day", "2049-12-31": "New Year's Day (observed)",
		}},
		{"holidays-cn", map[string]int{"2026": 13, "2027": 13, "2031": 12}, map[string]string{
			"2026-02-16": "Eve", "2026-02-17": "Spring Festival", "2026-04-05": "Qingming", "2026-06-19": "Dragon Boat",
			"2026-09-25": "Mid-Autumn", "2026-10-03": "National Day", "2027-02-05": "Eve", "2027-06-09": "Dragon Boat",
			"2031-10-01": "Mid-Autumn Festival / 国庆节 National Day, day 1", "2050-01-22": "Eve", "2050-04-04": "Qingming",
		}},
	}
	for _, tt := range tests {
		h, ok := cal.HolidayCalendar(tt.calendar)
		if !ok {
			t.Fatalf("no %s", tt.calendar)
		}
		perYear := map[string]int{}
		names := map[string]string{}
		for _, d := range h.Dates {
			perYear[d.Date[:4]]++
			names[d.Date] = d.Name
		}
		for year, want := range tt.perYear {
			if perYear[year] != want {
				t.Errorf("%s: %d dates in %s, want %d", tt.calendar, perYear[year], year, want)
			}
		}
		for date, part := range tt.dates {
			if !strings.Contains(names[date], part) {
				t.Errorf("%s: %s is %q, want %q", tt.calendar, date, names[date], part)
			}
		}
	}
}

// Searches in each region, a week ahead from a Monday morning in March 2026.
func TestSearchesReturnSlots(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		timeZone string
		category string
		place    string
	}{
		{"Europe/Paris", demo.Repair, "75011"},
		{"Europe/Paris", demo.Installation, "75020"},
		{"Europe/Paris", demo.StoreVisit, "store-paris-bastille"},
		{"Europe/Paris", demo.StoreVisit, "75009"},
		{"Europe/Paris", demo.Callback, "75001"},
		{"America/New_York", demo.Repair, "10025"},
		{"America/New_York", demo.Installation, "10001"},
		{"America/New_York", demo.StoreVisit, "store-nyc-upper-east-side"},
		{"America/New_York", demo.Callback, "10040"},
		{"Asia/Shanghai", demo.Repair, "200015"},
		{"Asia/Shanghai", demo.Installation, "200040"},
		{"Asia/Shanghai", demo.StoreVisit, "store-shanghai-xujiahui"},
		{"Asia/Shanghai", demo.Callback, "200000"},
	}
	for _, tt := range tests {
		t.Run(tt.category+"@"+tt.place, func(t *testing.T) {
			loc, _ := time.LoadLocation(tt.timeZone)
			now := time.Date(2026, 3, 2, 8, 0, 0, 0, loc)
			r, err := slots.SearchSlots(cal, nil, slots.Query{Category: tt.category, Place: tt.place, From: now, To: now.AddDate(0, 0, 7), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Days) == 0 || r.TimeZone != tt.timeZone {
				t.Fatalf("no slots in %s: %+v", r.TimeZone, r.Reasons)
			}
			first := r.Days[0].Slots[0]
			if _, err := slots.Bookable(cal, nil, slots.BookRequest{Category: tt.category, Resource: first.Resources[0].ResourceID, Place: tt.place, Start: first.Start, End: first.End, Now: now}); err != nil {
				t.Errorf("first slot %v is not bookable: %v", first.Start, err)
			}
		})
	}
}

// A repair at 75011 can be had on every ordinary weekday, through the seasons and both
// DST changes.
func TestRepairAt75011OnWeekdays(t *testing.T) {
	cal := calendar(t)
	paris, _ := time.LoadLocation("Europe/Paris")
	holidays, _ := cal.HolidayCalendar("holidays-fr")
	for _, monday := range []string{"2026-01-05", "2026-03-23", "2026-03-30", "2026-06-08", "2026-10-26", "2026-12-21", "2027-05-03"} {
		day, _ := time.ParseInLocation(time.DateOnly, monday, paris)
		now := day.Add(-24 * time.Hour)
		r, err := slots.SearchSlots(cal, nil, slots.Query{Category: demo.Repair, Place: "75011", From: day, To: day.AddDate(0, 0, 5), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var dates []string
		for _, d := range r.Days {
			dates = append(dates, d.Date)
		}
		for i := range 5 {
			date := day.AddDate(0, 0, i).Format(time.DateOnly)
			holiday := slices.ContainsFunc(holidays.Dates, func(h apphub.Holiday) bool { return h.Date == date })
			if !holiday && !slices.Contains(dates, date) {
				t.Errorf("no repair slot at 75011 on %s", date)
			}
			if holiday && slices.Contains(dates, date) {
				t.Errorf("repair slots at 75011 on the holiday %s", date)
			}
		}
	}
}
