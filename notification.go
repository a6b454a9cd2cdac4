package apphub

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The delivery state of TMF646 hub notifications (package notify delivers them; its Store keeps
// these records): one outbox record per event and registration, one lease per attempt and one
// outcome per delivery, each an insert keyed by _id, so that who delivers, and whether a
// delivery ended, is decided by which insert got its _id first.

// Delivery is one event to deliver to one subscription: the outbox record. Body is the
// envelope exactly as it is POSTed and signed, so that every attempt, on any instance,
// sends the same bytes.
type Delivery struct {
	ID             string // DeliveryID(SubscriptionID, AppointmentID, Version, EventType)
	SubscriptionID string
	AppointmentID  string
	Version        int
	EventType      string // Event* (TMF646 event type)
	EventID        string // the envelope's eventId
	Callback       string // the subscription's callback; events go to {Callback}/listener/{eventName}
	Body           []byte
	CreatedAt      time.Time
	TraceParent    string // the event's W3C traceparent, sent with every attempt; "" when none
}

// String describes a delivery in logs and test failures.
func (d Delivery) String() string {
	return fmt.Sprintf("%s v%s %s → %s", d.AppointmentID, strconv.Itoa(d.Version), d.EventType, d.SubscriptionID)
}

// DeliveryAttempt is the lease of one delivery attempt: whoever inserted it makes attempt N,
// and nobody else takes attempt N+1 before LeaseUntil.
type DeliveryAttempt struct {
	DeliveryID string
	N          int
	Owner      string // the instance that holds it
	Start      time.Time
	LeaseUntil time.Time
}

// Outcomes of a delivery.
const (
	OutcomeDelivered    = "delivered"
	OutcomeDeadLettered = "deadLettered"
	OutcomeUnsubscribed = "unsubscribed" // the subscription was deleted before the event got through
)

// DeliveryOutcome records how a delivery ended.
type DeliveryOutcome struct {
	DeliveryID string
	Result     string // OutcomeDelivered, OutcomeDeadLettered or OutcomeUnsubscribed
	Attempts   int    // the attempts leased
	Owner      string
	At         time.Time
	Error      string // the last failure, for a dead letter
}

// DeliveryID is the _id of the delivery of one event to one subscription. The version is
// zero-padded so that the ids of one (subscription, appointment) sort by version.
func DeliveryID(subscriptionID, appointmentID string, version int, eventType string) string {
	return subscriptionID + "|" + appointmentID + "|" + padVersion(version) + "|" + eventType
}

// DeliveryAttemptID is the _id of the lease of attempt n of a delivery.
func DeliveryAttemptID(deliveryID string, n int) string { return deliveryID + "|" + strconv.Itoa(n) }

func padVersion(v int) string {
	s := strconv.Itoa(v)
	if len(s) < 10 {
		s = strings.Repeat("0", 10-len(s)) + s
	}
	return s
}
