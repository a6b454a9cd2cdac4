package mongodb

import (
	"context"
	"crypto/rand"
)

type secretDoc struct {
	ID  string `bson:"_id"`
	Key []byte `bson:"key"`
}

// Secret returns the installation's secret of that name: 32 random bytes made by the first hub
// that asks, read by every other (an insert keyed by _id decides which hub's bytes they are).
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	id := "secret:" + name
	var doc secretDoc
	err := db.readOrInsert(ctx, collMeta, id, &doc, func() any {
		doc = secretDoc{ID: id, Key: make([]byte, 32)}
		rand.Read(doc.Key)
		return doc
	})
	if err != nil {
		return nil, err
	}
	return doc.Key, nil
}
