package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/apphub/apphub"
)

// The TMF646 notifications' delivery state (notify.Store): the outbox (apphub.Delivery), one
// lease per attempt (apphub.DeliveryAttempt) and one outcome per delivery
// (apphub.DeliveryOutcome), each an insert keyed by _id. Nothing here is updated: who delivers,
// and whether a delivery ended, is decided by which insert got its _id first.
const (
	collNotifyOutbox   = "notifyOutbox"
	collNotifyAttempts = "notifyAttempts"
	collNotifyOutcomes = "notifyOutcomes"
)

type notifyDeliveryDoc struct {
	ID           string    `bson:"_id"`
	Subscription string    `bson:"subscription"`
	Appointment  string    `bson:"appointment"`
	Version      int       `bson:"version"`
	EventType    string    `bson:"eventType"`
	EventID      string    `bson:"eventId"`
	Callback     string    `bson:"callback"`
	Body         string    `bson:"body"` // the envelope's JSON text, sent as it is
	CreatedAt    time.Time `bson:"createdAt"`
	// TraceParent is kept so that an instance taking a delivery over still continues its trace.
	TraceParent string `bson:"traceParent,omitempty"`
}

func (d notifyDeliveryDoc) delivery() apphub.Delivery {
	return apphub.Delivery{ID: d.ID, SubscriptionID: d.Subscription, AppointmentID: d.Appointment, Version: d.Version,
		EventType: d.EventType, EventID: d.EventID, Callback: d.Callback, Body: []byte(d.Body), CreatedAt: utc(d.CreatedAt),
		TraceParent: d.TraceParent}
}

type notifyAttemptDoc struct {
	ID         string    `bson:"_id"`
	Delivery   string    `bson:"delivery"`
	N          int       `bson:"n"`
	Owner      string    `bson:"owner"`
	Start      time.Time `bson:"start"`
	LeaseUntil time.Time `bson:"leaseUntil"`
}

type notifyOutcomeDoc struct {
	ID       string    `bson:"_id"`
	Result   string    `bson:"result"`
	Attempts int       `bson:"attempts"`
	Owner    string    `bson:"owner"`
	At       time.Time `bson:"at"`
	Error    string    `bson:"error,omitempty"`
}

// InsertDelivery adds a delivery to the outbox; ECONFLICT when it is there.
func (db *DB) InsertDelivery(ctx context.Context, d apphub.Delivery) error {
	return db.insert(ctx, collNotifyOutbox, notifyDeliveryDoc{ID: d.ID, Subscription: d.SubscriptionID,
		Appointment: d.AppointmentID, Version: d.Version, EventType: d.EventType, EventID: d.EventID,
		Callback: d.Callback, Body: string(d.Body), CreatedAt: d.CreatedAt, TraceParent: d.TraceParent})
}

// Deliveries scans the outbox. No sort is asked for: in natural order a scan that finds a
// delivery also finds those inserted before it, which keeps versions in order.
func (db *DB) Deliveries(ctx context.Context) ([]apphub.Delivery, error) {
	return scanAll(ctx, db, collNotifyOutbox, bson.D{}, notifyDeliveryDoc.delivery)
}

// DeleteDelivery removes a delivery from the outbox; no error when it is gone.
func (db *DB) DeleteDelivery(ctx context.Context, id string) error {
	_, err := db.db.Collection(collNotifyOutbox).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return mapError(err)
}

// InsertAttempt takes the lease of an attempt; ECONFLICT when somebody took it.
func (db *DB) InsertAttempt(ctx context.Context, a apphub.DeliveryAttempt) error {
	return db.insert(ctx, collNotifyAttempts, notifyAttemptDoc{ID: apphub.DeliveryAttemptID(a.DeliveryID, a.N), Delivery: a.DeliveryID,
		N: a.N, Owner: a.Owner, Start: a.Start, LeaseUntil: a.LeaseUntil})
}

// GetAttempt reads the lease of attempt n of a delivery; ENOTFOUND when nobody took it.
func (db *DB) GetAttempt(ctx context.Context, deliveryID string, n int) (apphub.DeliveryAttempt, error) {
	var d notifyAttemptDoc
	if err := db.findByID(ctx, collNotifyAttempts, apphub.DeliveryAttemptID(deliveryID, n), &d); err != nil {
		return apphub.DeliveryAttempt{}, err
	}
	return apphub.DeliveryAttempt{DeliveryID: d.Delivery, N: d.N, Owner: d.Owner, Start: utc(d.Start), LeaseUntil: utc(d.LeaseUntil)}, nil
}

// DeleteAttempts removes the leases of attempts 1 to n of a delivery, one _id at a time (a
// filter on anything else would scan the collection).
func (db *DB) DeleteAttempts(ctx context.Context, deliveryID string, n int) error {
	for i := 1; i <= n; i++ {
		if _, err := db.db.Collection(collNotifyAttempts).DeleteOne(ctx, bson.D{{Key: "_id", Value: apphub.DeliveryAttemptID(deliveryID, i)}}); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// InsertOutcome ends a delivery; ECONFLICT when it has ended already.
func (db *DB) InsertOutcome(ctx context.Context, o apphub.DeliveryOutcome) error {
	return db.insert(ctx, collNotifyOutcomes, notifyOutcomeDoc{ID: o.DeliveryID, Result: o.Result, Attempts: o.Attempts,
		Owner: o.Owner, At: o.At, Error: o.Error})
}

// GetOutcome reads how a delivery ended; ENOTFOUND while it has not.
func (db *DB) GetOutcome(ctx context.Context, deliveryID string) (apphub.DeliveryOutcome, error) {
	var d notifyOutcomeDoc
	if err := db.findByID(ctx, collNotifyOutcomes, deliveryID, &d); err != nil {
		return apphub.DeliveryOutcome{}, err
	}
	return apphub.DeliveryOutcome{DeliveryID: d.ID, Result: d.Result, Attempts: d.Attempts, Owner: d.Owner, At: utc(d.At), Error: d.Error}, nil
}

// DeleteNotificationsBefore removes the outcomes recorded and the leases taken before t. It
// scans both collections: it runs seldom, off any request.
func (db *DB) DeleteNotificationsBefore(ctx context.Context, t time.Time) (int, error) {
	removed := 0
	for _, c := range []struct{ coll, field string }{{collNotifyOutcomes, "at"}, {collNotifyAttempts, "start"}} {
		res, err := db.db.Collection(c.coll).DeleteMany(ctx, bson.D{{Key: c.field, Value: bson.D{{Key: "$lt", Value: t}}}})
		if err != nil {
			return removed, mapError(err)
		}
		removed += int(res.DeletedCount)
	}
	return removed, nil
}
