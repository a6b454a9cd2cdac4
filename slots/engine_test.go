package slots

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// at parses a test instant written with its local offset, e.g. "2026-03-29T03:00+02:00", so
// that expectations show both the wall clock and the DST offset.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02T15:04Z07:00", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// newCalendar builds a calendar with two regions: zone "paris" (Europe/Paris, postcode 75011,
// store "store-paris") and zone "nyc" (America/New_York, postcode 10001), plus the given
// resources, categories and holiday calendars.
func newCalendar(t testing.TB, resources []apphub.Resource, categories []apphub.Category, holidays ...apphub.HolidayCalendar) *apphub.Calendar {
	t.Helper()
	cal, err := apphub.NewCalendar(apphub.CalendarData{
		Resources:  resources,
		Categories: categories,
		Zones: []apphub.Zone{
			{ID: "paris", TimeZone: "Europe/Paris", PostCodes: []string{"75011"}},
			{ID: "nyc", TimeZone: "America/New_York", PostCodes: []string{"10001"}},
		},
		Places:           []apphub.Place{{ID: "store-paris", Name: "Paris Bastille", TimeZone: "Europe/Paris", Zone: "paris", PostCode: "75011"}},
		HolidayCalendars: holidays,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func technician(id, tz, zone string, shifts ...apphub.Shift) apphub.Resource {
	return apphub.Resource{ID: id, Kind: apphub.KindTechnician, Name: id, TimeZone: tz, Zones: []string{zone}, Skills: []string{"fiber", "copper"}, Shifts: shifts}
}

func weekdays(start, end string) []apphub.Shift {
	var out []apphub.Shift
	for d := time.Monday; d <= time.Friday; d++ {
		out = append(out, apphub.Shift{Weekday: d, Start: start, End: end})
	}
	return out
}

var hourly = apphub.Category{ID: "repair", Duration: time.Hour, Step: time.Hour, ResourceKinds: []string{apphub.KindTechnician}}

// starts lists the slot starts of r on the wall clock of loc, with their offsets.
func starts(r *Result, loc *time.Location) []string {
	var out []string
	for _, d := range r.Days {
		for _, s := range d.Slots {
			out = append(out, s.Start.In(loc).Format("2006-01-02T15:04Z07:00"))
		}
	}
	return out
}

func codes(reasons []apphub.Reason) []string {
	var out []string
	for _, r := range reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestSearchAcrossDSTChanges(t *testing.T) {
	night := func(d time.Weekday) apphub.Shift { return apphub.Shift{Weekday: d, Start: "22:00", End: "06:00"} }
	tests := []struct {
		name     string
		tz       string
		postCode string
		shift    apphub.Shift
		category apphub.Category
		from, to string
		want     []string
	}{
		{
			name: "Paris gap: 02:00 does not exist, the night is 7 hours", tz: "Europe/Paris", postCode: "75011",
			shift: night(time.Saturday), category: hourly,
			from: "2026-03-28T12:00+01:00", to: "2026-03-29T12:00+02:00",
			want: []string{
				"2026-03-28T22:00+01:00", "2026-03-28T23:00+01:00", "2026-03-29T00:00+01:00", "2026-03-29T01:00+01:00",
				"2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00", "2026-03-29T05:00+02:00",
			},
		},
		{
			name: "Paris fold: 02:00 is offered once, at its first instant; the night is 9 hours", tz: "Europe/Paris", postCode: "75011",
			shift: night(time.Saturday), category: hourly,
			from: "2026-10-24T12:00+02:00", to: "2026-10-25T12:00+01:00",
			want: []string{
				"2026-10-24T22:00+02:00", "2026-10-24T23:00+02:00", "2026-10-25T00:00+02:00", "2026-10-25T01:00+02:00",
				"2026-10-25T02:00+02:00", "2026-10-25T03:00+01:00", "2026-10-25T04:00+01:00", "2026-10-25T05:00+01:00",
			},
		},
		{
			name: "Paris fold, every 30 minutes: the repeated 02:00 and 02:30 are not offered again", tz: "Europe/Paris", postCode: "75011",
			shift:    night(time.Saturday),
			category: apphub.Category{ID: "repair", Duration: time.Hour, Step: 30 * time.Minute},
			from:     "2026-10-25T01:30+02:00", to: "2026-10-25T03:30+01:00",
			want: []string{
				"2026-10-25T01:30+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:30+02:00",
				"2026-10-25T03:00+01:00",
			},
		},
		{
			name: "Paris gap, day shift 01:00–05:00 is 3 hours long", tz: "Europe/Paris", postCode: "75011",
			shift:    apphub.Shift{Weekday: time.Sunday, Start: "01:00", End: "05:00"},
			category: apphub.Category{ID: "repair", Duration: 30 * time.Minute, Step: 30 * time.Minute},
			from:     "2026-03-29T00:00+01:00", to: "2026-03-30T00:00+02:00",
			want: []string{
				"2026-03-29T01:00+01:00", "2026-03-29T01:30+01:00",
				"2026-03-29T03:00+02:00", "2026-03-29T03:30+02:00", "2026-03-29T04:00+02:00", "2026-03-29T04:30+02:00",
			},
		},
		{
			name: "New York gap", tz: "America/New_York", postCode: "10001",
			shift: night(time.Saturday), category: hourly,
			from: "2026-03-07T12:00-05:00", to: "2026-03-08T12:00-04:00",
			want: []string{
				"2026-03-07T22:00-05:00", "2026-03-07T23:00-05:00", "2026-03-08T00:00-05:00", "2026-03-08T01:00-05:00",
				"2026-03-08T03:00-04:00", "2026-03-08T04:00-04:00", "2026-03-08T05:00-04:00",
			},
		},
		{
			name: "New York fold", tz: "America/New_York", postCode: "10001",
			shift: night(time.Saturday), category: hourly,
			from: "2026-10-31T12:00-04:00", to: "2026-11-01T12:00-05:00",
			want: []string{
				"2026-10-31T22:00-04:00", "2026-10-31T23:00-04:00", "2026-11-01T00:00-04:00", "2026-11-01T01:00-04:00",
				"2026-11-01T02:00-05:00", "2026-11-01T03:00-05:00", "2026-11-01T04:00-05:00", "2026-11-01T05:00-05:00",
			},
		},
		{
			name: "arrival window across the Paris gap is one hour shorter", tz: "Europe/Paris", postCode: "75011",
			shift:    apphub.Shift{Weekday: time.Sunday, Start: "00:00", End: "06:00"},
			category: apphub.Category{ID: "installation", Duration: time.Hour, Windows: []apphub.Window{{Start: "01:00", End: "04:00"}}},
			from:     "2026-03-29T00:00+01:00", to: "2026-03-30T00:00+02:00",
			want: []string{"2026-03-29T01:00+01:00"},
		},
		{
			name: "arrival window starting inside the Paris gap opens when the gap ends", tz: "Europe/Paris", postCode: "75011",
			shift:    apphub.Shift{Weekday: time.Sunday, Start: "00:00", End: "06:00"},
			category: apphub.Category{ID: "installation", Duration: time.Hour, Windows: []apphub.Window{{Start: "02:30", End: "05:00"}}},
			from:     "2026-03-29T00:00+01:00", to: "2026-03-30T00:00+02:00",
			want: []string{"2026-03-29T03:00+02:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zone := map[string]string{"75011": "paris", "10001": "nyc"}[tt.postCode]
			cal := newCalendar(t, []apphub.Resource{technician("tech-1", tt.tz, zone, tt.shift)}, []apphub.Category{tt.category})
			from, to := at(t, tt.from), at(t, tt.to)
			r, err := SearchSlots(cal, nil, Query{Category: tt.category.ID, Place: tt.postCode, From: from, To: to, Now: from.AddDate(0, 0, -7)})
			if err != nil {
				t.Fatal(err)
			}
			loc := mustLoad(t, tt.tz)
			if got := starts(r, loc); !slices.Equal(got, tt.want) {
				t.Errorf("starts\n got %v\nwant %v", got, tt.want)
			}
			for _, d := range r.Days {
				for _, s := range d.Slots {
					if got := s.Start.In(loc).Format(time.DateOnly); got != d.Date {
						t.Errorf("slot %v grouped under %s", s.Start, d.Date)
					}
					if _, err := Bookable(cal, nil, BookRequest{Category: tt.category.ID, Resource: "tech-1", Place: tt.postCode, Start: s.Start, End: s.End, Now: from.AddDate(0, 0, -7)}); err != nil {
						t.Errorf("offered %v but not bookable: %v", s.Start, err)
					}
				}
			}
		})
	}
}

func TestArrivalWindowAcrossGapEndsAtWallClockEnd(t *testing.T) {
	cal := newCalendar(t,
		[]apphub.Resource{technician("tech-1", "Europe/Paris", "paris", apphub.Shift{Weekday: time.Sunday, Start: "00:00", End: "06:00"})},
		[]apphub.Category{{ID: "installation", Duration: time.Hour, Windows: []apphub.Window{{Start: "01:00", End: "04:00"}}}})
	from := at(t, "2026-03-29T00:00+01:00")
	r, err := SearchSlots(cal, nil, Query{Category: "installation", Place: "75011", From: from, To: from.Add(24 * time.Hour), Now: from.AddDate(0, 0, -1)})
	if err != nil || len(r.Days) != 1 {
		t.Fatalf("got %+v, %v", r, err)
	}
	s := r.Days[0].Slots[0]
	if !s.End.Equal(at(t, "2026-03-29T04:00+02:00")) || s.End.Sub(s.Start) != 2*time.Hour {
		t.Errorf("window %v–%v, want 01:00+01:00–04:00+02:00 (2 hours)", s.Start, s.End)
	}
}

func TestBookableRefusesTheRepeatedFoldStart(t *testing.T) {
	cal := newCalendar(t,
		[]apphub.Resource{technician("tech-1", "Europe/Paris", "paris", apphub.Shift{Weekday: time.Saturday, Start: "22:00", End: "06:00"})},
		[]apphub.Category{hourly})
	now := at(t, "2026-10-20T00:00+02:00")
	for _, tt := range []struct {
		start string
		want  string
	}{
		{"2026-10-25T02:00+02:00", ""},
		{"2026-10-25T02:00+01:00", apphub.ReasonNotASlotStart}, // the same wall clock, an hour later
		{"2026-10-25T03:00+01:00", ""},
	} {
		_, err := Bookable(cal, nil, BookRequest{Category: "repair", Resource: "tech-1", Place: "75011", Start: at(t, tt.start), Now: now})
		if got := refusalReason(err); got != tt.want {
			t.Errorf("%s: reason %q (%v), want %q", tt.start, got, err, tt.want)
		}
	}
}

func refusalReason(err error) string {
	if reason := apphub.ErrorReason(err); reason != "" {
		return reason
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

// The rules table works on one Paris technician, Monday to Friday 08:00–12:00, around the
// week of Monday 4 May 2026 (Friday 1 May and Friday 8 May are French holidays).
func TestSearchRules(t *testing.T) {
	fr := apphub.HolidayCalendar{ID: "fr", Region: "FR", Dates: []apphub.Holiday{{Date: "2026-05-01", Name: "Fête du Travail"}, {Date: "2026-05-08", Name: "Victoire 1945"}}}
	frBlackout := fr
	frBlackout.Blackouts = []apphub.Blackout{{From: "2026-05-05T10:00", To: "2026-05-05T11:00", Name: "network freeze"}}
	busyAll := func(from, to string) func(t *testing.T, b *Busy) {
		return func(t *testing.T, b *Busy) {
			for q := at(t, from); q.Before(at(t, to)); q = q.Add(apphub.Quantum) {
				b.Add("tech-1", q, 0)
			}
		}
	}
	tests := []struct {
		name        string
		resource    func(r *apphub.Resource)
		category    func(c *apphub.Category)
		holidays    apphub.HolidayCalendar
		busy        func(t *testing.T, b *Busy)
		day         string // searched from local midnight for 24 hours
		now         string
		want        []string
		wantReasons []string
		wantNext    []string
		wantMessage string // contained in the first reason's message
	}{
		{
			name: "ordinary day", day: "2026-05-05",
			want: []string{"2026-05-05T08:00+02:00", "2026-05-05T09:00+02:00", "2026-05-05T10:00+02:00", "2026-05-05T11:00+02:00"},
		},
		{
			name: "holiday", day: "2026-05-01", holidays: fr,
			resource:    func(r *apphub.Resource) { r.HolidayCalendar = "fr" },
			wantReasons: []string{apphub.ReasonHoliday, apphub.ReasonOutsideHours},
			wantNext:    []string{"2026-05-04", "2026-05-05", "2026-05-06"},
			wantMessage: "2026-05-01 Fête du Travail",
		},
		{
			name: "an extra opening beats the holiday", day: "2026-05-01", holidays: fr,
			resource: func(r *apphub.Resource) {
				r.HolidayCalendar = "fr"
				r.Exceptions = []apphub.Exception{{Kind: apphub.ExceptionOpening, From: "2026-05-01T09:00", To: "2026-05-01T11:00"}}
			},
			want: []string{"2026-05-01T09:00+02:00", "2026-05-01T10:00+02:00"},
		},
		{
			name: "extra opening on a Saturday", day: "2026-05-09",
			resource: func(r *apphub.Resource) {
				r.Exceptions = []apphub.Exception{{Kind: apphub.ExceptionOpening, From: "2026-05-09T14:00", To: "2026-05-09T16:00"}}
			},
			want: []string{"2026-05-09T14:00+02:00", "2026-05-09T15:00+02:00"},
		},
		{
			name: "absence", day: "2026-05-05",
			resource: func(r *apphub.Resource) {
				r.Exceptions = []apphub.Exception{{Kind: apphub.ExceptionAbsence, From: "2026-05-05T09:30", To: "2026-05-05T10:00", Reason: "dentist"}}
			},
			want: []string{"2026-05-05T08:00+02:00", "2026-05-05T10:00+02:00", "2026-05-05T11:00+02:00"},
		},
		{
			name: "blackout", day: "2026-05-05", holidays: frBlackout,
			resource: func(r *apphub.Resource) { r.HolidayCalendar = "fr" },
			want:     []string{"2026-05-05T08:00+02:00", "2026-05-05T09:00+02:00", "2026-05-05T11:00+02:00"},
		},
		{
			name: "minimum notice", day: "2026-05-05", now: "2026-05-05T07:10+02:00",
			category: func(c *apphub.Category) { c.MinNotice = 2 * time.Hour },
			want:     []string{"2026-05-05T10:00+02:00", "2026-05-05T11:00+02:00"},
		},
		{
			name: "minimum notice boundary is inclusive", day: "2026-05-05", now: "2026-05-05T07:00+02:00",
			category: func(c *apphub.Category) { c.MinNotice = 2 * time.Hour },
			want:     []string{"2026-05-05T09:00+02:00", "2026-05-05T10:00+02:00", "2026-05-05T11:00+02:00"},
		},
		{
			name: "minimum notice boundary, a nanosecond later", day: "2026-05-05", now: "2026-05-05T07:00+02:00",
			category: func(c *apphub.Category) { c.MinNotice = 2*time.Hour + time.Nanosecond },
			want:     []string{"2026-05-05T10:00+02:00", "2026-05-05T11:00+02:00"},
		},
		{
			name: "all inside minimum notice", day: "2026-05-05", now: "2026-05-05T07:30+02:00",
			category:    func(c *apphub.Category) { c.MinNotice = 24 * time.Hour },
			wantReasons: []string{apphub.ReasonInsideMinimumNotice},
			wantNext:    []string{"2026-05-06", "2026-05-07", "2026-05-08"},
			wantMessage: "2026-05-06T05:30:00Z",
		},
		{
			name: "horizon boundary is inclusive", day: "2026-05-05", now: "2026-05-05T07:00+02:00",
			category: func(c *apphub.Category) { c.Horizon = 3 * time.Hour },
			want:     []string{"2026-05-05T08:00+02:00", "2026-05-05T09:00+02:00", "2026-05-05T10:00+02:00"},
		},
		{
			name: "beyond the horizon", day: "2026-05-12", now: "2026-05-05T07:00+02:00",
			category:    func(c *apphub.Category) { c.Horizon = 72 * time.Hour },
			wantReasons: []string{apphub.ReasonOutsideHorizon},
		},
		{
			name: "buffers may not leave the shift", day: "2026-05-05",
			resource: func(r *apphub.Resource) { r.BufferBefore, r.BufferAfter = 15*time.Minute, 30*time.Minute },
			category: func(c *apphub.Category) { c.Step = 15 * time.Minute },
			want: []string{
				"2026-05-05T08:15+02:00", "2026-05-05T08:30+02:00", "2026-05-05T08:45+02:00", "2026-05-05T09:00+02:00",
				"2026-05-05T09:15+02:00", "2026-05-05T09:30+02:00", "2026-05-05T09:45+02:00", "2026-05-05T10:00+02:00",
				"2026-05-05T10:15+02:00", "2026-05-05T10:30+02:00",
			},
		},
		{
			name: "buffers occupy capacity", day: "2026-05-05",
			resource: func(r *apphub.Resource) { r.BufferBefore, r.BufferAfter = 15*time.Minute, 15*time.Minute },
			category: func(c *apphub.Category) { c.Step = 15 * time.Minute },
			busy:     busyAll("2026-05-05T10:00+02:00", "2026-05-05T10:15+02:00"),
			want: []string{
				"2026-05-05T08:15+02:00", "2026-05-05T08:30+02:00", "2026-05-05T08:45+02:00",
				"2026-05-05T10:30+02:00", "2026-05-05T10:45+02:00",
			},
		},
		{
			name: "fully booked", day: "2026-05-05",
			busy:        busyAll("2026-05-05T08:00+02:00", "2026-05-05T12:00+02:00"),
			wantReasons: []string{apphub.ReasonFullyBooked, apphub.ReasonOutsideHours},
			wantNext:    []string{"2026-05-06", "2026-05-07", "2026-05-08"},
		},
		{
			name: "night shift across midnight", day: "2026-05-05",
			resource: func(r *apphub.Resource) {
				r.Shifts = []apphub.Shift{{Weekday: time.Monday, Start: "23:00", Duration: 3 * time.Hour}}
			},
			want: []string{"2026-05-05T00:00+02:00", "2026-05-05T01:00+02:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := technician("tech-1", "Europe/Paris", "paris", weekdays("08:00", "12:00")...)
			if tt.resource != nil {
				tt.resource(&res)
			}
			cat := hourly
			if tt.category != nil {
				tt.category(&cat)
			}
			var holidays []apphub.HolidayCalendar
			if tt.holidays.ID != "" {
				holidays = append(holidays, tt.holidays)
			}
			cal := newCalendar(t, []apphub.Resource{res}, []apphub.Category{cat}, holidays...)
			busy := &Busy{}
			if tt.busy != nil {
				tt.busy(t, busy)
			}
			from := at(t, tt.day+"T00:00+02:00")
			now := from.AddDate(0, 0, -1)
			if tt.now != "" {
				now = at(t, tt.now)
			}
			q := Query{Category: cat.ID, Place: "75011", From: from, To: from.Add(24 * time.Hour), Now: now}
			r, err := SearchSlots(cal, busy, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := starts(r, mustLoad(t, "Europe/Paris")); !slices.Equal(got, tt.want) {
				t.Errorf("starts\n got %v\nwant %v", got, tt.want)
			}
			if got := codes(r.Reasons); !slices.Equal(got, tt.wantReasons) {
				t.Errorf("reasons %v, want %v", r.Reasons, tt.wantReasons)
			}
			if !slices.Equal(r.NextDates, tt.wantNext) {
				t.Errorf("next dates %v, want %v", r.NextDates, tt.wantNext)
			}
			if tt.wantMessage != "" && (len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0].Message, tt.wantMessage)) {
				t.Errorf("reasons %v, want the first to mention %q", r.Reasons, tt.wantMessage)
			}
			// Agreement: every quarter-hour of the day is bookable exactly when it is offered,
			// and refusals carry the reason a search reports.
			for s := from; s.Before(q.To); s = s.Add(apphub.Quantum) {
				offered := slices.Contains(starts(r, mustLoad(t, "Europe/Paris")), s.Format("2006-01-02T15:04Z07:00"))
				_, err := Bookable(cal, busy, BookRequest{Category: cat.ID, Resource: "tech-1", Place: "75011", Start: s, Now: now})
				if why := refusalReason(err); offered != (why == "") {
					t.Errorf("%v: offered %v, Bookable %q", s, offered, why)
				} else if why != "" && why != apphub.ReasonNotASlotStart && !slices.Contains(tt.wantReasons, why) && len(tt.want) == 0 {
					t.Errorf("%v: refused for %s, not among the search's reasons %v", s, why, tt.wantReasons)
				}
			}
		})
	}
}

func TestCapacity(t *testing.T) {
	counter := apphub.Resource{
		ID: "counter-1", Kind: apphub.KindCounter, TimeZone: "Europe/Paris", PlaceID: "store-paris", Capacity: 3,
		Shifts: []apphub.Shift{{Weekday: time.Tuesday, Start: "10:00", End: "12:00"}},
	}
	visit := apphub.Category{ID: "storeVisit", Duration: 30 * time.Minute, Step: 30 * time.Minute, AtPlace: true, ResourceKinds: []string{apphub.KindCounter}}
	cal := newCalendar(t, []apphub.Resource{counter}, []apphub.Category{visit})
	busy := &Busy{}
	ten := at(t, "2026-05-05T10:00+02:00")
	busy.Add("counter-1", ten, 0)
	busy.Add("counter-1", ten, 1)                     // 10:00–10:15: two seats taken
	busy.Add("counter-1", ten.Add(15*time.Minute), 1) // 10:15–10:30: one seat taken
	for seat := range 3 {
		busy.Add("counter-1", ten.Add(time.Hour), seat) // 11:00–11:15: full
	}
	now := ten.AddDate(0, 0, -1)
	for _, place := range []string{"store-paris", "75011"} {
		r, err := SearchSlots(cal, busy, Query{Category: "storeVisit", Place: place, From: ten, To: ten.Add(2 * time.Hour), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range r.Days[0].Slots {
			got = append(got, fmt.Sprintf("%s×%d", s.Start.In(mustLoad(t, "Europe/Paris")).Format("15:04"), s.Capacity))
		}
		if want := []string{"10:00×1", "10:30×3", "11:30×3"}; !slices.Equal(got, want) {
			t.Errorf("%s: slots %v, want %v", place, got, want)
		}
	}

	res, err := Bookable(cal, busy, BookRequest{Category: "storeVisit", Place: "store-paris", Start: ten, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var seats []int
	for _, c := range res.Cells {
		seats = append(seats, c.Seat)
	}
	if want := []int{2, 0}; !slices.Equal(seats, want) {
		t.Errorf("seats %v, want the lowest free ones %v", seats, want)
	}
	_, err = Bookable(cal, busy, BookRequest{Category: "storeVisit", Place: "store-paris", Start: ten.Add(time.Hour), Now: now})
	if refusalReason(err) != apphub.ReasonFullyBooked || apphub.ErrorCode(err) != apphub.ECONFLICT {
		t.Errorf("full quantum: %v", err)
	}
}

func TestArrivalWindows(t *testing.T) {
	tech := technician("tech-1", "Europe/Paris", "paris", weekdays("08:00", "17:00")...)
	tech.BufferBefore, tech.BufferAfter = 15*time.Minute, 15*time.Minute
	install := apphub.Category{
		ID: "installation", Duration: 2 * time.Hour, RequiredSkills: []string{"fiber"},
		Windows: []apphub.Window{{Start: "08:00", End: "12:00"}, {Start: "13:00", End: "17:00"}},
	}
	cal := newCalendar(t, []apphub.Resource{tech}, []apphub.Category{install})
	day := at(t, "2026-05-05T00:00+02:00")
	now := day.AddDate(0, 0, -1)
	tests := []struct {
		name      string
		busyUntil string // tech-1 is busy from 08:00 until this local time
		want      []string
		wantRun   string // start of the run a booking of the morning window takes
	}{
		{"free day", "", []string{"08:00–12:00", "13:00–17:00"}, "08:15"},
		{"busy first hour: the run moves", "09:00", []string{"08:00–12:00", "13:00–17:00"}, "09:15"},
		{"the run no longer fits the morning window", "10:00", []string{"13:00–17:00"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			busy := &Busy{}
			if tt.busyUntil != "" {
				for q := at(t, "2026-05-05T08:00+02:00"); q.Before(at(t, "2026-05-05T"+tt.busyUntil+"+02:00")); q = q.Add(apphub.Quantum) {
					busy.Add("tech-1", q, 0)
				}
			}
			r, err := SearchSlots(cal, busy, Query{Category: "installation", Place: "75011", From: day, To: day.Add(24 * time.Hour), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			loc := mustLoad(t, "Europe/Paris")
			var got []string
			for _, d := range r.Days {
				for _, s := range d.Slots {
					got = append(got, s.Start.In(loc).Format("15:04")+"–"+s.End.In(loc).Format("15:04"))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("windows %v, want %v", got, tt.want)
			}
			res, err := Bookable(cal, busy, BookRequest{Category: "installation", Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T08:00+02:00"), End: at(t, "2026-05-05T12:00+02:00"), Now: now})
			if tt.wantRun == "" {
				if refusalReason(err) != apphub.ReasonFullyBooked {
					t.Errorf("morning window: %v, want FULLY_BOOKED", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Start.In(loc).Format("15:04"); got != tt.wantRun || res.End.Sub(res.Start) != 2*time.Hour {
				t.Errorf("run %v–%v, want from %s for 2h", res.Start, res.End, tt.wantRun)
			}
			if n := len(res.Cells); n != 10 || !res.Cells[0].Start.Equal(res.Start.Add(-15*time.Minute)) {
				t.Errorf("cells %v, want 10 from the buffer before", res.Cells)
			}
		})
	}
	_, err := Bookable(cal, nil, BookRequest{Category: "installation", Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T08:00+02:00"), End: at(t, "2026-05-05T11:00+02:00"), Now: now})
	if refusalReason(err) != apphub.ReasonNotASlotStart || apphub.ErrorCode(err) != apphub.EINVALID {
		t.Errorf("wrong window end: %v", err)
	}
}

func TestBookable(t *testing.T) {
	tech1 := technician("tech-1", "Europe/Paris", "paris", weekdays("08:00", "12:00")...)
	tech1.BufferAfter = 15 * time.Minute
	tech2 := technician("tech-2", "Europe/Paris", "paris", weekdays("08:00", "12:00")...)
	nyc := technician("tech-nyc", "America/New_York", "nyc", weekdays("08:00", "12:00")...)
	cat := hourly
	cat.MinNotice, cat.Horizon = time.Hour, 30*24*time.Hour
	cal := newCalendar(t, []apphub.Resource{tech1, tech2, nyc}, []apphub.Category{cat})
	now := at(t, "2026-05-04T09:00+02:00")
	busy := &Busy{}
	busy.Add("tech-1", at(t, "2026-05-05T09:00+02:00"), 0)

	tests := []struct {
		name     string
		req      BookRequest
		wantCode string // apphub error code; "" for success
		wantWhy  string // refusal reason
		wantRes  string
		wantCell []string
	}{
		{name: "bookable, buffer after included",
			req:     BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T10:00+02:00")},
			wantRes: "tech-1", wantCell: []string{"08:00", "08:15", "08:30", "08:45", "09:00"}},
		{name: "no resource named: the first, by id, that can take it",
			req:     BookRequest{Place: "75011", Start: at(t, "2026-05-05T08:00+02:00")},
			wantRes: "tech-2"},
		{name: "no place: the resource's own calendar",
			req:     BookRequest{Resource: "tech-nyc", Start: at(t, "2026-05-05T08:00-04:00")},
			wantRes: "tech-nyc"},
		{name: "not on the step", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T10:30+02:00")},
			wantCode: apphub.EINVALID, wantWhy: apphub.ReasonNotASlotStart},
		{name: "not on a quantum", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T10:00+02:00").Add(time.Second)},
			wantCode: apphub.EINVALID, wantWhy: apphub.ReasonNotASlotStart},
		{name: "wrong zone", req: BookRequest{Resource: "tech-nyc", Place: "75011", Start: at(t, "2026-05-05T10:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonNoSkilledResourceInZone},
		{name: "inside minimum notice", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-04T09:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonInsideMinimumNotice},
		{name: "outside horizon", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-06-08T09:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonOutsideHorizon},
		{name: "the buffer after leaves the shift", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T11:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonOutsideHours},
		{name: "taken", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T09:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonFullyBooked},
		{name: "taken by its buffer", req: BookRequest{Resource: "tech-1", Place: "75011", Start: at(t, "2026-05-05T08:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonFullyBooked},
		{name: "weekend", req: BookRequest{Place: "75011", Start: at(t, "2026-05-09T09:00+02:00")},
			wantCode: apphub.ECONFLICT, wantWhy: apphub.ReasonOutsideHours},
		{name: "unknown category", req: BookRequest{Category: "teleport", Resource: "tech-1", Start: at(t, "2026-05-05T10:00+02:00")},
			wantCode: apphub.EINVALID},
		{name: "unknown resource", req: BookRequest{Resource: "tech-9", Place: "75011", Start: at(t, "2026-05-05T10:00+02:00")},
			wantCode: apphub.EINVALID},
		{name: "unknown postcode", req: BookRequest{Place: "99999", Start: at(t, "2026-05-05T10:00+02:00")},
			wantCode: apphub.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req.Category == "" {
				req.Category = "repair"
			}
			req.Now = now
			res, err := Bookable(cal, busy, req)
			if code := apphub.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", code, err, tt.wantCode)
			}
			if why := refusalReason(err); tt.wantWhy != "" && why != tt.wantWhy {
				t.Fatalf("reason %q, want %q", why, tt.wantWhy)
			}
			if tt.wantWhy != "" && !strings.Contains(apphub.ErrorMessage(err), tt.wantWhy) {
				t.Errorf("message %q does not name the reason", apphub.ErrorMessage(err))
			}
			if err != nil {
				return
			}
			if res.ResourceID != tt.wantRes {
				t.Errorf("resource %s, want %s", res.ResourceID, tt.wantRes)
			}
			if tt.wantCell != nil {
				var got []string
				for _, c := range res.Cells {
					got = append(got, c.Start.Format("15:04"))
				}
				if !slices.Equal(got, tt.wantCell) {
					t.Errorf("cells %v, want %v (UTC)", got, tt.wantCell)
				}
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	cal := newCalendar(t, []apphub.Resource{technician("tech-1", "Europe/Paris", "paris", weekdays("08:00", "12:00")...)}, []apphub.Category{hourly})
	from := at(t, "2026-05-04T00:00+02:00")
	ok := Query{Category: "repair", Place: "75011", From: from, To: from.Add(MaxSearchWindow), Now: from}
	tests := []struct {
		name      string
		edit      func(q *Query)
		wantField string
	}{
		{"31 days is fine", func(q *Query) {}, ""},
		{"longer than 31 days", func(q *Query) { q.To = q.To.Add(time.Second) }, "to"},
		{"to before from", func(q *Query) { q.To = q.From.Add(-time.Hour) }, "to"},
		{"no from", func(q *Query) { q.From = time.Time{} }, "from"},
		{"no now", func(q *Query) { q.Now = time.Time{} }, "now"},
		{"unknown category", func(q *Query) { q.Category = "teleport" }, "category"},
		{"unknown postcode", func(q *Query) { q.Place = "00000" }, "place"},
		{"no place and no resource", func(q *Query) { q.Place = "" }, "place"},
		{"unknown resource", func(q *Query) { q.Resource = "tech-9" }, "resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := ok
			tt.edit(&q)
			_, err := SearchSlots(cal, nil, q)
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, isCoded := errors.AsType[*apphub.Error](err)
			if !isCoded || e.Code != apphub.EINVALID || e.Field != tt.wantField {
				t.Errorf("error %v, want %s on field %q", err, apphub.EINVALID, tt.wantField)
			}
		})
	}
}

func TestSearchWithoutSkilledResource(t *testing.T) {
	cal := newCalendar(t, []apphub.Resource{technician("tech-1", "Europe/Paris", "paris", weekdays("08:00", "12:00")...)},
		[]apphub.Category{hourly, {ID: "mobile", Duration: time.Hour, Step: time.Hour, RequiredSkills: []string{"mobile"}}})
	from := at(t, "2026-05-04T00:00+02:00")
	for _, q := range []Query{
		{Category: "repair", Place: "10001", From: from, To: from.AddDate(0, 0, 7), Now: from},
		{Category: "mobile", Place: "75011", From: from, To: from.AddDate(0, 0, 7), Now: from},
		{Category: "mobile", Place: "75011", Resource: "tech-1", From: from, To: from.AddDate(0, 0, 7), Now: from},
	} {
		r, err := SearchSlots(cal, nil, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := codes(r.Reasons); !slices.Equal(got, []string{apphub.ReasonNoSkilledResourceInZone}) || len(r.Days) > 0 {
			t.Errorf("%s at %s: reasons %v", q.Category, q.Place, r.Reasons)
		}
	}
}

// A pool of agents in Paris that serves New York: rules on the Paris clock, days on the New
// York calendar; and two time zones' slots merge when they coincide.
func TestTimeZonesOfPlaceAndResources(t *testing.T) {
	paris := apphub.Resource{ID: "pool-paris", Kind: apphub.KindAgentPool, TimeZone: "Europe/Paris", Zones: []string{"nyc"}, Capacity: 2,
		Shifts: []apphub.Shift{{Weekday: time.Tuesday, Start: "02:00", End: "04:00"}}}
	london := apphub.Resource{ID: "pool-london", Kind: apphub.KindAgentPool, TimeZone: "Europe/London", Zones: []string{"nyc"},
		Shifts: []apphub.Shift{{Weekday: time.Tuesday, Start: "01:00", End: "02:00"}}}
	callback := apphub.Category{ID: "callback", Duration: time.Hour, Step: time.Hour, ResourceKinds: []string{apphub.KindAgentPool}}
	cal := newCalendar(t, []apphub.Resource{paris, london}, []apphub.Category{callback})
	from := at(t, "2026-05-04T12:00-04:00")
	r, err := SearchSlots(cal, nil, Query{Category: "callback", Place: "10001", From: from, To: from.Add(24 * time.Hour), Now: from})
	if err != nil {
		t.Fatal(err)
	}
	if r.TimeZone != "America/New_York" || len(r.Days) != 1 || r.Days[0].Date != "2026-05-04" {
		t.Fatalf("days %+v in %s, want Monday 2026-05-04 in New York", r.Days, r.TimeZone)
	}
	var got []string
	for _, s := range r.Days[0].Slots {
		got = append(got, fmt.Sprintf("%s %v ×%d", s.Start.In(mustLoad(t, "America/New_York")).Format("15:04"), s.Resources, s.Capacity))
	}
	// Each job fills its resource's shift from one edge (London's 01:00–02:00 from both).
	want := []string{"20:00 [{pool-london 1 12} {pool-paris 2 4}] ×3", "21:00 [{pool-paris 2 8}] ×2"}
	if !slices.Equal(got, want) {
		t.Errorf("slots\n got %v\nwant %v", got, want)
	}
}

func TestNextDatesStayWithinHorizon(t *testing.T) {
	cat := hourly
	cat.Horizon = 10 * 24 * time.Hour
	cal := newCalendar(t, []apphub.Resource{technician("tech-1", "Europe/Paris", "paris", apphub.Shift{Weekday: time.Monday, Start: "08:00", End: "09:00"})}, []apphub.Category{cat})
	now := at(t, "2026-05-04T10:00+02:00") // Monday, after its only hour
	r, err := SearchSlots(cal, nil, Query{Category: "repair", Place: "75011", From: now, To: now.Add(24 * time.Hour), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-05-11"}; !slices.Equal(r.NextDates, want) {
		t.Errorf("next dates %v, want %v (the Monday after is beyond the horizon)", r.NextDates, want)
	}
}

func TestBusy(t *testing.T) {
	var b Busy
	q := at(t, "2026-05-05T10:00+02:00")
	b.Add("r", q.Add(7*time.Minute), 3) // any instant inside the quantum
	b.Add("r", q, 3)                    // the same claim twice counts once
	b.Add("r", q, -1)                   // an out-of-range seat still takes a seat
	b.Add("r", q, 99)
	if got := b.Used("r", q); got != 3 {
		t.Errorf("used %d, want 3", got)
	}
	if got := b.Used("r", q.Add(-time.Second)); got != 0 {
		t.Errorf("previous quantum used %d", got)
	}
	var nilBusy *Busy
	if nilBusy.Used("r", q) != 0 {
		t.Error("nil busy is not empty")
	}
}
