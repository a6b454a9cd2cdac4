package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/jackc/pgx/v5"
)

// frontEndLock is the PostgreSQL advisory lock that one store process holds on its database.
// FerretDB 1.24 caches its metadata in each process, so two FerretDB front ends on one
// PostgreSQL database are not coherent: a collection created through one is unknown to the
// other, whose inserts then fail and whose reads see nothing — a claim written through one would
// be invisible to a search through the other. One front end per database, then, and the lock
// makes a second one refuse to start. (The value is arbitrary; it names apphub's store.)
const frontEndLock int64 = 0x61707068_75627374 // "apphubst"

// ErrFrontEndTaken is why a store does not start, or stops: another one serves the database.
var ErrFrontEndTaken = errors.New("another apphub store serves this PostgreSQL database " +
	"(FerretDB front ends do not share their metadata: run one store process per database, and point every hub at it)")

// Server is FerretDB on PostgreSQL as a process of its own: the one MongoDB-wire store that
// several hub processes share (apphub store).
type Server struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	lost   chan error
}

// StartServer takes the database's front-end lock and starts FerretDB on postgresURL,
// listening on addr. It fails with ErrFrontEndTaken when another store serves the database.
func StartServer(ctx context.Context, postgresURL, addr string, logger *slog.Logger) (*Server, error) {
	lock, err := lockFrontEnd(ctx, postgresURL)
	if err != nil {
		return nil, err
	}
	newFerretDB.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: addr},
		Handler:       "postgresql",
		PostgreSQLURL: postgresURL,
		Logger:        logger,
	})
	newFerretDB.Unlock()
	if err != nil {
		lock.Close(context.Background())
		return nil, fmt.Errorf("FerretDB on PostgreSQL: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Server{cancel: cancel, done: make(chan struct{}), lost: make(chan error, 1)}
	ferretDone := make(chan struct{})
	go func() {
		defer close(ferretDone)
		f.Run(runCtx)
	}()
	go func() {
		defer close(s.done)
		if err := keepFrontEnd(runCtx, postgresURL, lock, logger); err != nil {
			s.lost <- err
		}
		<-ferretDone
	}()
	s.uri = f.MongoDBURI()
	return s, nil
}

// URI is the MongoDB connection string of the server.
func (s *Server) URI() string { return s.uri }

// Lost reports the error that ended the server's claim on its database: another store took it
// while PostgreSQL was out of reach. The server must stop then.
func (s *Server) Lost() <-chan error { return s.lost }

// Close stops the server and releases the lock.
func (s *Server) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// lockFrontEnd opens the connection that holds the lock (a session lock: it lasts as long as
// the connection) and takes it.
func lockFrontEnd(ctx context.Context, postgresURL string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, withoutPoolParams(postgresURL))
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", frontEndLock).Scan(&locked); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("PostgreSQL: take the store's lock: %w", err)
	}
	if !locked {
		conn.Close(context.Background())
		return nil, ErrFrontEndTaken
	}
	return conn, nil
}

// withoutPoolParams is a PostgreSQL URL without the pool_* parameters (pool_max_conns, …) that
// FerretDB's connection pool reads: a single connection would send them to the server, which
// refuses unknown parameters.
func withoutPoolParams(postgresURL string) string {
	u, err := url.Parse(postgresURL)
	if err != nil {
		return postgresURL // pgx reports it
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// keepFrontEnd holds the lock until ctx ends. PostgreSQL restarted (or the connection lost)
// releases it; the store takes it again once PostgreSQL answers, and stops with
// ErrFrontEndTaken if another store took it meanwhile. FerretDB reconnects by itself.
func keepFrontEnd(ctx context.Context, postgresURL string, conn *pgx.Conn, logger *slog.Logger) error {
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if conn != nil {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err == nil || ctx.Err() != nil {
				continue
			}
			logger.Warn("store: lost PostgreSQL, and with it the store's lock; taking it again when PostgreSQL answers", "err", err)
			conn.Close(context.Background())
			conn = nil
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := lockFrontEnd(lctx, postgresURL)
		cancel()
		switch {
		case errors.Is(err, ErrFrontEndTaken):
			return err
		case err == nil:
			conn = c
			logger.Info("store: PostgreSQL answers again; the store's lock is held")
		}
	}
}
