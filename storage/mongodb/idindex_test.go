package mongodb_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
)

// TestEmbeddedIndexesIDLookups: FerretDB looks documents up by an expression its own _id index
// does not match, so SQLite scanned every table on each lookup; the embedded store adds the
// index SQLite uses, to every collection, also to those of a database created again after a drop.
func TestEmbeddedIndexesIDLookups(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, err := mongodb.StartEmbedded(dir, "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()
	db, err := mongodb.Open(e.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })

	for round := range 2 {
		for i := range 50 {
			if err := mongodb.InsertForTest(ctx, db, "claims-2026-03-29", map[string]any{"_id": fmt.Sprintf("r%d|q|0", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := mongodb.IndexIDsForTest(ctx, e); err != nil {
			t.Fatal(err)
		}
		if plan := lookupPlan(t, dir, "claims-2026-03-29"); !strings.Contains(plan, "USING INDEX") {
			t.Fatalf("round %d: lookup plan %q, want an index search", round, plan)
		}
		var got map[string]any
		if err := mongodb.FindByIDForTest(ctx, db, "claims-2026-03-29", "r7|q|0", &got); err != nil || got["_id"] != "r7|q|0" {
			t.Fatalf("lookup: %v, %v", got, err)
		}
		if err := mongodb.InsertForTest(ctx, db, "claims-2026-03-29", map[string]any{"_id": "r7|q|0"}); apphub.ErrorCode(err) != apphub.ECONFLICT {
			t.Fatalf("duplicate insert: %v, want CONFLICT", err)
		}
		if err := mongodb.IndexIDsForTest(ctx, e); err != nil {
			t.Fatalf("second pass: %v", err)
		}
		// A database dropped and written again lives in a new file.
		if err := db.Drop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// lookupPlan is SQLite's plan for FerretDB's lookup by _id in coll's table.
func lookupPlan(t *testing.T, dir, coll string) string {
	t.Helper()
	sdb, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "apphub.sqlite")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var table string
	if err := sdb.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&table); err != nil {
		t.Fatalf("table of %s: %v", coll, err)
	}
	var id, parent, unused int
	var plan string
	q := fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = ?`, table)
	if err := sdb.QueryRow(q, `"x"`).Scan(&id, &parent, &unused, &plan); err != nil {
		t.Fatal(err)
	}
	return plan
}
