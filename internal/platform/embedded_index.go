package platform

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the embedded engine's own SQLite driver, to add the _id index it lacks
)

// The embedded engine (FerretDB 1.24 on SQLite) finds a document by _id with
// `WHERE _ferretdb_sjson->'$._id' = ?` but indexes _id as
// `_ferretdb_sjson->"_id"`: the two expressions differ, so SQLite scans the
// whole table for every lookup by _id — the one lookup the engine pushes
// down at all. keepIDIndexes gives every collection's table an index on the
// very expression the lookups use. An index changes no answer (FerretDB
// neither knows nor needs it; dropping a collection drops its table and the
// index with it); it turns each lookup by _id from a scan of the collection
// into a B-tree search. Production's MongoDB has none of this.

// idIndexSuffix names the added indexes ("<table>_banshi_id").
const idIndexSuffix = "_banshi_id"

// ensureIDIndexes adds the index to every collection table of every
// database file in dir that lacks it, and returns how many it added.
func ensureIDIndexes(ctx context.Context, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return 0, err
	}
	added := 0
	for _, f := range files {
		n, err := ensureIDIndexesIn(ctx, f)
		added += n
		if err != nil {
			return added, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
	}
	return added, nil
}

func ensureIDIndexesIn(ctx context.Context, file string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Tables FerretDB lists (its metadata) that have no index of ours yet.
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?)
		AND EXISTS (SELECT 1 FROM sqlite_master t WHERE t.type = 'table' AND t.name = c.table_name)`, idIndexSuffix)
	if err != nil {
		return 0, nil // a database file being created or dropped: the next round sees it
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	added := 0
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+idIndexSuffix, t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			continue // dropped meanwhile, or busy: the next round
		}
		added++
	}
	return added, nil
}

// keepIDIndexes runs ensureIDIndexes now and then every period until ctx
// ends (collections are created at their first write, at any time).
func keepIDIndexes(ctx context.Context, dir string, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if _, err := ensureIDIndexes(ctx, dir); err != nil && ctx.Err() == nil {
			log.Debug("embedded engine: _id index not added yet", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
