package mongodb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself registers; named here because we open its files
)

// idIndexInterval is how soon a collection FerretDB created gets its _id index: until then,
// lookups in it scan, which costs little while it is new and small.
const idIndexInterval = time.Second

// idIndexSuffix names the index of a table: FerretDB names its own indexes table_name.
const idIndexSuffix = "_apphub_id"

// idIndexer gives every table of the embedded store an index that SQLite uses for FerretDB's
// _id lookups. FerretDB 1.24 creates its unique _id index on `_ferretdb_sjson->"_id"` but looks
// documents up by `_ferretdb_sjson->'$._id'`; SQLite matches index expressions exactly, so every
// lookup by _id scanned the table and parsed each document's JSON (5,000 claims: 3.3 ms a
// lookup, 0.2 ms with this index). FerretDB's own index still decides uniqueness; this one only
// serves lookups, and goes with its table when FerretDB drops or renames it.
type idIndexer struct {
	dir    string
	logger *slog.Logger
}

func newIDIndexer(dir string, logger *slog.Logger) *idIndexer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &idIndexer{dir: dir, logger: logger}
}

// run indexes the tables of every database now and then at each interval, until ctx ends.
func (x *idIndexer) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := x.indexAll(ctx); err != nil && ctx.Err() == nil {
			x.logger.Warn("embedded store: cannot index _id lookups", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// indexAll gives each table of each database file the lookup index it lacks.
func (x *idIndexer) indexAll(ctx context.Context) error {
	paths, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, path := range paths {
		err := indexFile(ctx, path)
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			continue // dropped meanwhile
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// indexFile indexes the tables of one database that are not yet. What is indexed is read from
// the file each time, and the file is open only meanwhile: FerretDB removes a dropped
// database's file and a new one may take its name (and its inode), and a connection kept open
// would keep the old file's write-ahead log for the new one.
func indexFile(ctx context.Context, path string) error {
	// mode=rw: a file removed meanwhile is not created again. The busy timeout is FerretDB's
	// own: wait for its writers rather than fail.
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	tables, err := column(ctx, db, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // FerretDB has not set the file up yet
		}
		return err
	}
	indexes, err := column(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return err
	}
	for _, table := range tables {
		index := table + idIndexSuffix
		if slices.Contains(indexes, index) {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`, quoteIdent(index), quoteIdent(table))
		if _, err := db.ExecContext(ctx, q); err != nil && !strings.Contains(err.Error(), "no such table") {
			return err // (a table dropped since the list was read has nothing to index)
		}
	}
	return nil
}

// column reads the one column of a query's rows.
func column(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
