package evaluations

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsRatingsOnce: twenty goroutines rate one visit and sweeps race
// a citizen for the other results: every stored evaluation is counted once
// (sum of the series = documents stored), by level and channel; refusals
// (already evaluated, invalid) count nothing.
func TestMetricsRatingsOnce(t *testing.T) {
	f := newFixture(t)
	m := NewMetrics(prometheus.NewRegistry())
	f.svc.metrics = m
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{AppointmentID: "appt-done"}, Level: LevelSatisfied})
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(m.ratings.WithLabelValues(KindAppointment, LevelSatisfied, ChannelMobile)); got != 1 {
		t.Fatalf("ratings %v, want 1", got)
	}
	if _, err := f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: "excellent"}); err == nil {
		t.Fatal("an unknown level was stored")
	}
	if got := testutil.CollectAndCount(m.ratings); got != 1 {
		t.Fatalf("%d series after a refusal, want 1", got)
	}
	f.clock.Advance(7 * 24 * time.Hour)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Sweep(f.ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(m.ratings.WithLabelValues(KindApplication, LevelBasic, ChannelSystemDefault)); got != 2 {
		t.Fatalf("default ratings %v, want 2 (A1, E1)", got)
	}
	total := 0.0
	for _, kind := range []string{KindApplication, KindAppointment} {
		for _, level := range Levels() {
			for _, ch := range []string{ChannelMobile, ChannelSystemDefault} {
				total += testutil.ToFloat64(m.ratings.WithLabelValues(kind, level, ch))
			}
		}
	}
	if n := f.count(collEvaluations); total != float64(n) {
		t.Fatalf("counted %v ratings, stored %d", total, n)
	}
}
