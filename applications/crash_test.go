package applications

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// storeOnly does what Receive does up to the death of its process right
// after the event is stored: nothing applied, nothing published.
func (f *fixture) storeOnly(body []byte) {
	f.t.Helper()
	e, err := ParseEvent(body, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, dup, err := f.svc.record(f.ctx, f.svc.newEventDoc(source, e, f.clock.Now())); err != nil || dup {
		f.t.Fatalf("store: dup %v, %v", dup, err)
	}
}

func (f *fixture) event(id string) eventDoc {
	f.t.Helper()
	var e eventDoc
	if err := f.svc.events.FindOne(f.ctx, bson.M{"_id": source + "|" + id}).Decode(&e); err != nil {
		f.t.Fatal(err)
	}
	return e
}

// TestCrashAfterStoringIsFinishedByTheRetry: the process died between
// storing an event and applying and publishing it. The department, which got
// no answer, sends the event again: Banshi answers duplicate and applies and
// publishes what is missing, once.
func TestCrashAfterStoringIsFinishedByTheRetry(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	body := ev("e-1", StatusNeedsMaterials, "2026-03-16T09:30:00+08:00", nil)
	f.storeOnly(body)
	if f.count(collApplications) != 0 || len(f.messages("u_zhang")) != 0 {
		t.Fatal("the crash left more than the stored event")
	}
	r := f.receive(body)
	if !r.Duplicate || r.ApplicationStatus != StatusNeedsMaterials {
		t.Fatalf("retry: %+v", r)
	}
	if ms := f.messages("u_zhang"); len(ms) != 1 || ms[0].Kind != KindMaterials {
		t.Fatalf("messages after the retry: %+v", ms)
	}
	if e := f.event("e-1"); !e.Applied || !e.Published || e.Owner != "u_zhang" {
		t.Fatalf("event after the retry: %+v", e)
	}
	f.receive(body)
	if f.notify.calls != 1 || len(f.messages("u_zhang")) != 1 {
		t.Fatalf("published %d times", f.notify.calls)
	}
}

// TestCrashAfterStoringIsFinishedByTheSweeper: nobody retries; the sweeper
// leaves events younger than PublishGrace alone (their request may still be
// finishing them) and finishes older ones.
func TestCrashAfterStoringIsFinishedByTheSweeper(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	f.storeOnly(ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", nil))
	f.storeOnly(ev("e-2", StatusApproved, "2026-03-16T09:40:00+08:00", nil))
	if n, err := f.svc.SweepOnce(f.ctx); err != nil || n != 0 {
		t.Fatalf("sweep within the grace: %d, %v", n, err)
	}
	f.clock.Advance(PublishGrace)
	if n, err := f.svc.SweepOnce(f.ctx); err != nil || n != 2 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if d := f.app("GZ2026031600001"); d.Status != StatusApproved || len(d.Timeline) != 2 {
		t.Fatalf("application: %+v", d)
	}
	if ms := f.messages("u_zhang"); len(ms) != 2 {
		t.Fatalf("messages: %+v", ms)
	}
	if n, err := f.svc.SweepOnce(f.ctx); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v", n, err)
	}
	if f.notify.calls != 2 {
		t.Fatalf("published %d times", f.notify.calls)
	}
}

// TestPublishFailureIsFinishedLater: the store of messages fails after the
// event is stored and applied. The department is told to retry (an error);
// its retry, or else the sweeper, publishes.
func TestPublishFailureIsFinishedLater(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	f.notify.setFail(errBoom)
	body := ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", nil)
	if _, err := f.svc.Receive(f.ctx, source, body); err == nil {
		t.Fatal("a failed publish was answered as done")
	}
	if e := f.event("e-1"); !e.Applied || e.Published {
		t.Fatalf("event: %+v", e)
	}
	if d := f.app("GZ2026031600001"); d.Status != StatusAccepted {
		t.Fatalf("application: %+v", d)
	}
	f.notify.setFail(nil)
	if r := f.receive(body); !r.Duplicate {
		t.Fatalf("retry: %+v", r)
	}
	if len(f.messages("u_zhang")) != 1 {
		t.Fatal("the retry did not publish")
	}

	// The same, with the owner lookup failing and the sweeper finishing.
	f.owners.mu.Lock()
	f.owners.fail = errBoom
	f.owners.mu.Unlock()
	if _, err := f.svc.Receive(f.ctx, source, ev("e-2", StatusApproved, "2026-03-16T09:40:00+08:00", nil)); err == nil {
		t.Fatal("a failed owner lookup was answered as done")
	}
	f.owners.mu.Lock()
	f.owners.fail = nil
	f.owners.mu.Unlock()
	f.clock.Advance(PublishGrace)
	if n, err := f.svc.SweepOnce(f.ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if ms := f.messages("u_zhang"); len(ms) != 2 {
		t.Fatalf("messages: %d", len(ms))
	}
}

// TestSweeperRunsUnderItsLease: RunSweeper finishes a stranded event on its
// own, holding the lease "applications.sweeper" while it does.
func TestSweeperRunsUnderItsLease(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	f.storeOnly(ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", nil))
	f.clock.Advance(PublishGrace)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.svc.RunSweeper(ctx, 20*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.messages("u_zhang")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not publish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l, err := f.svc.leases.Get(f.ctx, sweeperLease); err != nil || l.Holder == "" {
		t.Fatalf("lease: %+v %v", l, err)
	}
	cancel()
	<-done
}
