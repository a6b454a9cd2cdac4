package mongodb

import "context"

// Exported for the external tests of the error mapping.

func InsertForTest(ctx context.Context, db *DB, coll string, doc any) error {
	return db.insert(ctx, coll, doc)
}

func FindByIDForTest(ctx context.Context, db *DB, coll string, id, out any) error {
	return db.findByID(ctx, coll, id, out)
}

func CollectionsForTest(ctx context.Context, db *DB) ([]string, error) {
	return db.db.ListCollectionNames(ctx, map[string]any{})
}

func IndexIDsForTest(ctx context.Context, e *Embedded) error {
	return e.indexer.indexAll(ctx)
}

const FrontEndLock = frontEndLock
