package booking

import (
	"cmp"
	"context"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/slots"
)

// A search task (TMF646's searchTimeSlot) asks for the free slots of a category at a place in
// several windows at once, and keeps what it found: each slot once per resource that can take
// it, so that every entry names what to book.

// MaxSearchWindows bounds the windows of one search task. Each window is a search of up to
// slots.MaxSearchWindow, so one task's work is at most MaxSearchWindows × slots.MaxSearchWindow
// of every resource in the zone (10 × 31 days); without the bound a request of a thousand
// windows held the hub for seconds.
const MaxSearchWindows = 10

// MaxTaskSlots bounds the slots of one search task: a month of a busy zone would otherwise make
// a stored task of megabytes. The earliest are kept, or the best of a recommended task.
const MaxTaskSlots = 500

// SearchTask asks for the slots of Category at Place (a postcode or a managed place) whose start
// is in any of Windows.
type SearchTask struct {
	Category string
	Place    string
	Windows  []Window
	// Recommended asks for the slots best first, as apphub.Recommend ranks them for a caller who
	// prefers Preferred, over the slots of all the windows; otherwise they are earliest first,
	// window by window.
	Recommended bool
	Preferred   []apphub.PreferredTime
}

// Window is a requested window: slots that start in [From, To).
type Window struct{ From, To time.Time }

// TaskSlot is one slot on one resource.
type TaskSlot struct {
	Start, End time.Time
	Resource   string
	Crew       []string // a crew job's members (Resource is its lead); nil otherwise
	// A recommended task's score and reasons of booking the slot with Resource (the crew).
	Score   int
	Reasons []apphub.Reason
}

// TaskResult is a search task's answer: its slots, window by window, earliest first (or best
// first over all windows when recommended), at most MaxTaskSlots; when there is none, why, and
// the next dates that have slots.
type TaskResult struct {
	Slots     []TaskSlot
	Reasons   []apphub.Reason
	NextDates []string
}

// RunSearchTask searches each window of t with Search.
func (s *Service) RunSearchTask(ctx context.Context, t SearchTask) (TaskResult, error) {
	var out TaskResult
	if apphub.PrincipalFromContext(ctx).Anonymous() {
		return out, apphub.Errorf(apphub.EUNAUTHENTICATED, "search tasks need a bearer token or an API key")
	}
	if t.Place == "" {
		return out, apphub.FieldError("place", "a search needs a postcode or the id of a managed place")
	}
	if len(t.Windows) > MaxSearchWindows {
		return out, apphub.FieldError("windows", "a search task may ask for at most %d windows, got %d", MaxSearchWindows, len(t.Windows))
	}
	// Every window is checked before any is searched: a bad last window must not cost the
	// searches of the others.
	for i, w := range t.Windows {
		if !w.To.After(w.From) || w.To.Sub(w.From) > slots.MaxSearchWindow {
			return out, apphub.FieldError("windows", "window %d must end after its start and at most %d days later", i, slots.MaxSearchWindow/(24*time.Hour))
		}
	}
	if err := apphub.ValidatePreferredTimes(t.Preferred); err != nil {
		return out, err
	}
	var days []apphub.SlotDay // of a recommended task: every window's, ranked once all are in
	timeZone := ""
	for _, w := range t.Windows {
		res, err := s.Search(ctx, SlotQuery{Category: t.Category, Place: t.Place, From: w.From, To: w.To})
		if err != nil {
			return TaskResult{}, err
		}
		out.Reasons, out.NextDates = append(out.Reasons, res.Reasons...), append(out.NextDates, res.NextDates...)
		if t.Recommended {
			days, timeZone = append(days, res.Days...), cmp.Or(timeZone, res.TimeZone)
			continue
		}
		for _, d := range res.Days {
			for _, slot := range d.Slots {
				// A crew is one slot; any other slot is one per resource that can take it.
				found := []TaskSlot{{Start: slot.Start, End: slot.End, Resource: slot.Resources[0].ResourceID, Crew: slot.Crew}}
				if len(slot.Crew) == 0 {
					found = found[:0]
					for _, r := range slot.Resources {
						found = append(found, TaskSlot{Start: slot.Start, End: slot.End, Resource: r.ResourceID})
					}
				}
				for _, f := range found {
					if len(out.Slots) == MaxTaskSlots {
						return TaskResult{Slots: out.Slots}, nil
					}
					out.Slots = append(out.Slots, f)
				}
			}
		}
	}
	if t.Recommended {
		out.Slots = recommendedSlots(days, timeZone, t.Preferred)
	}
	if len(out.Slots) > 0 {
		out.Reasons, out.NextDates = nil, nil
	}
	return out, nil
}

// recommendedSlots ranks every slot of days with apphub.Recommend, best first, and keeps the
// first MaxTaskSlots. Each resource of a slot is ranked on its own, so that an entry's score and
// reasons are those of booking the slot with its resource; the slot's best fit so comes first
// among them (the lowest id among equals, as Recommend chooses). A crew is one entry. A slot
// that overlapping windows both found is ranked once.
func recommendedSlots(days []apphub.SlotDay, timeZone string, preferred []apphub.PreferredTime) []TaskSlot {
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		loc = time.UTC
	}
	seen := map[[2]int64]bool{}
	split := make([]apphub.SlotDay, 0, len(days))
	for _, d := range days {
		day := apphub.SlotDay{Date: d.Date}
		for _, slot := range d.Slots {
			key := [2]int64{slot.Start.UnixNano(), slot.End.UnixNano()}
			if seen[key] || len(slot.Resources) == 0 {
				continue
			}
			seen[key] = true
			if len(slot.Crew) > 0 {
				day.Slots = append(day.Slots, slot)
				continue
			}
			for i, r := range slot.Resources {
				day.Slots = append(day.Slots, apphub.Slot{Start: slot.Start, End: slot.End, Resources: slot.Resources[i : i+1 : i+1], Capacity: r.Capacity})
			}
		}
		split = append(split, day)
	}
	ranked := apphub.Recommend(split, loc, preferred)
	out := make([]TaskSlot, 0, min(len(ranked), MaxTaskSlots))
	for _, r := range ranked[:min(len(ranked), MaxTaskSlots)] {
		out = append(out, TaskSlot{Start: r.Slot.Start, End: r.Slot.End, Resource: r.Slot.Resources[0].ResourceID, Crew: r.Slot.Crew,
			Score: r.Score, Reasons: r.Reasons})
	}
	return out
}
