package demo

import (
	"fmt"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"

	"github.com/apphub/apphub"
)

// The demo's public holidays cover every year from firstHolidayYear to lastHolidayYear. The
// range is fixed rather than taken from the clock, so that the dataset is the same whenever it
// is loaded; it is wide so that a hub or a test run in any year to come, plus a booking horizon
// of a few months, still meets the holidays of its region.
const (
	firstHolidayYear = 2026
	lastHolidayYear  = 2050
)

// holidayList collects a calendar's holidays. Two holidays of a year may fall on one date
// (China's Mid-Autumn Festival on a day of National Day, as in 2028, 2031 and 2039): such a date
// is listed once, with both names, because HolidayCalendar.Validate refuses a date listed twice.
type holidayList struct {
	dates []apphub.Holiday
	index map[string]int // date → position in dates
}

// add lists d as the holiday name, when d is within the demo's years.
func (l *holidayList) add(d time.Time, name string) {
	if d.Year() < firstHolidayYear || d.Year() > lastHolidayYear {
		return
	}
	day := d.Format(time.DateOnly)
	if i, dup := l.index[day]; dup {
		l.dates[i].Name += nameSeparator + name
		return
	}
	if l.index == nil {
		l.index = make(map[string]int)
	}
	l.index[day] = len(l.dates)
	l.dates = append(l.dates, apphub.Holiday{Date: day, Name: name})
}

// nameSeparator joins the names of holidays that share a date.
const nameSeparator = " / "

// franceHolidays are the 11 public holidays of the French Labour Code (art. L3133-1), three of
// which move with Easter.
func franceHolidays() apphub.HolidayCalendar {
	var l holidayList
	for y := firstHolidayYear; y <= lastHolidayYear; y++ {
		easter := Easter(y)
		l.add(date(y, time.January, 1), "Jour de l'an")
		l.add(easter.AddDate(0, 0, 1), "Lundi de Pâques")
		l.add(date(y, time.May, 1), "Fête du Travail")
		l.add(date(y, time.May, 8), "Victoire 1945")
		l.add(easter.AddDate(0, 0, 39), "Ascension")
		l.add(easter.AddDate(0, 0, 50), "Lundi de Pentecôte")
		l.add(date(y, time.July, 14), "Fête nationale")
		l.add(date(y, time.August, 15), "Assomption")
		l.add(date(y, time.November, 1), "Toussaint")
		l.add(date(y, time.November, 11), "Armistice 1918")
		l.add(date(y, time.December, 25), "Noël")
	}
	return apphub.HolidayCalendar{ID: "holidays-fr", Region: "FR", Dates: l.dates}
}

// usHolidays are the 11 US federal holidays (5 U.S.C. 6103), on the days they are observed: a
// holiday on a Saturday is observed the Friday before, one on a Sunday the Monday after. A New
// Year's Day on a Saturday is observed on 31 December of the year before (New Year's Day 2028
// on Friday 31 December 2027), so the rules run one year past the last.
func usHolidays() apphub.HolidayCalendar {
	var l holidayList
	for y := firstHolidayYear; y <= lastHolidayYear+1; y++ {
		fixed := func(m time.Month, d int, name string) {
			actual := date(y, m, d)
			switch actual.Weekday() {
			case time.Saturday:
				l.add(actual.AddDate(0, 0, -1), name+" (observed)")
			case time.Sunday:
				l.add(actual.AddDate(0, 0, 1), name+" (observed)")
			default:
				l.add(actual, name)
			}
		}
		nth := func(m time.Month, wd time.Weekday, n int, name string) {
			l.add(nthWeekday(y, m, wd, n), name)
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
	return apphub.HolidayCalendar{ID: "holidays-us", Region: "US", Dates: l.dates}
}

// chinaHolidays are China's 13 statutory public holidays (National Holidays regulation as
// amended in 2024, in force from 2025): New Year's Day; Spring Festival, New Year's Eve and
// the first three days of the lunar year; Qingming; Labour Day, 1–2 May; Dragon Boat; Mid-
// Autumn; National Day, 1–3 October. The State Council's yearly schedule, which moves weekends
// to bridge them, is not modelled.
func chinaHolidays() apphub.HolidayCalendar {
	var l holidayList
	for y := firstHolidayYear; y <= lastHolidayYear; y++ {
		f := chinaFestivals(y)
		l.add(date(y, time.January, 1), "元旦 New Year's Day")
		l.add(f.springFestival.AddDate(0, 0, -1), "除夕 Spring Festival Eve")
		for i, name := range []string{"春节 Spring Festival", "春节 Spring Festival, day 2", "春节 Spring Festival, day 3"} {
			l.add(f.springFestival.AddDate(0, 0, i), name)
		}
		l.add(f.qingming, "清明节 Qingming Festival")
		l.add(date(y, time.May, 1), "劳动节 Labour Day")
		l.add(date(y, time.May, 2), "劳动节 Labour Day, day 2")
		l.add(f.dragonBoat, "端午节 Dragon Boat Festival")
		l.add(f.midAutumn, "中秋节 Mid-Autumn Festival")
		for i := range 3 {
			l.add(date(y, time.October, 1+i), fmt.Sprintf("国庆节 National Day, day %d", i+1))
		}
	}
	return apphub.HolidayCalendar{ID: "holidays-cn", Region: "CN", Dates: l.dates}
}

// festivals are the dates of China's holidays that follow the Chinese calendar in a Gregorian
// year.
type festivals struct {
	springFestival time.Time // lunar 1/1
	qingming       time.Time // the day of the solar term Qingming
	dragonBoat     time.Time // lunar 5/5
	midAutumn      time.Time // lunar 8/15
}

// chinaFestivals computes them with lunar-go, whose new moons and solar terms are reckoned in
// Beijing time, as the official calendar is. The lunar months asked for are the ordinary ones,
// never a leap month of the same number.
func chinaFestivals(year int) festivals {
	solar := func(s *lunar.Solar) time.Time { return date(s.GetYear(), time.Month(s.GetMonth()), s.GetDay()) }
	newYear := lunar.NewLunarFromYmd(year, 1, 1)
	return festivals{
		springFestival: solar(newYear.GetSolar()),
		// The solar terms of a lunar year run from the winter before it to the spring after; it
		// holds one Qingming, in April of its Gregorian year.
		qingming:   solar(newYear.GetJieQiTable()["清明"]),
		dragonBoat: solar(lunar.NewLunarFromYmd(year, 5, 5).GetSolar()),
		midAutumn:  solar(lunar.NewLunarFromYmd(year, 8, 15).GetSolar()),
	}
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
