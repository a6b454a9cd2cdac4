package resolvers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
)

// Ranked slots. The search's answer carries what a slot's rank owes to the calendar and the
// bookings (apphub.SlotResource.Joined, kept with the answers the service caches); the
// caller's preferred times are its own, so they are applied here, per request, by
// apphub.Recommend on that answer. Every path that answers an availability — the resolvers
// through gqlgen, the grid encoder of the response cache, the live grids — ranks through the
// functions below, and keys what it keeps by the ranking as well as by the query: the order of
// a day's slots and the recommendations depend on both.

// maxRecommended bounds Availability.recommended's first; defaultRecommended is the schema's
// default.
const (
	maxRecommended     = 50
	defaultRecommended = 3
)

// ranking is how an availability input asks for its slots.
type ranking struct {
	recommended bool // rank RECOMMENDED: each day's slots best first
	preferred   []apphub.PreferredTime
	// key names the ranking, for what is kept by it: equal keys, equal orders and
	// recommendations of one answer.
	key string
}

// dayOrder names the order of a day's slots: "" by start (the preferred times change nothing
// there), else the ranking.
func (rk ranking) dayOrder() string {
	if !rk.recommended {
		return ""
	}
	return rk.key
}

// rankingOf reads and validates the ranking of an availability input. An invalid preferred
// time is a VALIDATION error naming it as the input does (preferredTimes[0].to).
func rankingOf(in model.AvailabilityInput) (ranking, error) {
	rk := ranking{recommended: in.Rank != nil && *in.Rank == model.SlotRankRecommended}
	var key strings.Builder
	if rk.recommended {
		key.WriteByte('R')
	} else {
		key.WriteByte('E')
	}
	for i, p := range in.PreferredTimes {
		pt := apphub.PreferredTime{From: p.From, To: p.To}
		key.WriteByte('|')
		for _, w := range p.Weekdays {
			d, ok := weekdays[string(w)]
			if !ok {
				return ranking{}, apphub.FieldError(fmt.Sprintf("preferredTimes[%d].weekdays", i), "%q is not SUNDAY … SATURDAY", w)
			}
			pt.Weekdays = append(pt.Weekdays, d)
			key.WriteByte(byte('0' + d))
		}
		key.WriteString(" " + strconv.Quote(p.From) + " " + strconv.Quote(p.To))
		rk.preferred = append(rk.preferred, pt)
	}
	if err := apphub.ValidatePreferredTimes(rk.preferred); err != nil {
		return ranking{}, inputFieldNames(err)
	}
	rk.key = key.String()
	return rk, nil
}

// inputFieldNames renames the fields of a preferred time's error as PreferredTimeInput names
// them: apphub.Window's start and end are its from and to.
func inputFieldNames(err error) error {
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok {
		return err
	}
	field := e.Field
	if rest, found := strings.CutSuffix(field, ".start"); found {
		field = rest + ".from"
	} else if rest, found := strings.CutSuffix(field, ".end"); found {
		field = rest + ".to"
	}
	if field == e.Field {
		return err
	}
	renamed := *e
	renamed.Field = field
	return &renamed
}

// rankingInput reads the rank and preferredTimes of an availability input's raw value m (of
// a valid operation: a literal's or the variables' values), as gqlgen's generated code would
// for the resolver: a single value stands for a list of one. It reports false for a value it
// does not read, and leaves that to gqlgen.
func rankingInput(m map[string]any, in *model.AvailabilityInput) bool {
	switch v := m["rank"].(type) {
	case nil:
	case string:
		r := model.SlotRank(v)
		if !r.IsValid() {
			return false
		}
		in.Rank = &r
	default:
		return false
	}
	for _, item := range listOf(m["preferredTimes"]) {
		p, isMap := item.(map[string]any)
		if !isMap {
			return false
		}
		from, fromOK := p["from"].(string)
		to, toOK := p["to"].(string)
		if !fromOK || !toOK {
			return false
		}
		pt := &model.PreferredTimeInput{From: from, To: to}
		for _, w := range listOf(p["weekdays"]) {
			s, isString := w.(string)
			if !isString {
				return false
			}
			pt.Weekdays = append(pt.Weekdays, model.Weekday(s))
		}
		in.PreferredTimes = append(in.PreferredTimes, pt)
	}
	return true
}

// listOf is v as a GraphQL list input: null none, a single value a list of one.
func listOf(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// locationOf is the time zone an answer's days are in: the calendar's loaded one, else
// loaded here, else UTC (an answer's zone is always the calendar's).
func locationOf(cal *apphub.Calendar, name string) *time.Location {
	if cal != nil {
		if loc := cal.Location(name); loc != nil {
			return loc
		}
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

// rankedSlots returns d's slots best first for the caller who prefers preferred. Within one
// day the ranking does not depend on the other days (they only shift the whole day's scores),
// so a day is ranked alone: the same order as in the whole answer's recommendations.
func rankedSlots(d *apphub.SlotDay, loc *time.Location, preferred []apphub.PreferredTime) []apphub.Slot {
	recs := apphub.Recommend([]apphub.SlotDay{*d}, loc, preferred)
	if len(recs) != len(d.Slots) {
		return d.Slots // a day Recommend cannot read: left by start rather than lost
	}
	out := make([]apphub.Slot, len(recs))
	for i := range recs {
		out[i] = recs[i].Slot
	}
	return out
}

// daySlots is d's slots in the ranking's order.
func daySlots(d *apphub.SlotDay, loc *time.Location, rk ranking) []apphub.Slot {
	if !rk.recommended {
		return d.Slots
	}
	return rankedSlots(d, loc, rk.preferred)
}

// recommendations ranks a whole answer for the caller.
func recommendations(cal *apphub.Calendar, res *booking.SlotResult, preferred []apphub.PreferredTime) []apphub.Recommendation {
	return apphub.Recommend(res.Days, locationOf(cal, res.TimeZone), preferred)
}

// recommendedCount reads recommended's first: null is its default.
func recommendedCount(first *int) (int, error) {
	n := defaultRecommended
	if first != nil {
		n = *first
	}
	if n < 0 || n > maxRecommended {
		return 0, apphub.FieldError("first", "must be between 0 and %d, got %d", maxRecommended, n)
	}
	return n, nil
}

// recommendedCountArg is recommendedCount of the raw value of a field's first argument (as
// ArgumentMap gives it, the default applied); false when it does not read or is invalid.
func recommendedCountArg(v any) (int, bool) {
	var first *int
	if v != nil {
		n, err := graphql.UnmarshalInt(v)
		if err != nil {
			return 0, false
		}
		first = &n
	}
	n, err := recommendedCount(first)
	return n, err == nil
}

// recommendedSlots converts the best n recommendations.
func recommendedSlots(cal *apphub.Calendar, recs []apphub.Recommendation, n int) []*model.RecommendedSlot {
	recs = recs[:min(n, len(recs))]
	out := make([]*model.RecommendedSlot, len(recs))
	for i := range recs {
		r := &recs[i]
		rs := &model.RecommendedSlot{Start: r.Slot.Start, End: r.Slot.End, Capacity: r.Slot.Capacity, Crew: crewOf(cal, r.Slot.Crew),
			Score: r.Score, Reasons: pointers(r.Reasons)}
		if r.Resource != "" {
			rs.Resource, _ = cal.Resource(r.Resource) // null when gone from the calendar since
		}
		out[i] = rs
	}
	return out
}
