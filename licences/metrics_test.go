package licences

import (
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsVerificationOnce: twenty counters verify one token at once;
// one verification is counted, the nineteen refusals as token_used; an
// expired and a garbage token count under their codes and record nothing.
func TestMetricsVerificationOnce(t *testing.T) {
	f := newFixture(t)
	m := NewMetrics(prometheus.NewRegistry())
	f.svc.metrics = m
	id := f.issued(t, "300101")
	shown, err := f.svc.Show(t.Context(), "u1", id)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Verify(t.Context(), Verifier{Username: "s", Role: "hall_staff"}, shown.Token); err != nil && !errors.Is(err, ErrTokenUsed) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := func(outcome string) float64 { return testutil.ToFloat64(m.verifications.WithLabelValues(outcome)) }
	if got, used := count(OutcomeVerified), count(ErrTokenUsed.Code); got != 1 || used != 19 {
		t.Fatalf("verified %v, used %v; want 1 and 19", got, used)
	}
	again, err := f.svc.Show(t.Context(), "u1", id)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(TokenLifetime)
	if _, err := f.svc.Verify(t.Context(), Verifier{Username: "s"}, again.Token); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := f.svc.Verify(t.Context(), Verifier{Username: "s"}, "BSL1.x.y"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("garbage: %v", err)
	}
	if count(ErrTokenExpired.Code) != 1 || count(ErrTokenInvalid.Code) != 1 || count(OutcomeVerified) != 1 {
		t.Fatalf("expired %v invalid %v verified %v", count(ErrTokenExpired.Code), count(ErrTokenInvalid.Code), count(OutcomeVerified))
	}
	uses, err := f.svc.Uses(t.Context(), "u1", id)
	if err != nil || len(uses) != 1 {
		t.Fatalf("uses %+v %v", uses, err)
	}
}
