package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/apphub/apphub"
)

// The TMF646 search tasks and hub subscriptions: one document each, keyed by its id (booking's
// TMFStore interface).
const (
	collSearchTimeSlots = "searchTimeSlots"
	collSubscriptions   = "subscriptions"
)

type searchTimeSlotDoc struct {
	ID         string     `bson:"_id"`
	Version    int        `bson:"version"`
	Status     string     `bson:"status"`
	Result     string     `bson:"result"`
	SearchDate time.Time  `bson:"searchDate"`
	UpdatedAt  time.Time  `bson:"updatedAt"`
	PartyID    string     `bson:"partyId,omitempty"`
	CreatedBy  string     `bson:"createdBy,omitempty"`
	Attributes attributes `bson:"attributes,omitempty"`
}

func toSearchTimeSlotDoc(t apphub.SearchTimeSlot) searchTimeSlotDoc {
	return searchTimeSlotDoc{ID: t.ID, Version: t.Version, Status: t.Status, Result: t.Result, SearchDate: t.SearchDate,
		UpdatedAt: t.UpdatedAt, PartyID: t.PartyID, CreatedBy: t.CreatedBy, Attributes: t.Attributes}
}

func (d searchTimeSlotDoc) searchTimeSlot() apphub.SearchTimeSlot {
	return apphub.SearchTimeSlot{ID: d.ID, Version: d.Version, Status: d.Status, Result: d.Result,
		SearchDate: utc(d.SearchDate), UpdatedAt: utc(d.UpdatedAt), PartyID: d.PartyID, CreatedBy: d.CreatedBy,
		Attributes: d.Attributes}
}

// InsertSearchTimeSlot stores a new search task; ECONFLICT when its id exists.
func (db *DB) InsertSearchTimeSlot(ctx context.Context, t apphub.SearchTimeSlot) error {
	return db.insert(ctx, collSearchTimeSlots, toSearchTimeSlotDoc(t))
}

// GetSearchTimeSlot reads a search task, or fails with ENOTFOUND.
func (db *DB) GetSearchTimeSlot(ctx context.Context, id string) (apphub.SearchTimeSlot, error) {
	var d searchTimeSlotDoc
	if err := db.findByID(ctx, collSearchTimeSlots, id, &d); err != nil {
		return apphub.SearchTimeSlot{}, err
	}
	return d.searchTimeSlot(), nil
}

// ListSearchTimeSlots scans every search task.
func (db *DB) ListSearchTimeSlots(ctx context.Context) ([]apphub.SearchTimeSlot, error) {
	return scanAll(ctx, db, collSearchTimeSlots, bson.D{}, searchTimeSlotDoc.searchTimeSlot)
}

// ReplaceSearchTimeSlot writes t over the stored task if that is still at version prev:
// ECONFLICT when it is not, ENOTFOUND when it is gone. The version filter is a best effort
// (FerretDB does not make conditional updates atomic): a search task is no exclusive fact,
// and the filter only stops the common case of a stale write.
func (db *DB) ReplaceSearchTimeSlot(ctx context.Context, t apphub.SearchTimeSlot, prev int) error {
	res, err := db.db.Collection(collSearchTimeSlots).ReplaceOne(ctx,
		bson.D{{Key: "_id", Value: t.ID}, {Key: "version", Value: prev}}, toSearchTimeSlotDoc(t))
	if err != nil {
		return mapError(err)
	}
	if res.MatchedCount == 0 {
		var d searchTimeSlotDoc
		if err := db.findByID(ctx, collSearchTimeSlots, t.ID, &d); err != nil {
			return err
		}
		return apphub.Errorf(apphub.ECONFLICT, "the searchTimeSlot changed meanwhile")
	}
	return nil
}

// DeleteSearchTimeSlot removes a search task; ENOTFOUND when there is none.
func (db *DB) DeleteSearchTimeSlot(ctx context.Context, id string) error {
	return db.deleteByID(ctx, collSearchTimeSlots, id)
}

type subscriptionDoc struct {
	ID         string     `bson:"_id"`
	Callback   string     `bson:"callback"`
	Query      string     `bson:"query,omitempty"`
	Attributes attributes `bson:"attributes,omitempty"`
	PartyID    string     `bson:"partyId,omitempty"`
	Owner      ownerDoc   `bson:"owner"`
	CreatedAt  time.Time  `bson:"createdAt"`
}

// ownerDoc is the principal that registered a listener: what it may read bounds what it gets.
type ownerDoc struct {
	PartyID   string   `bson:"partyId,omitempty"`
	Roles     []string `bson:"roles,omitempty"`
	Resources []string `bson:"resources,omitempty"`
	Places    []string `bson:"places,omitempty"`
	Parties   []string `bson:"parties,omitempty"`
	KeyID     string   `bson:"keyId,omitempty"`
}

func (d subscriptionDoc) subscription() apphub.EventSubscription {
	return apphub.EventSubscription{ID: d.ID, Callback: d.Callback, Query: d.Query, Attributes: d.Attributes,
		PartyID: d.PartyID, CreatedAt: utc(d.CreatedAt), Owner: apphub.Principal{PartyID: d.Owner.PartyID, Roles: d.Owner.Roles,
			Resources: d.Owner.Resources, Places: d.Owner.Places, Parties: d.Owner.Parties, KeyID: d.Owner.KeyID}}
}

// InsertSubscription stores a new hub subscription; ECONFLICT when its id exists.
func (db *DB) InsertSubscription(ctx context.Context, s apphub.EventSubscription) error {
	return db.insert(ctx, collSubscriptions, subscriptionDoc{ID: s.ID, Callback: s.Callback, Query: s.Query,
		Attributes: s.Attributes, PartyID: s.PartyID, CreatedAt: s.CreatedAt,
		Owner: ownerDoc{PartyID: s.Owner.PartyID, Roles: s.Owner.Roles, Resources: s.Owner.Resources, Places: s.Owner.Places,
			Parties: s.Owner.Parties, KeyID: s.Owner.KeyID}})
}

// GetSubscription reads a hub subscription, or fails with ENOTFOUND.
func (db *DB) GetSubscription(ctx context.Context, id string) (apphub.EventSubscription, error) {
	var d subscriptionDoc
	if err := db.findByID(ctx, collSubscriptions, id, &d); err != nil {
		return apphub.EventSubscription{}, err
	}
	return d.subscription(), nil
}

// ListSubscriptions scans every hub subscription.
func (db *DB) ListSubscriptions(ctx context.Context) ([]apphub.EventSubscription, error) {
	return scanAll(ctx, db, collSubscriptions, bson.D{}, subscriptionDoc.subscription)
}

// DeleteSubscription removes a hub subscription; ENOTFOUND when there is none.
func (db *DB) DeleteSubscription(ctx context.Context, id string) error {
	return db.deleteByID(ctx, collSubscriptions, id)
}

// deleteByID removes the document with the given _id; ENOTFOUND when there is none.
func (db *DB) deleteByID(ctx context.Context, coll, id string) error {
	res, err := db.db.Collection(coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return mapError(err)
	}
	if res.DeletedCount == 0 {
		return apphub.Errorf(apphub.ENOTFOUND, "not found")
	}
	return nil
}
