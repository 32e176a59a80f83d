package platformtest

import (
	"context"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// TestUniqueIDIsTheArbiter proves on the embedded engine what invariant 1 relies
// on: of many concurrent inserts of one _id exactly one wins and the others get
// a duplicate-key error.
func TestUniqueIDIsTheArbiter(t *testing.T) {
	db := Mongo(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, dups := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Collection("seats").InsertOne(ctx, bson.M{"_id": "slot1#0", "by": i})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case platform.IsDuplicateKey(err):
				dups++
			default:
				t.Errorf("insert: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || dups != 39 {
		t.Fatalf("wins=%d dups=%d, want 1 and 39", wins, dups)
	}
}

// TestConditionalUpdateIsAtomic proves findOneAndUpdate with a filter is atomic
// on the embedded engine with the single-connection pool.
func TestConditionalUpdateIsAtomic(t *testing.T) {
	db := Mongo(t)
	ctx := context.Background()
	c := db.Collection("counters")
	if _, err := c.InsertOne(ctx, bson.M{"_id": "x", "left": 5}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.FindOneAndUpdate(ctx, bson.M{"_id": "x", "left": bson.M{"$gt": 0}},
				bson.M{"$inc": bson.M{"left": -1}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Err()
			if err == nil {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 5 {
		t.Fatalf("%d decrements succeeded, want 5", got)
	}
}

func TestRedisPrefixIsolated(t *testing.T) {
	c, p1 := Redis(t)
	_, p2 := Redis(t)
	if p1 == p2 {
		t.Fatal("prefixes must differ")
	}
	if err := c.Set(context.Background(), p1+"k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
}
