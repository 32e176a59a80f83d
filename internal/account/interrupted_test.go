package account

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// cancellingClock is a ManualClock that cancels a request as soon as the
// ID-number claim of a user is in the database: the client hung up right
// after the claim was inserted.
type cancellingClock struct {
	*platform.ManualClock
	claims *mongo.Collection
	userID string
	cancel context.CancelFunc
	fired  atomic.Bool
}

func (c *cancellingClock) Now() time.Time {
	if !c.fired.Load() {
		if n, _ := c.claims.CountDocuments(context.Background(), bson.M{"user_id": c.userID}); n > 0 {
			c.fired.Store(true)
			c.cancel()
		}
	}
	return c.ManualClock.Now()
}

// TestCancelledRaiseLeavesNoClaimBehind: a request cancelled between the
// claim of the ID number and the update of the user used to leave the claim
// behind, and the number then answered realname_taken to everybody else for
// good. The raise must either complete or release what it claimed.
func TestCancelledRaiseLeavesNoClaimBehind(t *testing.T) {
	e := newStoreEnv(t)
	u, other := e.newUser(t), e.newUser(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := &cancellingClock{ManualClock: e.clock, claims: e.db.Collection(collClaims), userID: u.ID, cancel: cancel}
	s := NewStore(e.db, e.store.cipher, clock)

	_, err := s.RaiseLevel(ctx, u.ID, idA, 2)
	if !clock.fired.Load() {
		t.Fatal("the request was never cancelled after the claim")
	}
	bg := context.Background()
	got, gerr := e.store.Get(bg, u.ID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	held := e.count(t, collClaims, bson.M{"user_id": u.ID})
	switch {
	case err == nil && (!got.HasIdentity || held != 1):
		t.Fatalf("raise reported success but identity %v, %d claims", got.HasIdentity, held)
	case err != nil && (got.HasIdentity || held != 0):
		t.Fatalf("cancelled raise (%v) left identity %v and %d claims behind", err, got.HasIdentity, held)
	}
	if err != nil {
		// Nothing was recorded: the number is free for its owner.
		if _, err := e.store.RaiseLevel(bg, other.ID, idA, 2); err != nil {
			t.Fatalf("number blocked after a cancelled raise: %v", err)
		}
	}
}

// TestAbandonedClaimIsTakenOverAfterAWhile: a claim whose holder never
// recorded the identity (the process died between the two steps) keeps the
// number for its holder's retry for a while, then no longer blocks anybody.
func TestAbandonedClaimIsTakenOverAfterAWhile(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	crashed, owner := e.newUser(t), e.newUser(t)
	idx := e.store.cipher.BlindIndex(kindIDNumber, idA.IDNumber)
	if _, err := e.db.Collection(collClaims).InsertOne(ctx, bson.M{"_id": idx, "user_id": crashed.ID, "created_at": e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, owner.ID, idA, 2); !errors.Is(err, ErrRealnameTaken) {
		t.Fatalf("right after the crash: %v, want ErrRealnameTaken (the holder may still retry)", err)
	}
	e.clock.Advance(10 * time.Minute)
	if u, err := e.store.RaiseLevel(ctx, owner.ID, idA, 2); err != nil || !u.HasIdentity {
		t.Fatalf("ten minutes later: %+v, %v; an abandoned claim must not block the number", u, err)
	}
}
