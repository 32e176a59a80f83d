package platform

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"log/slog"
)

// TestEmbeddedLookupsByIDUseAnIndex: after ensureIDIndexes, SQLite plans the
// engine's own lookup by _id as an index search (not a scan), and the
// answers are the same as before.
func TestEmbeddedLookupsByIDUseAnIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := OpenMongo(ctx, "", "idx", dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	coll := m.DB.Collection("things")
	var docs []any
	for i := range 500 {
		docs = append(docs, bson.M{"_id": fmt.Sprintf("t-%03d", i), "n": i})
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	engineDir := filepath.Join(dir, "mongo")
	if _, err := ensureIDIndexes(ctx, engineDir); err != nil {
		t.Fatal(err)
	}
	if n, err := ensureIDIndexes(ctx, engineDir); err != nil || n != 0 {
		t.Fatalf("a second round added %d (%v): it must add only what is missing", n, err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(engineDir, "idx.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var table string
	if err := db.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = 'things'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = ?`, table), `"t-250"`)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	rows.Close()
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX "+table+idIndexSuffix) {
		t.Fatalf("the lookup by _id is planned as %q", p)
	}
	var got bson.M
	if err := coll.FindOne(ctx, bson.M{"_id": "t-250"}).Decode(&got); err != nil || got["n"] != int32(250) {
		t.Fatalf("lookup after the index: %v %v", got, err)
	}
	if res, err := coll.UpdateOne(ctx, bson.M{"_id": "t-499"}, bson.M{"$set": bson.M{"n": -1}}); err != nil || res.ModifiedCount != 1 {
		t.Fatalf("update by _id after the index: %+v %v", res, err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "t-001"}); !IsDuplicateKey(err) {
		t.Fatalf("the unique _id still holds: %v", err)
	}
}
