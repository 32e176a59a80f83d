package notify

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsDeadLettersOnce: a permanent failure is a dead letter at once,
// a retried one when its deadline passes; each is counted once, and
// recording a final outcome again (another dispatcher was first) counts
// nothing.
func TestMetricsDeadLettersOnce(t *testing.T) {
	ch := newFake("wechat")
	ch.answer = func(d Delivery) error {
		switch d.Message.Kind {
		case "permanent":
			return Permanent("40037", errors.New("bad template"))
		case "flaky":
			return errors.New("connection reset")
		}
		return nil
	}
	f := newOutboxFixture(t, nil, "wechat")
	for _, kind := range []string{"ok", "permanent", "flaky"} {
		if err := f.box.Notify(f.ctx, Message{ID: kind, UserID: "u1", Kind: kind, Title: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	m := NewMetrics(prometheus.NewRegistry(), nil)
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{Metrics: m})
	if _, err := d.RunOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	dead := func() float64 { return testutil.ToFloat64(m.dead.WithLabelValues("wechat")) }
	if got := dead(); got != 1 {
		t.Fatalf("dead letters %v after the permanent failure, want 1", got)
	}
	for range 40 {
		f.clock.Advance(time.Hour)
		if _, err := d.RunOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.state(t, "flaky|wechat"); got.State != StateDead {
		t.Fatalf("flaky: %+v", got)
	}
	if got := dead(); got != 2 {
		t.Fatalf("dead letters %v after the deadline, want 2", got)
	}
	// The final outcome recorded a second time is not new.
	again := resultDoc{ID: finalID("permanent|wechat"), DeliveryID: "permanent|wechat", Channel: "wechat", Final: true, State: StateDead}
	if inserted, err := f.box.record(f.ctx, again); err != nil || inserted {
		t.Fatalf("second record: inserted %v, %v", inserted, err)
	}
	if got := dead(); got != 2 {
		t.Fatalf("dead letters %v, want 2", got)
	}
}
