package platform_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

var leaseT0 = time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC)

// twoProcesses returns two Leases on one fresh database, each with its own
// database handle, as two processes would have, sharing one manual clock.
func twoProcesses(t *testing.T) (*platform.Leases, *platform.Leases, *platform.ManualClock, *mongo.Database) {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(leaseT0)
	other := platformtest.MongoClient(t).Database(db.Name())
	return platform.NewLeases(db, clock), platform.NewLeases(other, clock), clock, db
}

// eventually waits for cond, failing the test after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLeaseAcquireRenewRelease(t *testing.T) {
	a, b, clock, _ := twoProcesses(t)
	ctx := context.Background()
	la, err := a.Acquire(ctx, "job", "A", time.Minute)
	if err != nil || la.Holder != "A" || la.Epoch != 1 || !la.Until.Equal(leaseT0.Add(time.Minute)) {
		t.Fatalf("A acquire = %+v, %v", la, err)
	}
	if _, err := b.Acquire(ctx, "job", "B", time.Minute); !errors.Is(err, platform.ErrLeaseHeld) {
		t.Fatalf("B acquire of a held lease = %v", err)
	}
	clock.Advance(10 * time.Second)
	again, err := a.Acquire(ctx, "job", "A", time.Minute)
	if err != nil || again.Epoch != 1 || !again.Until.Equal(leaseT0.Add(70*time.Second)) {
		t.Fatalf("A acquires its own lease again = %+v, %v; want extended, same epoch", again, err)
	}
	clock.Advance(10 * time.Second)
	la, err = a.Renew(ctx, again, time.Minute)
	if err != nil || !la.Until.Equal(leaseT0.Add(80*time.Second)) || la.Epoch != 1 {
		t.Fatalf("renew = %+v, %v", la, err)
	}
	forged := platform.Lease{Name: "job", Holder: "B", Epoch: 1}
	if _, err := b.Renew(ctx, forged, time.Minute); !errors.Is(err, platform.ErrLeaseLost) {
		t.Fatalf("renew by a non-holder = %v", err)
	}
	if err := b.Release(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if cur, _ := b.Get(ctx, "job"); cur.Holder != "A" {
		t.Fatalf("a non-holder's release changed the lease: %+v", cur)
	}
	// Release lets another take it at once.
	if err := a.Release(ctx, la); err != nil {
		t.Fatal(err)
	}
	if cur, _ := b.Get(ctx, "job"); cur.Holder != "" {
		t.Fatalf("released lease still names %q", cur.Holder)
	}
	lb, err := b.Acquire(ctx, "job", "B", time.Minute)
	if err != nil || lb.Holder != "B" || lb.Epoch != 2 {
		t.Fatalf("B acquire after release = %+v, %v", lb, err)
	}
	if _, err := a.Renew(ctx, la, time.Minute); !errors.Is(err, platform.ErrLeaseLost) {
		t.Fatalf("renew after losing = %v", err)
	}
	if _, err := a.Acquire(ctx, "job", "A", time.Minute); !errors.Is(err, platform.ErrLeaseHeld) {
		t.Fatalf("A acquire of B's lease = %v", err)
	}
	if cur, err := b.Get(ctx, "never"); err != nil || cur.Holder != "" {
		t.Fatalf("never-taken lease = %+v, %v", cur, err)
	}
}

// TestLeaseDeadHolderExpires: a holder that stops renewing keeps the lease
// until its Until, and loses it exactly then.
func TestLeaseDeadHolderExpires(t *testing.T) {
	a, b, clock, _ := twoProcesses(t)
	ctx := context.Background()
	la, err := a.Acquire(ctx, "job", "A", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute - time.Millisecond)
	if _, err := b.Acquire(ctx, "job", "B", time.Minute); !errors.Is(err, platform.ErrLeaseHeld) {
		t.Fatalf("B took the lease before it expired: %v", err)
	}
	clock.Advance(time.Millisecond)
	lb, err := b.Acquire(ctx, "job", "B", time.Minute)
	if err != nil || lb.Epoch != 2 {
		t.Fatalf("B acquire at expiry = %+v, %v", lb, err)
	}
	if _, err := a.Renew(ctx, la, time.Minute); !errors.Is(err, platform.ErrLeaseLost) {
		t.Fatalf("the dead holder renewed a lease taken over: %v", err)
	}
}

// TestLeaseRenewAfterExpiryWhenNobodyTookIt: a late renewal still works when
// no one held the lease meanwhile (nobody overlapped).
func TestLeaseRenewAfterExpiryWhenNobodyTookIt(t *testing.T) {
	a, _, clock, _ := twoProcesses(t)
	ctx := context.Background()
	la, err := a.Acquire(ctx, "job", "A", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if la, err = a.Renew(ctx, la, time.Minute); err != nil || la.Epoch != 1 {
		t.Fatalf("late renew = %+v, %v", la, err)
	}
}

// holding records who believes it holds a lease and reports overlaps. A
// holder enters after Acquire succeeded and leaves before it releases, so
// two holders inside at once means the store granted the lease twice.
type holding struct {
	mu       sync.Mutex
	cur      string
	overlaps []string
	tenures  int
	holders  map[string]bool
	epochs   []int64
}

func (h *holding) enter(who string, epoch int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != "" {
		h.overlaps = append(h.overlaps, h.cur+" and "+who)
	}
	h.cur = who
	h.tenures++
	if h.holders == nil {
		h.holders = map[string]bool{}
	}
	h.holders[who] = true
	h.epochs = append(h.epochs, epoch)
}

func (h *holding) leave(who string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == who {
		h.cur = ""
	}
}

func (h *holding) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tenures
}

func (h *holding) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.overlaps) > 0 {
		t.Fatalf("%d overlapping tenures, e.g. %s", len(h.overlaps), h.overlaps[0])
	}
	if len(h.holders) < 2 {
		t.Fatalf("the lease never changed hands (%d tenures by %v)", h.tenures, h.holders)
	}
}

// TestLeaseRacingHoldersNeverOverlap: goroutines of two "processes" race to
// acquire, renew and release one lease; never do two hold it at once.
func TestLeaseRacingHoldersNeverOverlap(t *testing.T) {
	a, b, _, _ := twoProcesses(t)
	ctx := context.Background()
	var h holding
	var wg sync.WaitGroup
	for i := range 12 {
		leases := a
		if i%2 == 1 {
			leases = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := fmt.Sprintf("g%d", i)
			for range 40 {
				l, err := leases.Acquire(ctx, "job", me, time.Minute)
				if errors.Is(err, platform.ErrLeaseHeld) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				h.enter(me, l.Epoch)
				if l, err = leases.Renew(ctx, l, time.Minute); err != nil {
					t.Errorf("%s lost a lease it held: %v", me, err)
				}
				h.leave(me)
				if err := leases.Release(ctx, l); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h.check(t)
	for i := 1; i < len(h.epochs); i++ {
		if h.epochs[i] <= h.epochs[i-1] {
			t.Fatalf("epochs not increasing: %v", h.epochs)
		}
	}
}

// TestLeaseRunNeverOverlaps: runners in two "processes" compete for one
// lease; each tenure's work ends by itself, so the lease changes hands many
// times, and never are two works running at once.
func TestLeaseRunNeverOverlaps(t *testing.T) {
	a, b, _, _ := twoProcesses(t)
	ctx, cancel := context.WithCancel(context.Background())
	var h holding
	var wg sync.WaitGroup
	for i := range 8 {
		leases := a
		if i%2 == 1 {
			leases = b
		}
		me := fmt.Sprintf("r%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			leases.Run(ctx, "job", platform.LeaseRun{Holder: me, TTL: time.Minute, RenewEvery: time.Millisecond, RetryEvery: time.Millisecond},
				func(ctx context.Context, l platform.Lease) error {
					h.enter(me, l.Epoch)
					defer h.leave(me)
					select { // work a little, renewed meanwhile
					case <-ctx.Done():
					case <-time.After(3 * time.Millisecond):
					}
					return nil
				})
		}()
	}
	eventually(t, "60 tenures", func() bool { return h.count() >= 60 })
	cancel()
	wg.Wait()
	h.check(t)
	if cur, err := a.Get(context.Background(), "job"); err != nil || cur.Holder != "" {
		t.Fatalf("after every runner stopped the lease is %+v, %v; want released", cur, err)
	}
}

// tenure is what a runner's work saw: its context and its lease.
type tenure struct {
	ctx   context.Context
	lease platform.Lease
}

// runner is a Leases.Run in a goroutine whose work reports each tenure and
// then runs until its context ends.
type runner struct {
	tenures chan tenure
	cancel  context.CancelFunc
	stopped chan struct{}
}

func startRunner(t *testing.T, leases *platform.Leases, o platform.LeaseRun) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{tenures: make(chan tenure, 100), cancel: cancel, stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		leases.Run(ctx, "job", o, func(ctx context.Context, l platform.Lease) error {
			r.tenures <- tenure{ctx, l}
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	t.Cleanup(r.stop)
	return r
}

// stop ends the runner and waits for Run to return.
func (r *runner) stop() { r.cancel(); <-r.stopped }

// next waits for the runner's next tenure.
func (r *runner) next(t *testing.T) tenure {
	t.Helper()
	select {
	case tn := <-r.tenures:
		return tn
	case <-time.After(30 * time.Second):
		t.Fatal("the runner never took the lease")
	}
	return tenure{}
}

// waitDone waits for ctx to end.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal(what)
	}
}

// countingClock counts the calls of Now, to see a runner's attempts.
type countingClock struct {
	*platform.ManualClock
	calls atomic.Int64
}

func (c *countingClock) Now() time.Time { c.calls.Add(1); return c.ManualClock.Now() }

// TestLeaseRunTakesOverFromADeadHolder: a runner waits while a dead holder's
// lease runs (however often it tries), takes over when it expires, and
// releases it when stopped.
func TestLeaseRunTakesOverFromADeadHolder(t *testing.T) {
	db := platformtest.Mongo(t)
	clock := &countingClock{ManualClock: platform.NewManualClock(leaseT0)}
	dead := platform.NewLeases(db, clock)
	if _, err := dead.Acquire(context.Background(), "job", "dead", time.Minute); err != nil {
		t.Fatal(err)
	}
	b := startRunner(t, platform.NewLeases(db, clock), platform.LeaseRun{Holder: "B", TTL: time.Minute, RetryEvery: time.Millisecond})
	clock.Advance(time.Minute - time.Millisecond)
	before := clock.calls.Load()
	eventually(t, "ten attempts", func() bool { return clock.calls.Load() >= before+10 })
	select {
	case tn := <-b.tenures:
		t.Fatalf("B took the lease before it expired: %+v", tn.lease)
	default:
	}
	clock.Advance(time.Millisecond)
	if l := b.next(t).lease; l.Holder != "B" || l.Epoch != 2 {
		t.Fatalf("B's tenure: %+v", l)
	}
	b.stop()
	if _, err := dead.Acquire(context.Background(), "job", "C", time.Minute); err != nil {
		t.Fatalf("after B stopped: %v; want the lease released", err)
	}
}

// TestLeaseRunCancelsWorkWhenLost: when the lease is taken from a running
// holder (here by rewriting it, as a takeover after a pause would), its
// work's context is cancelled and it does not release the new holder's lease.
func TestLeaseRunCancelsWorkWhenLost(t *testing.T) {
	a, _, clock, db := twoProcesses(t)
	r := startRunner(t, a, platform.LeaseRun{Holder: "A", TTL: time.Minute, RenewEvery: time.Millisecond, RetryEvery: time.Millisecond})
	tn := r.next(t)
	_, err := db.Collection(platform.LeaseCollection).UpdateOne(context.Background(), bson.M{"_id": "job"},
		bson.M{"$set": bson.M{"holder": "thief", "until": clock.Now().Add(time.Hour)}, "$inc": bson.M{"epoch": 1}})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, tn.ctx, "work kept running after its lease was lost")
	r.stop()
	if n := len(r.tenures); n != 0 {
		t.Fatalf("%d more tenures; A must not take a lease the thief holds", n)
	}
	if cur, _ := a.Get(context.Background(), "job"); cur.Holder != "thief" {
		t.Fatalf("the loser released the new holder's lease: %+v", cur)
	}
}

// TestLeaseRunCancelsWorkAtExpiry: a holder whose lease ran out by the clock
// (a pause longer than the TTL) stops its work, and does not release the
// lease of the holder that took over.
func TestLeaseRunCancelsWorkAtExpiry(t *testing.T) {
	a, b, clock, _ := twoProcesses(t)
	r := startRunner(t, a, platform.LeaseRun{Holder: "A", TTL: time.Minute, RenewEvery: time.Millisecond, RetryEvery: time.Hour})
	tn := r.next(t)
	clock.Advance(time.Minute) // the pause: A's lease ends before its next renewal
	lb, err := b.Acquire(context.Background(), "job", "B", time.Minute)
	if err != nil {
		t.Fatalf("B could not take the expired lease: %v", err)
	}
	waitDone(t, tn.ctx, "work kept running after its lease expired")
	r.stop()
	if cur, _ := b.Get(context.Background(), "job"); cur.Holder != "B" || cur.Epoch != lb.Epoch {
		t.Fatalf("A's stop changed B's lease: %+v", cur)
	}
}

// TestLeaseRunReleasesOnStop: stopping a holder frees the lease at once.
func TestLeaseRunReleasesOnStop(t *testing.T) {
	a, b, _, _ := twoProcesses(t)
	r := startRunner(t, a, platform.LeaseRun{})
	r.next(t)
	if _, err := b.Acquire(context.Background(), "job", "B", time.Minute); !errors.Is(err, platform.ErrLeaseHeld) {
		t.Fatalf("B acquire while A runs = %v", err)
	}
	r.stop()
	if _, err := b.Acquire(context.Background(), "job", "B", time.Minute); err != nil {
		t.Fatalf("B acquire after A stopped = %v", err)
	}
}
