package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
)

// The lunar and solar-term dates as the State Council published them, which the demo listed
// by hand before they were computed.
func TestChinaFestivalsMatchPublishedDates(t *testing.T) {
	tests := []struct {
		year                                            int
		springFestival, qingming, dragonBoat, midAutumn string
	}{
		{2026, "2026-02-17", "2026-04-05", "2026-06-19", "2026-09-25"},
		{2027, "2027-02-06", "2027-04-05", "2027-06-09", "2027-09-15"},
	}
	for _, tt := range tests {
		f := chinaFestivals(tt.year)
		for _, c := range []struct {
			name      string
			got       time.Time
			published string
		}{
			{"Spring Festival", f.springFestival, tt.springFestival},
			{"Qingming", f.qingming, tt.qingming},
			{"Dragon Boat", f.dragonBoat, tt.dragonBoat},
			{"Mid-Autumn", f.midAutumn, tt.midAutumn},
		} {
			if got := c.got.Format(time.DateOnly); got != c.published {
				t.Errorf("%d %s: %s, want %s", tt.year, c.name, got, c.published)
			}
		}
	}
}

// Every year of the range has all of its region's holidays, whatever the weekday of 1 January,
// and the range reaches a year past the test clock's, so that a test run today, or at any
// instant it is told to run at, plus a booking horizon of a few months, meets the holidays.
func TestHolidaysCoverEveryYear(t *testing.T) {
	testclock.Report(t)
	now := testclock.Now()
	if now.Year() < firstHolidayYear || now.Year()+1 > lastHolidayYear {
		t.Errorf("the demo's holidays cover %d to %d, not the test clock's year %d and the next", firstHolidayYear, lastHolidayYear, now.Year())
	}
	tests := []struct {
		calendar apphub.HolidayCalendar
		perYear  int
	}{
		{franceHolidays(), 11},
		{usHolidays(), 11},
		{chinaHolidays(), 13},
	}
	for _, tt := range tests {
		t.Run(tt.calendar.ID, func(t *testing.T) {
			if err := tt.calendar.Validate(); err != nil {
				t.Fatal(err)
			}
			perYear := map[int]int{}
			for _, h := range tt.calendar.Dates {
				d, err := time.Parse(time.DateOnly, h.Date)
				if err != nil {
					t.Fatal(err)
				}
				if d.Year() < firstHolidayYear || d.Year() > lastHolidayYear {
					t.Errorf("%s (%s) is outside %d–%d", h.Date, h.Name, firstHolidayYear, lastHolidayYear)
				}
				for _, name := range strings.Split(h.Name, nameSeparator) {
					year := d.Year()
					// A New Year's Day observed on the Friday before counts for the year it opens.
					if d.Month() == time.December && strings.HasPrefix(name, "New Year's Day") {
						year++
					}
					perYear[year]++
				}
			}
			for y := firstHolidayYear; y <= lastHolidayYear; y++ {
				if perYear[y] != tt.perYear {
					t.Errorf("%d: %d holidays, want %d", y, perYear[y], tt.perYear)
				}
			}
		})
	}
}

// Holidays that fall on one date are listed once, with both names.
func TestHolidaysSharingADate(t *testing.T) {
	l := holidayList{}
	l.add(date(2031, time.October, 1), "国庆节 National Day, day 1")
	l.add(date(2031, time.October, 1), "中秋节 Mid-Autumn Festival")
	l.add(date(2031, time.October, 2), "国庆节 National Day, day 2")
	l.add(date(firstHolidayYear-1, time.December, 31), "outside the range")
	l.add(date(lastHolidayYear+1, time.January, 1), "outside the range")
	want := []apphub.Holiday{
		{Date: "2031-10-01", Name: "国庆节 National Day, day 1 / 中秋节 Mid-Autumn Festival"},
		{Date: "2031-10-02", Name: "国庆节 National Day, day 2"},
	}
	if len(l.dates) != len(want) {
		t.Fatalf("%v, want %v", l.dates, want)
	}
	for i := range want {
		if l.dates[i] != want[i] {
			t.Errorf("%v, want %v", l.dates[i], want[i])
		}
	}
}
