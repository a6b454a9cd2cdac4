package slots

import (
	"math"
	"slices"
	"time"

	"github.com/apphub/apphub"
)

// Scope is what the answer to a Query depends on besides the calendar: the busy time of the
// UTC days around its window (through the look-ahead for the next dates, when that is wanted)
// of the resources it may offer, and the timing bounds of its category now. Equal calendars,
// equal busy time over Days and equal Timing give equal answers, so a caller that keeps
// answers can version them by it: by the days of its Zone, or of its one Resource.
type Scope struct {
	e                  *engine          // without resources: the target and the timing bounds
	only               *apphub.Resource // the one resource asked for, if any
	first, last, ahead time.Time        // the UTC days of the window's busy time, and the look-ahead's last
}

// NewScope returns the scope of q on cal. It fails as SearchSlots would on an invalid query.
func NewScope(cal *apphub.Calendar, q Query) (*Scope, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	e, only, err := newBareEngine(cal, q.Category, q.Place, q.Resource, q.Now)
	if err != nil {
		return nil, err
	}
	first, last := BusyDays(q.From, q.To)
	return &Scope{e: e, only: only, first: first, last: last,
		ahead: apphub.DayOf(time.Unix(e.lookaheadEnd(ceilSeconds(q.To)), 0).Add(apphub.MaxShift + apphub.MaxBuffer + apphub.Quantum))}, nil
}

// BusyDays returns the first and the last UTC day (midnights) whose busy time decides the
// slots that start in [from, to): from a buffer and a quantum before from (what a job joins
// on that side) to a shift, a buffer and a quantum after to.
func BusyDays(from, to time.Time) (first, last time.Time) {
	return apphub.DayOf(from.Add(-apphub.MaxBuffer - apphub.Quantum)), apphub.DayOf(to.Add(apphub.MaxShift + apphub.MaxBuffer + apphub.Quantum))
}

// Days lists, ascending, the UTC days (midnights) whose busy time SearchSlots reads for the
// query's window: from a buffer before From to a shift and a buffer after To. With lookahead,
// they run through the end of the look-ahead for the next dates too, which an answer whose
// window has no slot depends on.
func (sc *Scope) Days(lookahead bool) []time.Time {
	last := sc.last
	if lookahead && sc.ahead.After(last) {
		last = sc.ahead
	}
	var out []time.Time
	for d := sc.first; !d.After(last); d = d.Add(24 * time.Hour) {
		out = append(out, d)
	}
	return out
}

// Resources lists, by id, the resources the query may offer: those whose busy time over Days
// SearchSlots needs.
func (sc *Scope) Resources() []string {
	var ids []string
	for _, r := range sc.e.eligibleResources(sc.only) {
		ids = append(ids, r.ID)
	}
	return ids
}

// Crew reports whether the query's category books crews: its answer then depends on every
// resource of its zone that may be one of a crew, even when it names one resource.
func (sc *Scope) Crew() bool { return sc.e.crewed() }

// Resource is the one resource the query names, "" when it names none.
func (sc *Scope) Resource() string {
	if sc.only == nil {
		return ""
	}
	return sc.only.ID
}

// Target names where the query searches, as far as its answer depends on it: the managed
// place, else the zone of the postcode (every postcode of a zone has the same answer), else
// the time zone of the one resource. Queries that differ only in their place string but have
// the same Target, category, resource, window and clock have the same answer.
func (sc *Scope) Target() string {
	t := sc.e.target
	switch {
	case t.place != "":
		return "place:" + t.place
	case t.zone != "":
		return "zone:" + t.zone
	}
	return "tz:" + t.timeZone
}

// TimeZone is the time zone the answer's days are grouped in: the place's, or the one
// resource's.
func (sc *Scope) TimeZone() string { return sc.e.target.timeZone }

// Zone is the work zone of the place searched, whose resources the query may offer; "" when
// the query names no place (a search by resource alone).
func (sc *Scope) Zone() string { return sc.e.target.zone }

// Timing returns the first and the last start the category accepts at the query's Now: the
// minimum notice rounded up, and the horizon rounded down, to the quantum. latest is the zero
// Time when the category has no horizon. Every instant of one quantum gives the same bounds.
func (sc *Scope) Timing() (earliest, latest time.Time) {
	earliest = time.Unix(sc.e.earliest, 0).UTC()
	if sc.e.latest != math.MaxInt64 {
		latest = time.Unix(sc.e.latest, 0).UTC()
	}
	return earliest, latest
}

// ZoneOf returns the work zone of a postcode or managed place, "" when it has none or is
// unknown.
func ZoneOf(cal *apphub.Calendar, place string) string {
	t, _ := resolveTarget(cal, place, nil)
	return t.zone
}

// ResourceZones lists the zones in which a search may find a resource: those it serves and
// its place's. A change of the resource's busy time changes the answers of these zones.
func ResourceZones(cal *apphub.Calendar, resourceID string) []string {
	res, found := cal.Resource(resourceID)
	if !found {
		return nil
	}
	zones := res.Zones
	if p, found := cal.Place(res.PlaceID); found && p.Zone != "" {
		zones = append(slices.Clip(zones), p.Zone)
	}
	return zones
}
