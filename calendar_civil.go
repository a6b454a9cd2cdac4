package apphub

import (
	"fmt"
	"time"
)

// Calendar rules are written in wall-clock (civil) time: a time of day "HH:MM", a date
// "YYYY-MM-DD" or a date and time "YYYY-MM-DDTHH:MM", all without a zone. The parsers below
// turn them into plain numbers counted from 1970-01-01 00:00 on the same wall clock, so that
// the slot engine can do its calendar arithmetic in integers and convert to instants only
// through a time zone.

// Layouts of civil values in calendar rules.
const (
	ClockLayout         = "15:04"
	DateLayout          = time.DateOnly
	LocalDateTimeLayout = "2006-01-02T15:04"
)

// ParseClock parses a time of day "HH:MM" into minutes after midnight. "24:00" is accepted
// (1440) so that a rule may end at midnight; callers that need a start reject it.
func ParseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	h, okH := digits(s[0:2])
	m, okM := digits(s[3:5])
	if !okH || !okM || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return h*60 + m, nil
}

// ParseCivilDate parses a date "YYYY-MM-DD" into days since 1970-01-01.
func ParseCivilDate(s string) (int64, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	y, okY := digits(s[0:4])
	mo, okM := digits(s[5:7])
	d, okD := digits(s[8:10])
	if !okY || !okM || !okD || mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return 0, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Unix() / 86400, nil
}

// ParseCivilDateTime parses a date and time "YYYY-MM-DDTHH:MM" into minutes since
// 1970-01-01T00:00. "T24:00" is accepted as the end of that day.
func ParseCivilDateTime(s string) (int64, error) {
	if len(s) != 16 || s[10] != 'T' {
		return 0, fmt.Errorf("%q is not a local date and time YYYY-MM-DDTHH:MM", s)
	}
	d, err := ParseCivilDate(s[:10])
	if err != nil {
		return 0, fmt.Errorf("%q is not a local date and time YYYY-MM-DDTHH:MM", s)
	}
	m, err := ParseClock(s[11:])
	if err != nil {
		return 0, fmt.Errorf("%q is not a local date and time YYYY-MM-DDTHH:MM", s)
	}
	return d*1440 + int64(m), nil
}

// FormatCivilDate is the inverse of ParseCivilDate.
func FormatCivilDate(days int64) string {
	return time.Unix(days*86400, 0).UTC().Format(DateLayout)
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wholeQuanta reports whether d is a positive-or-zero whole number of quanta.
func wholeQuanta(d time.Duration) bool {
	return d >= 0 && d%Quantum == 0
}

func onQuantum(minutes int64) bool {
	return minutes%int64(Quantum/time.Minute) == 0
}
