// Package mongodb is the hub's MongoDB store. It serves MongoDB and the embedded FerretDB
// alike, so it relies only on what both guarantee: `_id` uniqueness decides every exclusive
// fact (see docs/design.md, "MongoDB: what the embedded store guarantees"). Driver errors never leave this package: they are
// mapped to apphub error codes.
package mongodb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/apphub/apphub"
)

// Collection names.
const (
	collMeta = "meta"
)

// DB is a connection to one MongoDB database.
type DB struct {
	client *mongo.Client
	db     *mongo.Database

	claimsMu    sync.Mutex  // one move of the legacy claims at a time
	claimsMoved atomic.Bool // the legacy claims collection is gone (claimsReady, appointments.go)
}

// Open prepares a client for uri and database. It does not wait for the server: the driver
// connects in the background and reconnects by itself, so a hub can start while MongoDB is
// down and become ready when it returns. Options add instrumentation (WithTracerProvider).
func Open(uri, database string, with ...OpenOption) (*DB, error) {
	if database == "" {
		return nil, apphub.FieldError("database", "must not be empty")
	}
	// Defaults first, so that options in the URI win.
	// A burst of bookings after a quiet spell finds the pool nearly empty: the driver opens
	// two connections at a time by default, and a booking waiting for one gives up after the
	// server selection timeout (5 s), which a burst of 100 reached on a loaded machine. Up to 16
	// are opened at once.
	opts := options.Client().
		SetServerSelectionTimeout(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetMaxConnecting(16).
		SetAppName("apphub").
		ApplyURI(uri)
	var oc openConfig
	for _, o := range with {
		o(&oc)
	}
	if oc.tracerProvider != nil {
		opts.SetMonitor(newCommandMonitor(oc.tracerProvider))
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, apphub.WrapError(apphub.EINVALID, err, "invalid MongoDB URI")
	}
	return &DB{client: client, db: client.Database(database)}, nil
}

// Close disconnects the client.
func (db *DB) Close(ctx context.Context) error {
	return mapError(db.client.Disconnect(ctx))
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return mapError(db.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err())
}

// Drop removes the whole database; tests use it to clean up after themselves.
func (db *DB) Drop(ctx context.Context) error {
	return mapError(db.db.Drop(ctx))
}

// insert stores doc as a new document. A document with the same _id makes it fail with
// ECONFLICT: this is how every exclusive fact is decided.
func (db *DB) insert(ctx context.Context, coll string, doc any) error {
	_, err := db.db.Collection(coll).InsertOne(ctx, doc)
	return mapError(err)
}

// findByID decodes the document with the given _id into out, or fails with ENOTFOUND.
func (db *DB) findByID(ctx context.Context, coll string, id any, out any) error {
	return mapError(db.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out))
}

type installationDoc struct {
	ID             string    `bson:"_id"`
	InstallationID string    `bson:"installationId"`
	CreatedAt      time.Time `bson:"createdAt"`
}

// Installation returns the identity of this database's data, creating it on first use. When
// several hubs start at once on an empty database, the _id decides which identity is kept and
// all of them return it.
func (db *DB) Installation(ctx context.Context) (apphub.Installation, error) {
	var doc installationDoc
	err := db.readOrInsert(ctx, collMeta, "installation", &doc, func() any {
		doc = installationDoc{ID: "installation", InstallationID: rand.Text(), CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		return doc
	})
	if err != nil {
		return apphub.Installation{}, err
	}
	return apphub.Installation{ID: doc.InstallationID, CreatedAt: doc.CreatedAt.UTC()}, nil
}

// readOrInsert reads the document id of coll into out; when there is none it inserts what
// fresh returns — fresh also sets out to it — and when another instance inserted first, reads
// that one: every instance ends with the document of the first insert.
func (db *DB) readOrInsert(ctx context.Context, coll, id string, out any, fresh func() any) error {
	err := db.findByID(ctx, coll, id, out)
	if apphub.ErrorCode(err) != apphub.ENOTFOUND {
		return err
	}
	if err = db.insert(ctx, coll, fresh()); apphub.ErrorCode(err) == apphub.ECONFLICT {
		err = db.findByID(ctx, coll, id, out)
	}
	return err
}

// mapError turns a driver error into an apphub error; nil stays nil.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var sse topology.ServerSelectionError
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return apphub.WrapError(apphub.ENOTFOUND, err, "not found")
	case mongo.IsDuplicateKeyError(err):
		return apphub.WrapError(apphub.ECONFLICT, err, "already exists")
	case errors.Is(err, context.Canceled):
		return apphub.WrapError(apphub.EUNAVAILABLE, err, "request cancelled")
	case mongo.IsTimeout(err), mongo.IsNetworkError(err), errors.As(err, &sse),
		errors.Is(err, mongo.ErrClientDisconnected), errors.Is(err, context.DeadlineExceeded):
		return apphub.WrapError(apphub.EUNAVAILABLE, err, "MongoDB is unavailable")
	case backendOutage(err):
		return apphub.WrapError(apphub.EUNAVAILABLE, err, "MongoDB is unavailable: its PostgreSQL cannot be reached")
	default:
		return apphub.WrapError(apphub.EINTERNAL, err, "MongoDB error: %s", describe(err))
	}
}

// backendOutages are what FerretDB on PostgreSQL says, in an InternalError (code 1), when its
// PostgreSQL is down, restarting or does not answer in time (pgx's and PostgreSQL's words): an
// outage, not a fault of the request.
var backendOutages = []string{"connection refused", "dial error", "failed to connect", "i/o timeout", "conn closed", "unexpected EOF",
	"the database system is shutting down", "the database system is starting up", "terminating connection"}

func backendOutage(err error) bool {
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 1 {
		return false
	}
	for _, s := range backendOutages {
		if strings.Contains(ce.Message, s) {
			return true
		}
	}
	return false
}

// describe names the server's error code, which helps an operator without leaking data.
func describe(err error) string {
	var se mongo.ServerError
	if errors.As(err, &se) {
		var ce mongo.CommandError
		if errors.As(err, &ce) {
			return fmt.Sprintf("command error %d (%s)", ce.Code, ce.Name)
		}
		return "server error"
	}
	return "driver error"
}
