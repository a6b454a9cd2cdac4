package apphub

import (
	"context"
	"slices"
	"time"
)

// EventSequencer puts one stream of events back in order per appointment: whoever receives
// events (the bus's dispatcher, the notifier, a GraphQL subscription) gets each (version, kind)
// once and the versions in order. An event already delivered, or older than what was, is
// dropped; an event after a gap is preceded by the missed ones, read by a resync function
// from the revisions (booking.Service.Events). A revision may yield two kinds (a state and an
// attribute change): both are delivered.
//
// An appointment seen for the first time starts at whatever version arrives: order is
// promised from there on. An appointment with no event for the forget period is forgotten,
// and starts again at whatever version arrives next.
//
// It is not safe for concurrent use: each receiver owns one.
type EventSequencer struct {
	resync  func(ctx context.Context, appointmentID string, after int) ([]Event, error)
	forget  time.Duration
	now     func() time.Time
	sweep   time.Duration
	swept   time.Time
	seen    map[string]*sequenced
	dropped uint64
}

// sequenced is what was delivered of one appointment: the last version, the kinds delivered at
// that version, and when.
type sequenced struct {
	last  int
	kinds []string
	at    time.Time
}

// NewEventSequencer returns a sequencer that fills gaps with resync, which returns an
// appointment's events after version after, in version order (nil: gaps are not filled), and
// forgets an appointment forget after its last event (0: never), on the clock now (nil:
// time.Now). resync gets the context given to Next: bound it there or in resync.
func NewEventSequencer(resync func(ctx context.Context, appointmentID string, after int) ([]Event, error),
	forget time.Duration, now func() time.Time) *EventSequencer {
	s := &EventSequencer{resync: resync, forget: max(forget, 0), now: now, seen: make(map[string]*sequenced)}
	if s.forget > 0 {
		if s.now == nil {
			s.now = time.Now
		}
		s.sweep = min(s.forget/2, 10*time.Minute)
		s.swept = s.now()
	}
	return s
}

// Next returns the events to deliver for ev, in order: none when its version and kind were
// delivered already or a later version was; after a gap, the missed events first (those resync
// returns for ev's appointment up to ev's version), then ev unless resync returned it too. When
// resync fails, Next returns its error with ev (after whatever resync returned): the newer
// event is delivered anyway.
func (s *EventSequencer) Next(ctx context.Context, ev Event) ([]Event, error) {
	now := s.tick()
	var out []Event
	var err error
	if st := s.seen[ev.AppointmentID]; st != nil && !s.idle(st, now) && ev.Version > st.last+1 && s.resync != nil {
		var missed []Event
		missed, err = s.resync(ctx, ev.AppointmentID, st.last)
		for _, m := range missed {
			if m.AppointmentID == ev.AppointmentID && m.Version <= ev.Version {
				out = s.next(out, m, now)
			}
		}
	}
	return s.next(out, ev, now), err
}

// Dropped returns how many events Next has dropped because their version and kind, or a later
// version, had been delivered (the copies resync read included).
func (s *EventSequencer) Dropped() uint64 { return s.dropped }

// next appends ev to out if it is new, and counts it as dropped otherwise.
func (s *EventSequencer) next(out []Event, ev Event, now time.Time) []Event {
	if !s.take(ev, now) {
		s.dropped++
		return out
	}
	return append(out, ev)
}

// Mark records that the receiver has an appointment at version, as kind, by other means (a
// subscription's first message, the current state): events of that version and kind, and of
// earlier versions, are dropped from now on.
func (s *EventSequencer) Mark(appointmentID string, version int, kind string) {
	s.take(Event{AppointmentID: appointmentID, Version: version, Kind: kind}, s.tick())
}

// take records ev as delivered and reports whether it is new.
func (s *EventSequencer) take(ev Event, now time.Time) bool {
	st := s.seen[ev.AppointmentID]
	switch {
	case st == nil || s.idle(st, now):
		st = &sequenced{}
		s.seen[ev.AppointmentID] = st
	case ev.Version < st.last || (ev.Version == st.last && slices.Contains(st.kinds, ev.Kind)):
		return false
	}
	if ev.Version > st.last {
		st.last, st.kinds = ev.Version, st.kinds[:0]
	}
	st.kinds = append(st.kinds, ev.Kind)
	st.at = now
	return true
}

// tick reads the clock (not at all when nothing is forgotten) and, every half forget period (at
// most every 10 minutes), drops the appointments idle for longer than forget.
func (s *EventSequencer) tick() time.Time {
	if s.forget == 0 {
		return time.Time{}
	}
	now := s.now()
	if now.Sub(s.swept) >= s.sweep {
		for id, st := range s.seen {
			if s.idle(st, now) {
				delete(s.seen, id)
			}
		}
		s.swept = now
	}
	return now
}

// idle reports whether st has been forgotten by now: an entry the sweep has not reached yet
// counts as gone all the same.
func (s *EventSequencer) idle(st *sequenced, now time.Time) bool {
	return s.forget > 0 && now.Sub(st.at) > s.forget
}
