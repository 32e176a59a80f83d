package platform_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

type claimDoc struct {
	ID     string `bson:"_id"`
	Holder string `bson:"holder"`
}

// judgeBy returns a Judge for holder me: its own documents are ours, those of
// holders dead says are dead are stale, the rest live.
func judgeBy(me string, dead func(string) bool) func(context.Context, claimDoc) (platform.ClaimVerdict, error) {
	return func(_ context.Context, cur claimDoc) (platform.ClaimVerdict, error) {
		switch {
		case cur.Holder == me:
			return platform.ClaimOurs, nil
		case dead(cur.Holder):
			return platform.ClaimStale, nil
		}
		return platform.ClaimLive, nil
	}
}

func noneDead(string) bool { return false }

func holderOf(t *testing.T, coll *mongo.Collection, id string) string {
	t.Helper()
	var d claimDoc
	if err := coll.FindOne(context.Background(), bson.M{"_id": id}).Decode(&d); err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return d.Holder
}

// race runs n claimers of key at once (holder "c<i>") and returns the holders
// that won.
func race(t *testing.T, n int, claim func(holder string) (bool, error)) []string {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := fmt.Sprintf("c%d", i)
			<-start
			ok, err := claim(me)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				winners = append(winners, me)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return winners
}

// TestClaimManyClaimersOneWinner: of many goroutines claiming one free key,
// exactly one holds it, and the document names it.
func TestClaimManyClaimersOneWinner(t *testing.T) {
	coll := platformtest.Mongo(t).Collection("claims")
	ctx := context.Background()
	for k := range 5 {
		key := fmt.Sprintf("key-%d", k)
		winners := race(t, 24, func(me string) (bool, error) {
			return platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
				Coll: coll, Doc: claimDoc{ID: key, Holder: me}, HolderField: "holder", Judge: judgeBy(me, noneDead),
			})
		})
		if len(winners) != 1 {
			t.Fatalf("%s: winners %v, want exactly one", key, winners)
		}
		if h := holderOf(t, coll, key); h != winners[0] {
			t.Fatalf("%s: held by %s, winner %s", key, h, winners[0])
		}
	}
}

// TestClaimTakesOverAStaleHolderOnce: many goroutines meet one stale holder;
// it is deleted exactly once and exactly one claimer ends up holding the key.
func TestClaimTakesOverAStaleHolderOnce(t *testing.T) {
	coll := platformtest.Mongo(t).Collection("claims")
	ctx := context.Background()
	for k := range 5 {
		key := fmt.Sprintf("key-%d", k)
		if _, err := coll.InsertOne(ctx, claimDoc{ID: key, Holder: "dead"}); err != nil {
			t.Fatal(err)
		}
		var repairs atomic.Int32
		winners := race(t, 24, func(me string) (bool, error) {
			return platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
				Coll: coll, Doc: claimDoc{ID: key, Holder: me}, HolderField: "holder",
				Judge: judgeBy(me, func(h string) bool { return h == "dead" }),
				Repaired: func(_ context.Context, stale claimDoc) {
					if stale.Holder != "dead" {
						t.Errorf("repaired %q, not the stale holder", stale.Holder)
					}
					repairs.Add(1)
				},
			})
		})
		if len(winners) != 1 || repairs.Load() != 1 {
			t.Fatalf("%s: winners %v and %d repairs, want one of each", key, winners, repairs.Load())
		}
		if h := holderOf(t, coll, key); h != winners[0] {
			t.Fatalf("%s: held by %s, winner %s", key, h, winners[0])
		}
	}
}

// TestClaimVerdicts: ours holds without writing, live does not hold, a
// Judge error is returned as is.
func TestClaimVerdicts(t *testing.T) {
	coll := platformtest.Mongo(t).Collection("claims")
	ctx := context.Background()
	if _, err := coll.InsertOne(ctx, claimDoc{ID: "k", Holder: "a"}); err != nil {
		t.Fatal(err)
	}
	claim := func(me string, judge func(context.Context, claimDoc) (platform.ClaimVerdict, error)) (bool, error) {
		return platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
			Coll: coll, Doc: claimDoc{ID: "k", Holder: me}, HolderField: "holder", Judge: judge,
		})
	}
	if ok, err := claim("a", judgeBy("a", noneDead)); !ok || err != nil {
		t.Fatalf("own claim = %v, %v", ok, err)
	}
	if ok, err := claim("b", judgeBy("b", noneDead)); ok || err != nil {
		t.Fatalf("claim of a live holder's key = %v, %v", ok, err)
	}
	boom := errors.New("boom")
	if _, err := claim("b", func(context.Context, claimDoc) (platform.ClaimVerdict, error) { return 0, boom }); err != boom {
		t.Fatalf("judge error = %v", err)
	}
	if _, err := claim("b", func(context.Context, claimDoc) (platform.ClaimVerdict, error) { return 0, nil }); err == nil {
		t.Fatal("a zero verdict was accepted")
	}
	if h := holderOf(t, coll, "k"); h != "a" {
		t.Fatalf("held by %s", h)
	}
	_, err := platform.Claim(ctx, platform.UniqueClaim[bson.M]{Coll: coll, Doc: bson.M{"holder": "x"}, HolderField: "holder",
		Judge: func(context.Context, bson.M) (platform.ClaimVerdict, error) { return platform.ClaimStale, nil }})
	if err == nil {
		t.Fatal("a document without _id was accepted")
	}
}

// TestClaimNeverDeletesAFreshHolder: a repairer that judged a holder stale
// and is slow to delete it does not delete the fresh holder that replaced it
// meanwhile; it meets that holder and answers "not held".
func TestClaimNeverDeletesAFreshHolder(t *testing.T) {
	coll := platformtest.Mongo(t).Collection("claims")
	ctx := context.Background()
	if _, err := coll.InsertOne(ctx, claimDoc{ID: "k", Holder: "dead"}); err != nil {
		t.Fatal(err)
	}
	judged := make(chan struct{})
	resume := make(chan struct{})
	type result struct {
		ok  bool
		err error
	}
	slow := make(chan result, 1)
	go func() {
		first := true
		ok, err := platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
			Coll: coll, Doc: claimDoc{ID: "k", Holder: "slow"}, HolderField: "holder",
			Judge: func(c context.Context, cur claimDoc) (platform.ClaimVerdict, error) {
				v, err := judgeBy("slow", func(h string) bool { return h == "dead" })(c, cur)
				if first {
					first = false
					close(judged)
					<-resume
				}
				return v, err
			},
		})
		slow <- result{ok, err}
	}()
	<-judged
	// Meanwhile another repairer takes the key over.
	ok, err := platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
		Coll: coll, Doc: claimDoc{ID: "k", Holder: "fast"}, HolderField: "holder",
		Judge: judgeBy("fast", func(h string) bool { return h == "dead" }),
	})
	if !ok || err != nil {
		t.Fatalf("fast claim = %v, %v", ok, err)
	}
	close(resume)
	r := <-slow
	if r.ok || r.err != nil {
		t.Fatalf("slow claim = %v, %v; want not held", r.ok, r.err)
	}
	if h := holderOf(t, coll, "k"); h != "fast" {
		t.Fatalf("held by %s: the fresh holder was deleted", h)
	}
}

// TestClaimEndsWithAFinalInsert: after its last allowed repair a claim
// inserts once more, and holds the key when nothing is in the way.
func TestClaimEndsWithAFinalInsert(t *testing.T) {
	coll := platformtest.Mongo(t).Collection("claims")
	ctx := context.Background()
	if _, err := coll.InsertOne(ctx, claimDoc{ID: "k", Holder: "dead"}); err != nil {
		t.Fatal(err)
	}
	ok, err := platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
		Coll: coll, Doc: claimDoc{ID: "k", Holder: "me"}, HolderField: "holder", MaxRepairs: 1,
		Judge: judgeBy("me", func(h string) bool { return h == "dead" }),
	})
	if !ok || err != nil {
		t.Fatalf("claim after one repair = %v, %v", ok, err)
	}
	if h := holderOf(t, coll, "k"); h != "me" {
		t.Fatalf("held by %s", h)
	}
}

// TestClaimContended: when stale holders keep appearing, a claim deletes
// MaxRepairs of them, inserts a final time, and answers ErrClaimContended
// when that insert meets yet another stale holder (which it leaves).
func TestClaimContended(t *testing.T) {
	coll := platformtest.Mongo(t).Collection("claims")
	ctx := context.Background()
	if _, err := coll.InsertOne(ctx, claimDoc{ID: "k", Holder: "dead0"}); err != nil {
		t.Fatal(err)
	}
	var judged, repaired int
	ok, err := platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
		Coll: coll, Doc: claimDoc{ID: "k", Holder: "me"}, HolderField: "holder", MaxRepairs: 2,
		Judge: func(c context.Context, cur claimDoc) (platform.ClaimVerdict, error) {
			judged++
			return judgeBy("me", func(h string) bool { return h != "me" })(c, cur)
		},
		Repaired: func(context.Context, claimDoc) {
			// another stale holder slips in before our next insert
			repaired++
			if _, err := coll.InsertOne(ctx, claimDoc{ID: "k", Holder: fmt.Sprintf("dead%d", repaired)}); err != nil {
				t.Error(err)
			}
		},
	})
	if ok || !errors.Is(err, platform.ErrClaimContended) {
		t.Fatalf("claim = %v, %v; want ErrClaimContended", ok, err)
	}
	if judged != 3 || repaired != 2 {
		t.Fatalf("judged %d, repaired %d; want 3 and 2", judged, repaired)
	}
	if h := holderOf(t, coll, "k"); h != "dead2" {
		t.Fatalf("held by %s", h)
	}
}
