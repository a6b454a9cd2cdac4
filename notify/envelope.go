package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/apphub/apphub"
)

// dateTimeLayout is how the hub writes date-times (docs/tmf646.md: UTC, Z, milliseconds).
const dateTimeLayout = "2006-01-02T15:04:05.000Z"

// envelope is the TMF646 notification: the field order is the swagger's, and timeOcurred is
// spelled as the swagger spells it.
type envelope struct {
	EventID       string  `json:"eventId"`
	EventTime     string  `json:"eventTime"`
	EventType     string  `json:"eventType"`
	CorrelationID string  `json:"correlationId"`
	Domain        string  `json:"domain"`
	Title         string  `json:"title"`
	Description   string  `json:"description"`
	Priority      string  `json:"priority"`
	TimeOcurred   string  `json:"timeOcurred"`
	FieldPath     string  `json:"fieldPath,omitempty"`
	Event         payload `json:"event"`
}

type payload struct {
	Appointment   json.RawMessage `json:"appointment,omitempty"`
	WaitlistOffer json.RawMessage `json:"waitlistOffer,omitempty"` // of EventWaitlistOffer
}

// titles are the envelopes' titles by event type.
var titles = map[string]string{
	apphub.EventCreated:          "Appointment created",
	apphub.EventStateChanged:     "Appointment status changed",
	apphub.EventAttributeChanged: "Appointment attributes changed",
	apphub.EventDeleted:          "Appointment deleted",
}

// EventName is the listener path name of an event type, in lower camel case:
// AppointmentStateChangeEvent → appointmentStateChangeEvent.
func EventName(eventType string) string {
	if eventType == "" {
		return ""
	}
	return strings.ToLower(eventType[:1]) + eventType[1:]
}

// EventID is the envelope's eventId of an event: the same on every instance and for every
// subscription, so that a listener can drop a duplicate (delivery is at least once).
func EventID(ev apphub.Event) string {
	return ev.AppointmentID + "-" + strconv.Itoa(ev.Version) + "-" + EventName(ev.Kind)
}

// envelope renders the notification of ev. Everything in it derives from the event, so that
// instances that render the same event agree (the first outbox insert is what is sent).
func (n *Notifier) envelope(ctx context.Context, ev apphub.Event) (body []byte, eventID string, err error) {
	title, ok := titles[ev.Kind]
	if !ok {
		return nil, "", apphub.Errorf(apphub.EINTERNAL, "unknown event type %q", ev.Kind)
	}
	rep, err := n.opts.Render(ctx, ev.State)
	if err != nil {
		return nil, "", err
	}
	at := ev.At
	if at.IsZero() {
		at = ev.State.UpdatedAt
	}
	when := at.UTC().Format(dateTimeLayout)
	env := envelope{EventID: EventID(ev), EventTime: when, EventType: ev.Kind,
		// The events of one revision (a status and an attribute change) share it.
		CorrelationID: ev.AppointmentID + "-" + strconv.Itoa(ev.Version),
		Domain:        n.opts.Domain, Title: title, Priority: "normal", TimeOcurred: when,
		Event: payload{Appointment: rep}}
	switch ev.Kind {
	case apphub.EventCreated:
		env.Description = fmt.Sprintf("appointment %s was created (%s)", ev.AppointmentID, ev.State.Status)
	case apphub.EventStateChanged:
		env.Description = fmt.Sprintf("appointment %s is now %s", ev.AppointmentID, ev.State.Status)
	case apphub.EventAttributeChanged:
		env.FieldPath = strings.Join(ev.Fields, ",")
		env.Description = fmt.Sprintf("appointment %s changed: %s", ev.AppointmentID, env.FieldPath)
	case apphub.EventDeleted:
		env.Description = fmt.Sprintf("appointment %s was deleted", ev.AppointmentID)
	}
	return env.encode()
}

// encode writes the envelope as a body, and gives its eventId.
func (env envelope) encode() ([]byte, string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Values the client sent come back byte-identical (docs/tmf646.md): no HTML escaping.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, "", apphub.WrapError(apphub.EINTERNAL, err, "the envelope of %s cannot be encoded", env.EventID)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), env.EventID, nil
}
