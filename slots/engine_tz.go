package slots

import (
	"math"
	"time"
)

// The engine works in integers: instants are Unix seconds, wall-clock ("civil") values are
// seconds since 1970-01-01T00:00 on the local clock, and quanta are instants divided by
// quantumSec. Only zoneTable knows about time zones.

const (
	quantumSec = int64(15 * 60)
	daySec     = int64(24 * 60 * 60)
	// tableMargin is how far beyond a search's instants the zone tables reach: a day of rule
	// lookup either side, plus the largest UTC offset, plus a buffer or a window's length.
	tableMargin = 3 * daySec
)

// zoneTable is a time zone's offsets over a bounded range: consecutive periods of constant
// offset, the first reaching back and the last reaching forward indefinitely.
type zoneTable struct {
	periods []zonePeriod
}

type zonePeriod struct {
	start, end int64 // instants [start, end)
	offset     int64 // seconds east of UTC
}

func newZoneTable(loc *time.Location, from, to int64) *zoneTable {
	z := &zoneTable{}
	t := time.Unix(from, 0).In(loc)
	for {
		_, offset := t.Zone()
		_, end := t.ZoneBounds()
		p := zonePeriod{start: math.MinInt64, end: math.MaxInt64, offset: int64(offset)}
		if n := len(z.periods); n > 0 {
			p.start = z.periods[n-1].end
		}
		if end.IsZero() || end.Unix() > to {
			z.periods = append(z.periods, p)
			return z
		}
		p.end = end.Unix()
		z.periods = append(z.periods, p)
		t = end
	}
}

// reading is the wall clock at instant t, in civil seconds.
func (z *zoneTable) reading(t int64) int64 {
	for _, p := range z.periods {
		if t < p.end {
			return t + p.offset
		}
	}
	panic("unreachable: the last period never ends")
}

// instant is the first instant at which the wall clock shows c or later. It maps a rule's
// boundary to an instant: a time inside a DST gap maps to the end of the gap, a time inside
// a fold to its first occurrence. It never decreases as c grows, so rules that do not
// overlap on the wall clock do not overlap in time.
func (z *zoneTable) instant(c int64) int64 {
	for _, p := range z.periods {
		if t := max(p.start, c-p.offset); t < p.end {
			return t
		}
	}
	panic("unreachable: the last period never ends")
}

// candidate is a start a category offers: quanta [start, end), where end is start+duration
// for a fixed step and the window's end for an arrival window.
type candidate struct {
	start, end int64
}

// gridStarts appends, ascending, the fixed-step starts whose instant is in [from, to): the
// quanta at which the wall clock shows a multiple of step after midnight for the first time.
// A wall-clock start inside a DST gap never shows; one inside a fold shows twice and counts
// once, at its first instant.
func (z *zoneTable) gridStarts(step, durQ, from, to int64, out []candidate) []candidate {
	firstDay := floorDiv(z.reading(from), daySec) - 1
	lastDay := floorDiv(z.reading(to), daySec) + 1
	for d := firstDay; d <= lastDay; d++ {
		for m := int64(0); m < daySec; m += step {
			c := d*daySec + m
			t := z.instant(c)
			if t >= to {
				return out
			}
			if t < from || t%quantumSec != 0 || z.reading(t) != c {
				continue
			}
			out = append(out, candidate{t / quantumSec, t/quantumSec + durQ})
		}
	}
	return out
}

// windowStarts appends, ascending, the arrival windows whose start instant is in [from, to).
// A window is an interval of wall-clock time mapped like working hours: a DST gap shortens
// it, a fold lengthens it.
func (z *zoneTable) windowStarts(windows []civilSpan, from, to int64, out []candidate) []candidate {
	firstDay := floorDiv(z.reading(from), daySec) - 1
	lastDay := floorDiv(z.reading(to), daySec) + 1
	for d := firstDay; d <= lastDay; d++ {
		for _, w := range windows {
			a := z.instant(d*daySec + w.from)
			if a >= to {
				return out
			}
			if a < from || a%quantumSec != 0 {
				continue
			}
			end := floorDiv(z.instant(d*daySec+w.to), quantumSec)
			if end > a/quantumSec {
				out = append(out, candidate{a / quantumSec, end})
			}
		}
	}
	return out
}

// civilSpan is a wall-clock interval [from, to) in civil seconds (absolute, or relative to
// local midnight for weekly rules).
type civilSpan struct {
	from, to int64
}

// weekday of a civil day number; 1970-01-01 was a Thursday.
func weekday(day int64) time.Weekday {
	return time.Weekday((day%7 + 7 + 4) % 7)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	return -floorDiv(-a, b)
}
