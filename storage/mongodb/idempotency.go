package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/apphub/apphub"
)

type idempotencyDoc struct {
	ID          string `bson:"_id"`
	RequestHash string `bson:"requestHash"`
	Done        bool   `bson:"done"`
	ResultID    string `bson:"appointmentId,omitempty"` // named when only appointments were kept
	Version     int    `bson:"version,omitempty"`
	ErrCode     string `bson:"errCode,omitempty"`
	ErrReason   string `bson:"errReason,omitempty"`
	ErrMessage  string `bson:"errMessage,omitempty"`
	ErrField    string `bson:"errField,omitempty"`
	// The slots keep their field names (start, end, resources, capacity): a refusal's
	// alternatives are answered again exactly.
	ErrAlternatives []apphub.Slot `bson:"errAlternatives,omitempty"`
	HoldToken       string        `bson:"holdToken,omitempty"`
	CreatedAt       time.Time     `bson:"createdAt"`
	ExpiresAt       time.Time     `bson:"expiresAt"`
}

// InsertIdempotency records a request as in flight; ECONFLICT means the key is taken.
func (db *DB) InsertIdempotency(ctx context.Context, r apphub.IdempotencyRecord) error {
	return db.insert(ctx, collIdempotency, idempotencyDoc(r))
}

// PutIdempotency stores the record's outcome; only the request that inserted it writes it.
func (db *DB) PutIdempotency(ctx context.Context, r apphub.IdempotencyRecord) error {
	_, err := db.db.Collection(collIdempotency).ReplaceOne(ctx, bson.D{{Key: "_id", Value: r.ID}}, idempotencyDoc(r),
		options.Replace().SetUpsert(true))
	return mapError(err)
}

// GetIdempotency reads a record, or fails with ENOTFOUND.
func (db *DB) GetIdempotency(ctx context.Context, id string) (apphub.IdempotencyRecord, error) {
	var d idempotencyDoc
	if err := db.findByID(ctx, collIdempotency, id, &d); err != nil {
		return apphub.IdempotencyRecord{}, err
	}
	r := apphub.IdempotencyRecord(d)
	r.CreatedAt, r.ExpiresAt = utc(r.CreatedAt), utc(r.ExpiresAt)
	for i := range r.ErrAlternatives {
		r.ErrAlternatives[i].Start, r.ErrAlternatives[i].End = utc(r.ErrAlternatives[i].Start), utc(r.ErrAlternatives[i].End)
	}
	return r, nil
}

// DeleteIdempotency removes a record: the request that inserted it gives its key back when it
// made no change, so that a retry runs again.
func (db *DB) DeleteIdempotency(ctx context.Context, id string) error {
	_, err := db.db.Collection(collIdempotency).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return mapError(err)
}

// DeleteExpiredIdempotency removes the records that expired before t.
func (db *DB) DeleteExpiredIdempotency(ctx context.Context, t time.Time) (int, error) {
	res, err := db.db.Collection(collIdempotency).DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: t}}}})
	if err != nil {
		return 0, mapError(err)
	}
	return int(res.DeletedCount), nil
}
