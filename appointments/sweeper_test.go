package appointments

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// TestRunSweeperUnderALease: two processes run the sweeper; one takes the
// lease and sweeps, and stopping both releases the lease.
func TestRunSweeperUnderALease(t *testing.T) {
	f := newFixture(t)
	other := f.another()
	if _, err := f.db.Collection("appt_idem").InsertOne(f.ctx, bson.M{"_id": "old", "expires_at": t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	for _, s := range []*Service{f.svc, other} {
		wg.Add(1)
		go func() { defer wg.Done(); s.RunSweeper(ctx, time.Hour) }()
	}
	leases := platform.NewLeases(f.db, f.clock)
	deadline := time.Now().Add(30 * time.Second)
	for f.count("appt_idem", nil) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("no sweep ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if l, err := leases.Get(f.ctx, sweeperLease); err != nil || l.Holder == "" || l.Epoch != 1 {
		t.Fatalf("sweeping without holding the lease: %+v, %v", l, err)
	}
	cancel()
	wg.Wait()
	if l, err := leases.Get(f.ctx, sweeperLease); err != nil || l.Holder != "" {
		t.Fatalf("stopped sweepers left the lease %+v, %v", l, err)
	}
}
