package mongodb_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
)

func TestInstallationIsCreatedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	uri, database := storetest.MongoURI(t)
	ctx := context.Background()

	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Each goroutine is its own hub instance with its own client.
			db, err := mongodb.Open(uri, database)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close(ctx)
			inst, err := db.Installation(ctx)
			ids[i], errs[i] = inst.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("instance %d saw installation %q, instance 0 saw %q", i, ids[i], ids[0])
		}
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()

	t.Run("duplicate _id is a conflict", func(t *testing.T) {
		doc := map[string]any{"_id": "claim|r1|2026-03-29T01:00:00Z|0"}
		if err := mongodb.InsertForTest(ctx, db, "claims", doc); err != nil {
			t.Fatal(err)
		}
		err := mongodb.InsertForTest(ctx, db, "claims", doc)
		if code := apphub.ErrorCode(err); code != apphub.ECONFLICT {
			t.Fatalf("second insert: code %q (%v), want %q", code, err, apphub.ECONFLICT)
		}
	})
	t.Run("missing _id is not found", func(t *testing.T) {
		var out map[string]any
		err := mongodb.FindByIDForTest(ctx, db, "claims", "nope", &out)
		if code := apphub.ErrorCode(err); code != apphub.ENOTFOUND {
			t.Fatalf("code %q (%v), want %q", code, err, apphub.ENOTFOUND)
		}
	})
	t.Run("unreachable server is unavailable", func(t *testing.T) {
		dead, err := mongodb.Open("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300", "x")
		if err != nil {
			t.Fatal(err)
		}
		defer dead.Close(ctx)
		err = dead.Ping(ctx)
		if code := apphub.ErrorCode(err); code != apphub.EUNAVAILABLE {
			t.Fatalf("code %q (%v), want %q", code, err, apphub.EUNAVAILABLE)
		}
		if msg := apphub.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") {
			t.Fatalf("message leaks the address: %q", msg)
		}
	})
	t.Run("cancelled request is unavailable", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if code := apphub.ErrorCode(db.Ping(cctx)); code != apphub.EUNAVAILABLE {
			t.Fatalf("code %q, want %q", code, apphub.EUNAVAILABLE)
		}
	})
	t.Run("bad URI is invalid", func(t *testing.T) {
		_, err := mongodb.Open("postgres://nope", "x")
		if code := apphub.ErrorCode(err); code != apphub.EINVALID {
			t.Fatalf("code %q (%v), want %q", code, err, apphub.EINVALID)
		}
	})
}

// The unique _id is the one guarantee the embedded store keeps under concurrency (docs/design.md);
// every exclusive fact of the hub rests on it, so it is checked here against the real store.
func TestUniqueIDHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	db := storetest.Mongo(t)
	ctx := context.Background()
	const n = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Go(func() {
			err := mongodb.InsertForTest(ctx, db, "claims", map[string]any{"_id": "r1|q|0", "owner": fmt.Sprint(i)})
			switch apphub.ErrorCode(err) {
			case "":
				mu.Lock()
				wins++
				mu.Unlock()
			case apphub.ECONFLICT:
			default:
				t.Errorf("insert %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d inserts of one _id succeeded, want exactly 1", wins)
	}
}

func TestEmbeddedLockAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()

	first, err := mongodb.StartEmbedded(dir, "127.0.0.1:0", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mongodb.StartEmbedded(dir, "127.0.0.1:0", quiet); err == nil || !strings.Contains(err.Error(), "in use by another apphub process") {
		t.Fatalf("second start on a locked directory: %v, want an in-use error", err)
	}
	db, err := mongodb.Open(first.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := db.Installation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close(ctx)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second, err := mongodb.StartEmbedded(dir, "127.0.0.1:0", quiet)
	if err != nil {
		t.Fatalf("restart after close: %v", err)
	}
	defer second.Close()
	db, err = mongodb.Open(second.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	again, err := db.Installation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != inst.ID || !again.CreatedAt.Equal(inst.CreatedAt) {
		t.Fatalf("after restart: %+v, want %+v", again, inst)
	}
}
