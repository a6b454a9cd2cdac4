package mongodb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/gofrs/flock"
)

// Embedded is an in-process FerretDB on SQLite that speaks the MongoDB wire protocol on
// loopback. Its data directory is locked so that two processes never share it.
type Embedded struct {
	uri     string
	cancel  context.CancelFunc
	done    chan struct{}
	lock    *flock.Flock
	indexer *idIndexer
}

// newFerretDB serializes ferretdb.New, which writes a process-wide value (the version's package
// name) on every call: servers started at once in one process (tests do) would race on it.
var newFerretDB sync.Mutex

// StartEmbedded starts FerretDB with its data in dir (created if missing), listening on addr
// (a loopback address; "127.0.0.1:0" picks a free port). It fails with a clear message when
// another process holds dir.
func StartEmbedded(dir, addr string, logger *slog.Logger) (*Embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %q: %w", abs, err)
	}
	lock := flock.New(filepath.Join(abs, "apphub.lock"))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("data directory %q: cannot lock: %w", abs, err)
	}
	if !locked {
		return nil, fmt.Errorf("data directory %q is in use by another apphub process; stop it or choose another --data-dir", abs)
	}

	newFerretDB.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/",
		Logger:    logger,
	})
	newFerretDB.Unlock()
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("embedded FerretDB: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{cancel: cancel, done: make(chan struct{}), lock: lock, indexer: newIDIndexer(abs, logger)}
	ferretDone := make(chan struct{})
	go func() {
		defer close(ferretDone)
		f.Run(ctx)
	}()
	go func() {
		defer close(e.done)
		e.indexer.run(ctx, idIndexInterval)
		<-ferretDone
	}()
	// MongoDBURI waits until the listener is bound.
	e.uri = f.MongoDBURI()
	return e, nil
}

// URI is the MongoDB connection string of the embedded server.
func (e *Embedded) URI() string { return e.uri }

// Close stops the server, waits for it to flush and close SQLite, and releases the lock.
func (e *Embedded) Close() error {
	e.cancel()
	<-e.done
	return e.lock.Unlock()
}
