package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/apphub/apphub"
)

// API keys are kept under the hash of the key ("_id"), never the key itself. A revocation is a
// record of its own, inserted once: an update of the key's document could be lost to a
// concurrent one on the embedded store (its updates are not atomic), and a lost revocation
// would leave a key working.
const (
	collAPIKeys           = "apikeys"
	collAPIKeyRevocations = "apikeyRevocations"
)

type revocationDoc struct {
	ID        string    `bson:"_id"` // the key's id
	RevokedAt time.Time `bson:"revokedAt"`
}

type apiKeyDoc struct {
	ID         string    `bson:"_id"`
	Name       string    `bson:"name"`
	Role       string    `bson:"role"`
	Parties    []string  `bson:"parties,omitempty"`
	CreatedBy  string    `bson:"createdBy,omitempty"`
	CreatedAt  time.Time `bson:"createdAt"`
	LastUsedAt time.Time `bson:"lastUsedAt,omitempty"`
}

func (d apiKeyDoc) apiKey() apphub.APIKey {
	return apphub.APIKey{ID: d.ID, Name: d.Name, Role: d.Role, Parties: d.Parties, CreatedBy: d.CreatedBy,
		CreatedAt: utc(d.CreatedAt), LastUsedAt: utc(d.LastUsedAt)}
}

// InsertAPIKey records a new key; ECONFLICT when its hash is taken.
func (db *DB) InsertAPIKey(ctx context.Context, k apphub.APIKey) error {
	return db.insert(ctx, collAPIKeys, apiKeyDoc{ID: k.ID, Name: k.Name, Role: k.Role, Parties: k.Parties,
		CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt})
}

// GetAPIKey reads a key by its hash, with its revocation if any, or fails with ENOTFOUND.
func (db *DB) GetAPIKey(ctx context.Context, id string) (apphub.APIKey, error) {
	var d apiKeyDoc
	if err := db.findByID(ctx, collAPIKeys, id, &d); err != nil {
		return apphub.APIKey{}, err
	}
	k := d.apiKey()
	var r revocationDoc
	switch err := db.findByID(ctx, collAPIKeyRevocations, id, &r); apphub.ErrorCode(err) {
	case "":
		k.RevokedAt = utc(r.RevokedAt)
	case apphub.ENOTFOUND:
	default:
		return apphub.APIKey{}, err
	}
	return k, nil
}

// ListAPIKeys scans the keys and their revocations.
func (db *DB) ListAPIKeys(ctx context.Context) ([]apphub.APIKey, error) {
	keys, err := scanAll(ctx, db, collAPIKeys, bson.D{}, apiKeyDoc.apiKey)
	if err != nil {
		return nil, err
	}
	revoked, err := scanAll(ctx, db, collAPIKeyRevocations, bson.D{}, func(r revocationDoc) revocationDoc { return r })
	if err != nil {
		return nil, err
	}
	at := make(map[string]time.Time, len(revoked))
	for _, r := range revoked {
		at[r.ID] = utc(r.RevokedAt)
	}
	for i := range keys {
		keys[i].RevokedAt = at[keys[i].ID]
	}
	return keys, nil
}

// RevokeAPIKey records that a key no longer works; revoking it again changes nothing.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	err := db.insert(ctx, collAPIKeyRevocations, revocationDoc{ID: id, RevokedAt: at})
	if apphub.ErrorCode(err) == apphub.ECONFLICT {
		return nil
	}
	return err
}

// TouchAPIKey records a key's last use; a lost write only makes it look older.
func (db *DB) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := db.db.Collection(collAPIKeys).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastUsedAt", Value: at}}}})
	return mapError(err)
}
