package notify

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"banshi/internal/platform"
)

// breakerChannel sends through a real breaker to an upstream that is down
// or up, counting the calls that reached it.
type breakerChannel struct {
	b     *platform.Breaker
	down  atomic.Bool
	calls atomic.Int64
}

var errUpstreamDown = errors.New("connection refused")

func (c *breakerChannel) Name() string { return "fcm" }

func (c *breakerChannel) Deliver(ctx context.Context, d Delivery) error {
	return c.b.Do(func() error {
		c.calls.Add(1)
		if c.down.Load() {
			return errUpstreamDown
		}
		return nil
	}, func(err error) bool { return errors.Is(err, errUpstreamDown) })
}

// TestBreakerRejectionsAreHeldUncounted: while the channel's breaker is open,
// the deliveries it refuses stay pending with no attempt counted, due when
// the breaker probes; none is dead; once the upstream answers, all are sent.
func TestBreakerRejectionsAreHeldUncounted(t *testing.T) {
	f := newOutboxFixture(t, nil, "fcm")
	ch := &breakerChannel{b: platform.NewBreaker("fcm", platform.BreakerConfig{Failures: 2, Open: time.Minute}, f.clock, nil, nil)}
	ch.down.Store(true)
	const n = 10
	for i := range n {
		if err := f.box.Notify(f.ctx, msgFor(i)); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{Concurrency: 1})
	if got, err := d.RunOnce(f.ctx); err != nil || got != n {
		t.Fatalf("RunOnce = %d, %v", got, err)
	}
	if ch.calls.Load() != 2 {
		t.Fatalf("%d calls reached the upstream, want the 2 that opened the breaker", ch.calls.Load())
	}
	if failed, pending := f.inState(t, StateFailed), f.inState(t, StatePending); failed != 2 || pending != n-2 {
		t.Fatalf("%d failed and %d pending, want 2 and %d", failed, pending, n-2)
	}
	held, _ := f.box.List(f.ctx, StatePending, 100)
	for _, v := range held {
		if v.Attempts != 0 {
			t.Fatalf("held delivery: %+v, want no attempt counted", v)
		}
	}
	// Held until the breaker probes (a minute), not retried before.
	f.clock.Advance(10 * time.Second)
	if got, err := d.RunOnce(f.ctx); err != nil || got != 0 || ch.calls.Load() != 2 {
		t.Fatalf("10 s later: %d claimed, %v, %d calls", got, err, ch.calls.Load())
	}
	// An hour of outage: one probe a minute reaches the upstream.
	for range 60 {
		f.clock.Advance(time.Minute + time.Second)
		if _, err := d.RunOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if calls := ch.calls.Load(); calls > 2+60 {
		t.Fatalf("%d calls reached the upstream in an hour of outage, want at most one probe a round", calls)
	}
	if dead := f.inState(t, StateDead); dead != 0 {
		t.Fatalf("%d deliveries dead after an hour's outage", dead)
	}
	ch.down.Store(false)
	for range 5 {
		f.clock.Advance(30 * time.Minute)
		if _, err := d.RunOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if sent := f.inState(t, StateSent); sent != n {
		t.Fatalf("%d of %d sent after the upstream came back", sent, n)
	}
}
