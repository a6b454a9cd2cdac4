package demo

import (
	"fmt"
	"time"

	"github.com/apphub/apphub"
)

// Years covered by the demo's public holidays.
var holidayYears = []int{2026, 2027}

// franceHolidays are the 11 public holidays of the French Labour Code (art. L3133-1), three of
// which move with Easter.
func franceHolidays() apphub.HolidayCalendar {
	h := apphub.HolidayCalendar{ID: "holidays-fr", Region: "FR"}
	for _, y := range holidayYears {
		easter := Easter(y)
		add := func(d time.Time, name string) {
			h.Dates = append(h.Dates, apphub.Holiday{Date: d.Format(time.DateOnly), Name: name})
		}
		add(date(y, time.January, 1), "Jour de l'an")
		add(easter.AddDate(0, 0, 1), "Lundi de Pâques")
		add(date(y, time.May, 1), "Fête du Travail")
		add(date(y, time.May, 8), "Victoire 1945")
		add(easter.AddDate(0, 0, 39), "Ascension")
		add(easter.AddDate(0, 0, 50), "Lundi de Pentecôte")
		add(date(y, time.July, 14), "Fête nationale")
		add(date(y, time.August, 15), "Assomption")
		add(date(y, time.November, 1), "Toussaint")
		add(date(y, time.November, 11), "Armistice 1918")
		add(date(y, time.December, 25), "Noël")
	}
	return h
}

// usHolidays are the 11 US federal holidays (5 U.S.C. 6103), on the days they are observed: a
// holiday on a Saturday is observed the Friday before, one on a Sunday the Monday after. New
// Year's Day 2028 falls on a Saturday, so it is observed on Friday 31 December 2027.
func usHolidays() apphub.HolidayCalendar {
	h := apphub.HolidayCalendar{ID: "holidays-us", Region: "US"}
	first, last := holidayYears[0], holidayYears[len(holidayYears)-1]
	add := func(d time.Time, name string) {
		if d.Year() >= first && d.Year() <= last {
			h.Dates = append(h.Dates, apphub.Holiday{Date: d.Format(time.DateOnly), Name: name})
		}
	}
	for y := first; y <= last+1; y++ { // one year further, for an observed New Year's Day
		fixed := func(m time.Month, d int, name string) {
			actual := date(y, m, d)
			switch actual.Weekday() {
			case time.Saturday:
				add(actual.AddDate(0, 0, -1), name+" (observed)")
			case time.Sunday:
				add(actual.AddDate(0, 0, 1), name+" (observed)")
			default:
				add(actual, name)
			}
		}
		nth := func(m time.Month, wd time.Weekday, n int, name string) {
			add(nthWeekday(y, m, wd, n), name)
		}
		fixed(time.January, 1, "New Year's Day")
		nth(time.January, time.Monday, 3, "Birthday of Martin Luther King, Jr.")
		nth(time.February, time.Monday, 3, "Washington's Birthday")
		nth(time.May, time.Monday, -1, "Memorial Day")
		fixed(time.June, 19, "Juneteenth National Independence Day")
		fixed(time.July, 4, "Independence Day")
		nth(time.September, time.Monday, 1, "Labor Day")
		nth(time.October, time.Monday, 2, "Columbus Day")
		fixed(time.November, 11, "Veterans Day")
		nth(time.November, time.Thursday, 4, "Thanksgiving Day")
		fixed(time.December, 25, "Christmas Day")
	}
	return h
}

// chinaHolidays are China's 13 statutory public holidays (National Holidays regulation as
// amended in 2024, in force from 2025): New Year's Day; Spring Festival, New Year's Eve and
// the first three days of the lunar year; Qingming; Labour Day, 1–2 May; Dragon Boat; Mid-
// Autumn; National Day, 1–3 October. The lunar and solar-term dates are listed, not computed.
// The State Council's yearly schedule, which moves weekends to bridge them, is not modelled.
func chinaHolidays() apphub.HolidayCalendar {
	lunar := map[int]struct {
		springFestival, qingming, dragonBoat, midAutumn time.Time
	}{
		2026: {date(2026, time.February, 17), date(2026, time.April, 5), date(2026, time.June, 19), date(2026, time.September, 25)},
		2027: {date(2027, time.February, 6), date(2027, time.April, 5), date(2027, time.June, 9), date(2027, time.September, 15)},
	}
	h := apphub.HolidayCalendar{ID: "holidays-cn", Region: "CN"}
	for _, y := range holidayYears {
		l := lunar[y]
		add := func(d time.Time, name string) {
			h.Dates = append(h.Dates, apphub.Holiday{Date: d.Format(time.DateOnly), Name: name})
		}
		add(date(y, time.January, 1), "元旦 New Year's Day")
		add(l.springFestival.AddDate(0, 0, -1), "除夕 Spring Festival Eve")
		for i, name := range []string{"春节 Spring Festival", "春节 Spring Festival, day 2", "春节 Spring Festival, day 3"} {
			add(l.springFestival.AddDate(0, 0, i), name)
		}
		add(l.qingming, "清明节 Qingming Festival")
		add(date(y, time.May, 1), "劳动节 Labour Day")
		add(date(y, time.May, 2), "劳动节 Labour Day, day 2")
		add(l.dragonBoat, "端午节 Dragon Boat Festival")
		add(l.midAutumn, "中秋节 Mid-Autumn Festival")
		for i := range 3 {
			add(date(y, time.October, 1+i), fmt.Sprintf("国庆节 National Day, day %d", i+1))
		}
	}
	return h
}

// Easter returns Easter Sunday of the Gregorian calendar (the anonymous algorithm of Meeus,
// Jones and Butcher), as a UTC date.
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return date(year, time.Month(month), day)
}

// nthWeekday returns the n-th weekday wd of a month; n = -1 means the last.
func nthWeekday(year int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := date(year, m+1, 0)
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := date(year, m, 1)
	return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
}

func date(year int, m time.Month, day int) time.Time {
	return time.Date(year, m, day, 0, 0, 0, 0, time.UTC)
}
