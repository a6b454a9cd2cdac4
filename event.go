package apphub

import (
	"slices"
	"time"
)

// Event kinds, after TMF646's event types.
const (
	EventCreated          = "AppointmentCreateEvent"
	EventStateChanged     = "AppointmentStateChangeEvent"
	EventAttributeChanged = "AppointmentAttributeValueChangeEvent"
	EventDeleted          = "AppointmentDeleteEvent"
	// EventWaitlistOffer is the hub's extension event, not one of TMF646's: time offered to a
	// waitlist entry, sent to the hub registrations whose owner may see the entry.
	EventWaitlistOffer = "WaitlistOfferEvent"
)

// Event is something that happened to an appointment, derived from one revision. Version is the
// revision's: receivers drop versions they have seen and ask for the ones they missed.
type Event struct {
	Kind          string
	AppointmentID string
	Version       int
	Fields        []string // for EventAttributeChanged: the attributes that changed
	State         Appointment
	At            time.Time
	// TraceParent is the W3C traceparent of the request that made the change, "" when none
	// (tracing off, or the relay finished the change): hub notifications carry it on.
	TraceParent string `json:",omitempty"`
}

// EventsOf derives the events of one revision: a creation, a deletion, a status change, an
// attribute change, or a status change and an attribute change when a revision did both. A
// voided revision (a writer the reaper fenced off) changed nothing and yields none.
func EventsOf(r Revision) []Event {
	ev := func(kind string, fields []string) Event {
		return Event{Kind: kind, AppointmentID: r.AppointmentID, Version: r.Version, Fields: fields, State: r.State, At: r.At}
	}
	switch r.Change {
	case ChangeCreated:
		return []Event{ev(EventCreated, nil)}
	case ChangeDeleted:
		return []Event{ev(EventDeleted, nil)}
	case ChangeVoided:
		return nil
	}
	var out []Event
	var others []string
	for _, f := range r.Fields {
		if f != "status" {
			others = append(others, f)
		}
	}
	if slices.Contains(r.Fields, "status") {
		out = append(out, ev(EventStateChanged, nil))
	}
	if len(others) > 0 {
		out = append(out, ev(EventAttributeChanged, others))
	}
	return out
}
