package apphub

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Recommendation reason codes: why a slot ranks where it does.
const (
	RecommendNextToJob     = "NEXT_TO_ANOTHER_JOB"    // the technician has a job right before or after it: no trip and no idle wait between
	RecommendCompactDay    = "KEEPS_DAY_COMPACT"      // it leaves no idle gap on either side in the technician's day
	RecommendEarliest      = "EARLIEST"               // on the first date that has a free slot
	RecommendPreferredTime = "MATCHES_PREFERRED_TIME" // within a time the caller prefers
)

// Scores. What depends on the calendar and the bookings (the sides a job joins) comes with
// the answer of a search; the caller's preferred times are added per request. The weights make
// a preferred time worth more than anything else, a neighbouring job more than a day's edge,
// and a later day cost a little, so that between equals the sooner wins.
const (
	scoreJobSide     = 30  // each side next to another job of the resource
	scoreEdgeSide    = 10  // each side at the edge of its working time
	scoreEarliest    = 20  // on the first date with a slot
	scorePreferred   = 120 // within a preferred time: more than all the rest can make
	maxDayPenalty    = 20  // a point a day after the first date with a slot, at most this
	maxPreferredTime = 14
)

// PreferredTime is a local time range a caller prefers, From to To ("HH:MM", To may be
// "24:00"), on Weekdays (none: every day), in the time zone of the place searched.
type PreferredTime struct {
	Weekdays []time.Weekday
	From, To string
}

// ValidatePreferredTimes reports the first invalid preferred time.
func ValidatePreferredTimes(prefs []PreferredTime) error {
	if len(prefs) > maxPreferredTime {
		return FieldError("preferredTimes", "at most %d preferred times, got %d", maxPreferredTime, len(prefs))
	}
	for i, p := range prefs {
		if _, _, err := (Window{Start: p.From, End: p.To}).Span(); err != nil {
			return prefixField(fmt.Sprintf("preferredTimes[%d]", i), err)
		}
		for _, d := range p.Weekdays {
			if d < time.Sunday || d > time.Saturday {
				return FieldError(fmt.Sprintf("preferredTimes[%d].weekdays", i), "must be Sunday (0) to Saturday (6), got %d", d)
			}
		}
	}
	return nil
}

// Recommendation is a slot ranked for a caller.
type Recommendation struct {
	Slot Slot
	// Resource is the resource to book the slot with for its reasons to hold (the one whose
	// day it fits best); "" for a crew job, whose slot names its crew.
	Resource string
	Score    int
	Reasons  []Reason
}

// Recommend ranks the slots of days (a search's answer, grouped by date in loc) for a caller
// who prefers preferred (validated): best first, then by start and end. Equal inputs give
// equal rankings, whatever the order of the slots and of their resources.
func Recommend(days []SlotDay, loc *time.Location, preferred []PreferredTime) []Recommendation {
	var out []Recommendation
	first := int64(-1)
	for _, d := range days {
		day, err := ParseCivilDate(d.Date)
		if err != nil || len(d.Slots) == 0 {
			continue
		}
		if first < 0 || day < first {
			first = day
		}
	}
	for _, d := range days {
		day, err := ParseCivilDate(d.Date)
		if err != nil {
			continue
		}
		for _, s := range d.Slots {
			r := Recommendation{Slot: s}
			resource, joined := bestFit(s)
			r.Resource = resource
			r.Score = fitScore(joined) - min(int(day-first), maxDayPenalty)
			// Reasons, the most telling first: the caller's own wish, then the technician's day.
			if matchesPreferred(s, loc, preferred) {
				r.Score += scorePreferred
				r.Reasons = append(r.Reasons, Reason{Code: RecommendPreferredTime, Message: "within a time you prefer"})
			}
			if joined&(JoinedJobBefore|JoinedJobAfter) != 0 {
				r.Reasons = append(r.Reasons, Reason{Code: RecommendNextToJob, Message: "right before or after another job of the same technician: no idle wait between"})
			}
			if joined&(JoinedJobBefore|JoinedEdgeBefore) != 0 && joined&(JoinedJobAfter|JoinedEdgeAfter) != 0 {
				r.Reasons = append(r.Reasons, Reason{Code: RecommendCompactDay, Message: "fills the time between other work and leaves no idle gap in the day"})
			}
			if day == first {
				r.Score += scoreEarliest
				r.Reasons = append(r.Reasons, Reason{Code: RecommendEarliest, Message: "on the first date with a free slot"})
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Recommendation) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), a.Slot.Start.Compare(b.Slot.Start), a.Slot.End.Compare(b.Slot.End),
			strings.Compare(a.Resource, b.Resource))
	})
	return out
}

// fitScore is what the sides a job joins are worth.
func fitScore(joined uint8) int {
	jobs := bits.OnesCount8(joined & (JoinedJobBefore | JoinedJobAfter))
	edges := bits.OnesCount8(joined & (JoinedEdgeBefore | JoinedEdgeAfter))
	return jobs*scoreJobSide + edges*scoreEdgeSide
}

// bestFit is the resource of s whose day the job fits best, the lowest id among equals, and
// what its job would join; for a crew, no resource and what all its members' jobs join (a side
// counts when it does for every member).
func bestFit(s Slot) (string, uint8) {
	if len(s.Crew) > 0 {
		all := uint8(0xff)
		for _, r := range s.Resources {
			all &= r.Joined
		}
		if len(s.Resources) == 0 {
			all = 0
		}
		return "", all
	}
	best, joined := "", uint8(0)
	for _, r := range s.Resources {
		if best == "" || fitScore(r.Joined) > fitScore(joined) || fitScore(r.Joined) == fitScore(joined) && r.ResourceID < best {
			best, joined = r.ResourceID, r.Joined
		}
	}
	return best, joined
}

// matchesPreferred reports whether s starts and ends within one of preferred on the wall clock
// of loc.
func matchesPreferred(s Slot, loc *time.Location, preferred []PreferredTime) bool {
	start, end := s.Start.In(loc), s.End.In(loc)
	from := start.Hour()*60 + start.Minute()
	to := from + int(end.Sub(start)/time.Minute)
	for _, p := range preferred {
		if len(p.Weekdays) > 0 && !slices.Contains(p.Weekdays, start.Weekday()) {
			continue
		}
		lo, hi, err := (Window{Start: p.From, End: p.To}).Span()
		if err == nil && from >= lo && to <= hi {
			return true
		}
	}
	return false
}
