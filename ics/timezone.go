package ics

import (
	"fmt"
	"time"

	ical "github.com/arran4/golang-ical"
)

// vtimezone describes loc from a year before at to a year after it: every offset in use then,
// each from the instant it began. That covers the event and what a reader may display
// around it without copying the zone's whole history, and needs no recurrence rules.
func vtimezone(loc *time.Location, at time.Time) *ical.VTimezone {
	tz := ical.NewTimezone(loc.String())
	until := at.AddDate(1, 0, 0)
	t := at.AddDate(-1, 0, 0).In(loc)
	for {
		start, end := t.ZoneBounds()
		tz.Components = append(tz.Components, observance(t, start))
		if end.IsZero() || !end.Before(until) {
			return tz
		}
		t = end
	}
}

// observance is the STANDARD or DAYLIGHT component of the offset in force at t, which began
// at onset (zero when it always was).
func observance(t, onset time.Time) ical.Component {
	name, offset := t.Zone()
	from := offset
	// RFC 5545 writes the onset as the local time the clock showed just before it.
	dtstart := "19700101T000000"
	if !onset.IsZero() {
		_, from = onset.Add(-time.Second).Zone()
		dtstart = onset.In(time.FixedZone("", from)).Format("20060102T150405")
	}
	var c ical.ComponentBase
	c.AddProperty(ical.ComponentPropertyDtStart, dtstart)
	c.AddProperty(ical.ComponentProperty(ical.PropertyTzoffsetfrom), utcOffset(from))
	c.AddProperty(ical.ComponentProperty(ical.PropertyTzoffsetto), utcOffset(offset))
	c.AddProperty(ical.ComponentProperty(ical.PropertyTzname), name)
	if t.IsDST() {
		return &ical.Daylight{ComponentBase: c}
	}
	return &ical.Standard{ComponentBase: c}
}

// utcOffset formats seconds east of UTC as a UTC-OFFSET value: ±hhmm, with seconds only when
// there are some (local mean times have them).
func utcOffset(seconds int) string {
	sign := '+'
	if seconds < 0 {
		sign, seconds = '-', -seconds
	}
	h, m, s := seconds/3600, seconds/60%60, seconds%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}

// repeated reports whether the clock of t's zone shows t's local time twice: t falls in the
// hour (or other span) that is lived again when the clock goes back.
func repeated(t time.Time) bool {
	start, end := t.ZoneBounds()
	_, offset := t.Zone()
	if !start.IsZero() {
		_, before := start.Add(-time.Second).Zone()
		if back := time.Duration(before-offset) * time.Second; back > 0 && t.Sub(start) < back {
			return true // the second time round
		}
	}
	if !end.IsZero() {
		_, after := end.Zone()
		if back := time.Duration(offset-after) * time.Second; back > 0 && end.Sub(t) <= back {
			return true // the first time round
		}
	}
	return false
}
