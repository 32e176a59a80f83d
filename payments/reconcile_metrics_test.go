package payments

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"banshi/internal/platform/platformtest"
)

// TestReconMetricsCountFirstSightingOnce: a discrepancy counts when its item
// is first stored; re-runs of the same day (one after another, and two at
// once, one of which is refused as running) find it again and count nothing
// more, while every recorded run counts. A refused run (bad date) counts
// nothing.
func TestReconMetricsCountFirstSightingOnce(t *testing.T) {
	f := newReconFixture(t)
	m := NewMetrics(prometheus.NewRegistry())
	r, err := NewReconciler(ReconcilerDeps{DB: f.db, Clock: f.clock, Log: platformtest.Logger(),
		Providers: map[string]Provider{ProviderWeChatPay: f.wx, ProviderAlipay: f.ali}, Actions: f.actions, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	f.paid("O1", ProviderWeChatPay, 1000)
	f.paid("O2", ProviderWeChatPay, 3000)
	f.wx.serve(reconPay("O1", 1000), reconPay("X9", 4200))
	if _, err := r.Run(f.ctx, reconDate, ProviderWeChatPay); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(f.ctx, reconDate, ProviderWeChatPay); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.Run(f.ctx, reconDate, ProviderWeChatPay) // one may be refused: ErrReconRunning
		}()
	}
	wg.Wait()
	for kind, want := range map[string]float64{ReconChannelOnly: 1, ReconMissingAtChannel: 1, ReconAmountMismatch: 0} {
		if got := testutil.ToFloat64(m.discrepancies.WithLabelValues(ProviderWeChatPay, kind)); got != want {
			t.Errorf("discrepancies %s: %v, want %v", kind, got, want)
		}
	}
	runs := testutil.ToFloat64(m.reconRuns.WithLabelValues(ProviderWeChatPay, ReconDone))
	if runs < 3 || runs > 4 {
		t.Fatalf("runs done %v, want 3 or 4", runs)
	}
	before := testutil.CollectAndCount(m.reconRuns)
	if _, err := r.Run(f.ctx, "2026-13-01", ProviderWeChatPay); err == nil {
		t.Fatal("a bad date was run")
	}
	if got := testutil.CollectAndCount(m.reconRuns); got != before || testutil.ToFloat64(m.reconRuns.WithLabelValues(ProviderWeChatPay, ReconDone)) != runs {
		t.Fatal("a refused run was counted")
	}
}
