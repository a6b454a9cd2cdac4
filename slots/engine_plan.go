package slots

import (
	"math"

	"github.com/apphub/apphub"
)

// reason is why a start is refused, ordered by how far the checks got, so that the most
// telling of several refusals is the largest.
type reason uint8

const (
	fits reason = iota
	noResource
	notAStart
	outsideHorizon
	insideNotice
	outsideHours
	holiday
	fullyBooked
	travelTime // the time itself is free, but not the travel into its zone before it
)

var reasonCodes = [...]string{
	fits:           "",
	noResource:     apphub.ReasonNoSkilledResourceInZone,
	notAStart:      apphub.ReasonNotASlotStart,
	outsideHorizon: apphub.ReasonOutsideHorizon,
	insideNotice:   apphub.ReasonInsideMinimumNotice,
	outsideHours:   apphub.ReasonOutsideHours,
	holiday:        apphub.ReasonHoliday,
	fullyBooked:    apphub.ReasonFullyBooked,
	travelTime:     apphub.ReasonTravelTime,
}

// rules is one resource's calendar parsed for one engine call.
type rules struct {
	res           *apphub.Resource
	timeZone      string
	capacity      int
	before, after int64            // lead times (buffers, or travel into the zone), in quanta
	travel        bool             // before is travel time (apphub.Calendar.LeadTime)
	shifts        [7][]civilSpan   // by weekday, relative to local midnight
	absences      []civilSpan      // absolute civil seconds
	openings      []civilSpan      // absolute civil seconds
	blackouts     []civilSpan      // absolute civil seconds
	holidays      map[int64]string // civil day → holiday name
}

// newRules parses res's calendar for jobs in zone ("" when none).
func newRules(res *apphub.Resource, cal *apphub.Calendar, zone string) *rules {
	before, after, travel := cal.LeadTime(res, zone)
	r := &rules{
		res:      res,
		timeZone: res.TimeZone,
		capacity: res.EffectiveCapacity(),
		before:   int64(before / apphub.Quantum),
		after:    int64(after / apphub.Quantum),
		travel:   travel,
	}
	// The calendar is validated, so the parse errors below cannot happen.
	for _, s := range res.Shifts {
		start, length, _ := s.Span()
		r.shifts[s.Weekday] = append(r.shifts[s.Weekday], civilSpan{int64(start) * 60, int64(start+length) * 60})
	}
	for _, e := range res.Exceptions {
		from, to, _ := e.Span()
		span := civilSpan{from * 60, to * 60}
		if e.Kind == apphub.ExceptionOpening {
			r.openings = append(r.openings, span)
		} else {
			r.absences = append(r.absences, span)
		}
	}
	if res.HolidayCalendar != "" {
		r.holidays = cal.HolidayDays(res.HolidayCalendar)
		if hc, found := cal.HolidayCalendar(res.HolidayCalendar); found {
			for _, b := range hc.Blackouts {
				from, to, _ := b.Span()
				r.blackouts = append(r.blackouts, civilSpan{from * 60, to * 60})
			}
		}
	}
	return r
}

// Cell states in a plan; values ≥ 0 are the seats left in a working quantum.
const (
	cellOutside int8 = -2 // not working hours
	cellClosed  int8 = -1 // working hours, but a holiday or a blackout
)

// Flags used while a plan is built.
const (
	flagShift int8 = 1 << iota
	flagOpening
	flagAbsence
	flagHoliday
	flagBlackout
	flagAll = flagShift | flagOpening | flagAbsence | flagHoliday | flagBlackout
)

// plan is one resource's state per quantum over [lo, lo+len(cells)).
type plan struct {
	lo    int64
	cells []int8
}

// buildPlan fills cells (len = hi-lo) with the resource's state for quanta [lo, hi). The
// state of a quantum depends only on the rules and the busy time, never on the range, so
// that a search and a booking check always agree.
func (r *rules) buildPlan(z *zoneTable, busy *Busy, lo, hi int64, cells []int8) plan {
	clear(cells)
	mark := func(from, to int64, flag int8) {
		a := max(ceilDiv(z.instant(from), quantumSec), lo)
		b := min(floorDiv(z.instant(to), quantumSec), hi)
		for q := a; q < b; q++ {
			cells[q-lo] |= flag
		}
	}
	firstDay := floorDiv(z.reading(lo*quantumSec), daySec) - 1
	lastDay := floorDiv(z.reading(hi*quantumSec), daySec) + 1
	for d := firstDay; d <= lastDay; d++ {
		midnight := d * daySec
		for _, s := range r.shifts[weekday(d)] {
			mark(midnight+s.from, midnight+s.to, flagShift)
		}
		if _, closed := r.holidays[d]; closed {
			mark(midnight, midnight+daySec, flagHoliday)
		}
	}
	for _, s := range r.openings {
		mark(s.from, s.to, flagOpening)
	}
	for _, s := range r.absences {
		mark(s.from, s.to, flagAbsence)
	}
	for _, s := range r.blackouts {
		mark(s.from, s.to, flagBlackout)
	}

	// Each combination of flags decides a state; a table keeps the pass over the cells flat.
	var state [flagAll + 1]int8
	for f := range state {
		flags := int8(f)
		switch {
		case flags&(flagShift|flagOpening) == 0 || flags&flagAbsence != 0:
			state[f] = cellOutside
		case flags&flagBlackout != 0 || (flags&flagHoliday != 0 && flags&flagOpening == 0):
			state[f] = cellClosed
		default:
			state[f] = int8(r.capacity)
		}
	}
	for i, f := range cells {
		cells[i] = state[f]
	}

	if busy != nil {
		days := busy.days[r.res.ID]
		for day := floorDiv(lo, quantaPerDay); len(days) > 0 && day <= floorDiv(hi-1, quantaPerDay); day++ {
			bd := days[day]
			if bd == nil {
				continue
			}
			base := day * quantaPerDay
			for q := max(lo, base); q < min(hi, base+quantaPerDay); q++ {
				if used := int(bd.used[q-base]); used != 0 && cells[q-lo] >= 0 {
					cells[q-lo] = int8(max(r.capacity-used, 0))
				}
			}
		}
	}
	return plan{lo: lo, cells: cells}
}

// fit examines quanta [from, to): the seats left (the least over them) or why there are none.
// Outside hours beats a holiday, which beats a full quantum, so that the reason names the
// most basic obstacle.
func (p plan) fit(from, to int64) (int, reason) {
	if from < p.lo || to > p.lo+int64(len(p.cells)) {
		return 0, outsideHours
	}
	least, closed := int8(math.MaxInt8), false
	for _, c := range p.cells[from-p.lo : to-p.lo] {
		switch {
		case c == cellOutside:
			return 0, outsideHours
		case c == cellClosed:
			closed = true
		case c < least:
			least = c
		}
	}
	switch {
	case closed:
		return 0, holiday
	case least == 0:
		return 0, fullyBooked
	}
	return int(least), fits
}

// take decides whether the resource can take candidate c: for a fixed step, the start
// itself; for an arrival window, the earliest run of durQ quanta inside it. It returns the
// seats left and the start of the appointment, or why it cannot.
func (p plan) take(r *rules, c candidate, durQ int64, window bool) (int, int64, reason) {
	if !window {
		free, why := p.fitWithLead(r, c.start, durQ)
		return free, c.start, why
	}
	best := outsideHours
	for s := c.start; s+durQ <= c.end; s++ {
		free, why := p.fitWithLead(r, s, durQ)
		if why == fits {
			return free, s, fits
		}
		best = max(best, why)
	}
	return 0, 0, best
}

// fitWithLead is fit over a job starting at s and its lead times; when the job's own time is
// free and only the travel into its zone is taken, the reason says so.
func (p plan) fitWithLead(r *rules, s, durQ int64) (int, reason) {
	free, why := p.fit(s-r.before, s+durQ+r.after)
	if why == fullyBooked && r.travel {
		if _, alone := p.fit(s, s+durQ); alone == fits {
			return 0, travelTime
		}
	}
	return free, why
}
