package mongodb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
)

// One store serves a PostgreSQL database: a second refuses to start (FerretDB front ends do not
// share their metadata), and once the first is gone the next one serves what it wrote. Inserts
// of one _id racing through the store have exactly one winner.
func TestServerOnPostgreSQL(t *testing.T) {
	t.Parallel()
	// A pool parameter of FerretDB's in the URL is the pool's: the lock's own connection does
	// not send it to PostgreSQL (which would refuse it).
	u, err := url.Parse(storetest.PostgreSQL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "10")
	u.RawQuery = q.Encode()
	pg := u.String()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := mongodb.StartServer(ctx, pg, "127.0.0.1:0", logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mongodb.StartServer(ctx, pg, "127.0.0.1:0", logger); !errors.Is(err, mongodb.ErrFrontEndTaken) {
		t.Fatalf("a second store on the same database: %v, want ErrFrontEndTaken", err)
	}

	db, err := mongodb.Open(a.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := mongodb.InsertForTest(ctx, db, "claims", map[string]any{"_id": "tech-1|2027-03-02T09:00", "by": i})
			switch {
			case err == nil:
				wins.Add(1)
			case apphub.ErrorCode(err) != apphub.ECONFLICT:
				t.Errorf("insert %d: %v, want success or a conflict", i, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of 40 inserts of one _id succeeded, want exactly 1", wins.Load())
	}
	db.Close(ctx)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := mongodb.StartServer(ctx, pg, "127.0.0.1:0", logger)
	if err != nil {
		t.Fatalf("a store after the first stopped: %v", err)
	}
	defer b.Close()
	db, err = mongodb.Open(b.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var got map[string]any
	if err := mongodb.FindByIDForTest(ctx, db, "claims", "tech-1|2027-03-02T09:00", &got); err != nil {
		t.Fatalf("the next store reads what the first wrote: %v", err)
	}
}

// A store whose PostgreSQL connection is cut loses its lock; when another store took the lock
// meanwhile, it stops (Lost), rather than serve beside it.
func TestServerStopsWhenItsLockIsTaken(t *testing.T) {
	t.Parallel()
	pg := storetest.PostgreSQL(t)
	ctx := context.Background()
	s, err := mongodb.StartServer(ctx, pg, "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Cut the store's lock connection and take the lock before the store takes it again.
	deadline := time.Now().Add(10 * time.Second)
	for taken := false; !taken; {
		if time.Now().After(deadline) {
			t.Fatal("could not take the store's lock")
		}
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()`+
			` AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", mongodb.FrontEndLock).Scan(&taken); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-s.Lost():
		if !errors.Is(err, mongodb.ErrFrontEndTaken) {
			t.Fatalf("lost: %v, want ErrFrontEndTaken", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the store went on serving while another held its lock")
	}
}

// PostgreSQL down under the store is an outage (UNAVAILABLE), not an internal error, and once it
// is back the store serves again and holds its lock, with no restart.
func TestServerAcrossAPostgreSQLRestart(t *testing.T) {
	t.Parallel()
	pg := storetest.StartPostgreSQLServer(t)
	pg.CreateDatabase("apphub")
	ctx := context.Background()
	s, err := mongodb.StartServer(ctx, pg.URL("apphub"), "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := mongodb.Open(s.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if err := mongodb.InsertForTest(ctx, db, "claims", map[string]any{"_id": "before"}); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	if err := mongodb.InsertForTest(ctx, db, "claims", map[string]any{"_id": "during"}); apphub.ErrorCode(err) != apphub.EUNAVAILABLE {
		t.Fatalf("an insert with PostgreSQL down: %v, want UNAVAILABLE", err)
	}
	pg.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := mongodb.InsertForTest(ctx, db, "claims", map[string]any{"_id": "after"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after PostgreSQL came back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// It takes its lock again within a second or two of PostgreSQL's return; a second store
	// is refused once it has.
	conn, err := pgx.Connect(ctx, pg.URL("apphub"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for locks := 0; locks == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the store did not take its lock again")
		}
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").Scan(&locks); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := mongodb.StartServer(ctx, pg.URL("apphub"), "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil))); !errors.Is(err, mongodb.ErrFrontEndTaken) {
		t.Fatalf("a second store after the restart: %v, want ErrFrontEndTaken (the first took its lock again)", err)
	}
}
