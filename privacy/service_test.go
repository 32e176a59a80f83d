package privacy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/privacy"
)

// fakeAccount records the account steps; failFinish makes FinishForget fail
// (a crash between the erasers and the last step).
type fakeAccount struct {
	mu         sync.Mutex
	begun      map[string]int
	finished   map[string]int
	failFinish bool
}

var _ privacy.Account = (*fakeAccount)(nil)

func (f *fakeAccount) BeginForget(_ context.Context, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.begun[uid]++
	return nil
}

func (f *fakeAccount) FinishForget(_ context.Context, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFinish {
		return errors.New("crash")
	}
	f.finished[uid]++
	return nil
}

type fakeChecker struct{ good string }

var _ privacy.Checker = fakeChecker{}

func (f fakeChecker) Recheck(_ context.Context, _, code string) error {
	if code != f.good {
		return errors.New("fresh_check_required")
	}
	return nil
}

type fakeSessions struct{ ended []string }

func (f *fakeSessions) RevokeAll(_ context.Context, uid string) (int, error) {
	f.ended = append(f.ended, uid)
	return 1, nil
}

// countingEraser counts its runs; it erases.
type countingEraser struct{ runs *int }

func (c countingEraser) Erase(context.Context, string) (privacy.Outcome, error) {
	*c.runs++
	return privacy.Outcome{Category: "favorites", Erased: true}, nil
}

func newService(t *testing.T, clock platform.Clock, acc *fakeAccount, runs *int) (*privacy.Service, *fakeSessions) {
	t.Helper()
	db := platformtest.Mongo(t)
	sess := &fakeSessions{}
	svc, err := privacy.NewService(privacy.Deps{DB: db, Clock: clock, Checker: fakeChecker{good: "fresh"},
		Account: acc, Sessions: sess, Erasers: []privacy.Eraser{countingEraser{runs},
			privacy.Kept{Category: "applications", Reason: "依法留存"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, sess
}

// TestDeleteRefusedWithoutFreshCheckChangesNothing: a bad code runs no step.
func TestDeleteRefusedWithoutFreshCheckChangesNothing(t *testing.T) {
	acc := &fakeAccount{begun: map[string]int{}, finished: map[string]int{}}
	runs := 0
	svc, sess := newService(t, platform.NewOffsetClock(), acc, &runs)
	if _, err := svc.Delete(context.Background(), "u_a", "stale"); err == nil {
		t.Fatal("deleted without a fresh check")
	}
	if len(acc.begun) != 0 || runs != 0 || len(sess.ended) != 0 {
		t.Fatalf("a refused deletion ran steps: begun %v, erasers %d, sessions %v", acc.begun, runs, sess.ended)
	}
}

// TestDeletionInterruptedIsResumedOnce: a crash before the last step leaves
// the request recorded; the sweeper ignores it while it may still be under
// way, then finishes it (every step again, each idempotent), and a finished
// request is not run again.
func TestDeletionInterruptedIsResumedOnce(t *testing.T) {
	clock := platform.NewOffsetClock()
	acc := &fakeAccount{begun: map[string]int{}, finished: map[string]int{}, failFinish: true}
	runs := 0
	svc, sess := newService(t, clock, acc, &runs)
	ctx := context.Background()
	uid := "u_" + platformtest.RandomID()
	if _, err := svc.Delete(ctx, uid, "fresh"); err == nil {
		t.Fatal("the crash was not reported")
	}
	if acc.begun[uid] != 1 || runs != 1 || len(sess.ended) != 1 || acc.finished[uid] != 0 {
		t.Fatalf("steps before the crash: %v %d %v %v", acc.begun, runs, sess.ended, acc.finished)
	}
	// Still possibly under way: not resumed.
	if n, err := svc.ResumeDeletions(ctx); err != nil || n != 0 {
		t.Fatalf("resumed a fresh request: %d, %v", n, err)
	}
	acc.failFinish = false
	clock.Advance(3 * time.Minute)
	if n, err := svc.ResumeDeletions(ctx); err != nil || n != 1 {
		t.Fatalf("resume: %d, %v", n, err)
	}
	if acc.finished[uid] != 1 || runs != 2 {
		t.Fatalf("after resuming: finished %v, erasers %d", acc.finished, runs)
	}
	if n, err := svc.ResumeDeletions(ctx); err != nil || n != 0 {
		t.Fatalf("a finished deletion ran again: %d, %v", n, err)
	}
}

// TestConsentRecordIsIdempotentAndWithdrawalOnce: the same consent recorded
// twice (a retried request) is one record; of concurrent withdrawals the
// processing stops and exactly one records it, the others are told it is
// withdrawn; a failing stop records nothing.
func TestConsentRecordIsIdempotentAndWithdrawalOnce(t *testing.T) {
	db := platformtest.Mongo(t)
	ctx := context.Background()
	var mu sync.Mutex
	stops := 0
	fail := true
	w := withdrawFunc(func(context.Context, string, string) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("upstream down")
		}
		stops++
		return nil
	})
	c := privacy.NewConsents(db, platform.NewOffsetClock(), map[string]privacy.Withdrawer{privacy.PurposeSubscribe: w})
	uid := "u_" + platformtest.RandomID()
	a, err := c.Record(ctx, uid, privacy.PurposeSubscribe, "TPL-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Record(ctx, uid, privacy.PurposeSubscribe, "TPL-1")
	if err != nil || a.ID != b.ID || !a.GivenAt.Equal(b.GivenAt) {
		t.Fatalf("recorded twice: %+v %+v %v", a, b, err)
	}
	if _, err := c.Record(ctx, uid, "marketing", "x"); err == nil {
		t.Fatal("an unknown purpose was recorded")
	}
	if _, err := c.Withdraw(ctx, uid, a.ID); err == nil {
		t.Fatal("a withdrawal whose stop failed was recorded")
	}
	if list, _ := c.List(ctx, uid); len(list) != 1 || list[0].WithdrawnAt != nil {
		t.Fatalf("after a failed stop: %+v", list)
	}
	fail = false
	var wg sync.WaitGroup
	var ok, withdrawn int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Withdraw(ctx, uid, a.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, privacy.ErrConsentWithdrawn):
				withdrawn++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || withdrawn != 7 || stops < 1 {
		t.Fatalf("concurrent withdrawals: %d recorded, %d told withdrawn, %d stops", ok, withdrawn, stops)
	}
	if n, _ := db.Collection(privacy.CollConsents).CountDocuments(ctx, bson.M{"user_id": uid}); n != 1 {
		t.Fatalf("%d consent documents", n)
	}
}

type withdrawFunc func(ctx context.Context, userID, ref string) error

func (f withdrawFunc) Withdraw(ctx context.Context, userID, ref string) error {
	return f(ctx, userID, ref)
}
