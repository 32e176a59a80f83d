package platform

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var errDown = errors.New("upstream down")

// TestBreakerStateMachine walks a breaker (2 failures, 10 s open) through
// steps and checks its state and whether each call went through.
func TestBreakerStateMachine(t *testing.T) {
	type step struct {
		advance  time.Duration
		outcome  BreakerOutcome // reported when the call goes through
		allowed  bool
		after    BreakerState
		describe string
	}
	ok, fail, ign := BreakerSuccess, BreakerFailure, BreakerIgnored
	cases := map[string][]step{
		"failures below the threshold keep it closed": {
			{0, fail, true, BreakerClosed, "one failure"},
			{0, ok, true, BreakerClosed, "a success resets the count"},
			{0, fail, true, BreakerClosed, "one failure again"},
		},
		"consecutive failures open it; open refuses": {
			{0, fail, true, BreakerClosed, "first failure"},
			{0, fail, true, BreakerOpen, "second failure opens"},
			{9 * time.Second, ok, false, BreakerOpen, "still open after 9 s"},
		},
		"a successful probe closes it": {
			{0, fail, true, BreakerClosed, ""},
			{0, fail, true, BreakerOpen, ""},
			{10 * time.Second, ok, true, BreakerClosed, "probe succeeds"},
			{0, fail, true, BreakerClosed, "counting starts afresh"},
		},
		"a failed probe opens it for another period": {
			{0, fail, true, BreakerClosed, ""},
			{0, fail, true, BreakerOpen, ""},
			{10 * time.Second, fail, true, BreakerOpen, "probe fails"},
			{9 * time.Second, ok, false, BreakerOpen, "a fresh period"},
			{time.Second, ok, true, BreakerClosed, "the next probe succeeds"},
		},
		"an ignored probe lets the next call probe": {
			{0, fail, true, BreakerClosed, ""},
			{0, fail, true, BreakerOpen, ""},
			{10 * time.Second, ign, true, BreakerHalfOpen, "cancelled probe"},
			{0, ok, true, BreakerClosed, "next probe succeeds"},
		},
		"cancelled calls do not count": {
			{0, fail, true, BreakerClosed, ""},
			{0, ign, true, BreakerClosed, ""},
			{0, ign, true, BreakerClosed, ""},
			{0, fail, true, BreakerOpen, ""},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			b := NewBreaker("test", BreakerConfig{Failures: 2, Open: 10 * time.Second}, clock, nil, nil)
			for i, s := range steps {
				clock.Advance(s.advance)
				done, err := b.Allow()
				if (err == nil) != s.allowed {
					t.Fatalf("step %d (%s): allowed = %v, want %v", i, s.describe, err == nil, s.allowed)
				}
				if err != nil {
					if !errors.Is(err, ErrUpstreamUnavailable) || CodeOf(err) != "upstream_unavailable" {
						t.Fatalf("step %d: rejection %v", i, err)
					}
					oe, isRejection := BreakerRejection(err)
					if !isRejection || oe.Name != "test" || !oe.Until.After(clock.Now()) {
						t.Fatalf("step %d: rejection detail %+v", i, oe)
					}
				} else {
					done(s.outcome)
				}
				if got := b.State(); got != s.after {
					t.Fatalf("step %d (%s): state %s, want %s", i, s.describe, got, s.after)
				}
			}
		})
	}
}

// TestBreakerHalfOpenLetsOneProbe: while the probe is out, other calls are
// refused; a report of a call that began before the breaker opened changes
// nothing.
func TestBreakerHalfOpenLetsOneProbe(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBreaker("test", BreakerConfig{Failures: 1, Open: time.Second}, clock, nil, nil)
	stale, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	done, _ := b.Allow()
	done(BreakerFailure)
	if b.State() != BreakerOpen {
		t.Fatal("not open")
	}
	stale(BreakerSuccess) // began while closed: ignored
	if b.State() != BreakerOpen {
		t.Fatal("a stale success closed the breaker")
	}
	clock.Advance(time.Second)
	probe, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Allow(); err == nil {
		t.Fatal("a second call went through while the probe is out")
	}
	if err := b.Ready(); err != nil {
		t.Fatalf("Ready refuses while half-open: %v", err)
	}
	probe(BreakerSuccess)
	probe(BreakerFailure) // a second report of one call is ignored
	if b.State() != BreakerClosed {
		t.Fatalf("state %s after a successful probe", b.State())
	}
}

// TestBreakerReadyAndDo: Ready refuses only while open, without counting;
// Do classifies errors (business refusals are successes).
func TestBreakerReadyAndDo(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	m := NewBreakerMetrics(reg)
	b := NewBreaker("wechat", BreakerConfig{Failures: 2, Open: 5 * time.Second}, clock, nil, m)
	errBusiness := errors.New("bad code")
	failed := func(err error) bool { return errors.Is(err, errDown) }
	for range 5 {
		if err := b.Do(func() error { return errBusiness }, failed); err != errBusiness {
			t.Fatal(err)
		}
	}
	if b.State() != BreakerClosed || b.Ready() != nil {
		t.Fatal("business refusals opened the breaker")
	}
	_ = b.Do(func() error { return context.Canceled }, failed)
	_ = b.Do(func() error { return errDown }, failed)
	_ = b.Do(func() error { return errDown }, failed)
	if b.State() != BreakerOpen {
		t.Fatalf("state %s", b.State())
	}
	ran := false
	err := b.Do(func() error { ran = true; return nil }, failed)
	if ran || !errors.Is(err, ErrUpstreamUnavailable) {
		t.Fatalf("ran %v err %v", ran, err)
	}
	if err := b.Ready(); err == nil {
		t.Fatal("Ready while open")
	} else if pe, _ := AsError(err); !pe.Until.Equal(clock.Now().Add(5 * time.Second)) {
		t.Fatalf("until %v", pe.Until)
	}
	if got := testutil.ToFloat64(m.state.WithLabelValues("wechat")); got != 2 {
		t.Fatalf("state gauge %v", got)
	}
	if got := testutil.ToFloat64(m.rejections.WithLabelValues("wechat")); got != 1 {
		t.Fatalf("rejections %v (Ready must not count)", got)
	}
	if got := testutil.ToFloat64(m.opens.WithLabelValues("wechat")); got != 1 {
		t.Fatalf("opens %v", got)
	}
}

// TestBreakerTransport: 5xx, 429 and transport errors count; 4xx does not;
// an open breaker answers without reaching the server.
func TestBreakerTransport(t *testing.T) {
	var hits atomic.Int64
	status := atomic.Int64{}
	status.Store(http.StatusBadRequest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBreaker("fcm", BreakerConfig{Failures: 3, Open: time.Minute}, clock, nil, nil)
	c := &http.Client{Transport: &BreakerTransport{Breaker: b}}
	get := func() error {
		res, err := c.Get(srv.URL)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	for range 5 {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	if b.State() != BreakerClosed {
		t.Fatal("4xx answers opened the breaker")
	}
	status.Store(http.StatusTooManyRequests)
	_ = get()
	status.Store(http.StatusBadGateway)
	_ = get()
	_ = get()
	if b.State() != BreakerOpen {
		t.Fatalf("state %s after 429, 502, 502", b.State())
	}
	before := hits.Load()
	err := get()
	if !errors.Is(err, ErrUpstreamUnavailable) || hits.Load() != before {
		t.Fatalf("open breaker: err %v, server hit %d more times", err, hits.Load()-before)
	}
	if _, ok := BreakerRejection(err); !ok {
		t.Fatal("no BreakerOpenError through *url.Error")
	}
	// A dead server (transport errors) opens it too.
	dead := NewBreaker("dead", BreakerConfig{Failures: 2, Open: time.Minute}, clock, nil, nil)
	addr := srv.URL
	srv.Close()
	dc := &http.Client{Transport: &BreakerTransport{Breaker: dead}}
	for range 2 {
		if _, err := dc.Get(addr); err == nil || strings.Contains(err.Error(), "circuit breaker") {
			t.Fatalf("expected a transport error, got %v", err)
		}
	}
	if dead.State() != BreakerOpen {
		t.Fatal("transport errors did not open the breaker")
	}
}

// TestBreakerConcurrent hammers one breaker from many goroutines (run with
// -race): failures open it; while it is open, only calls that had been let
// through before it opened still run (at most one per goroutine); half-open
// probes fail and open it again; once the upstream is healthy a probe
// closes it.
func TestBreakerConcurrent(t *testing.T) {
	const workers = 32
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBreaker("race", BreakerConfig{Failures: 5, Open: time.Second}, clock, nil, nil)
	var healthy atomic.Bool
	var calls atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = b.Do(func() error {
					calls.Add(1)
					if healthy.Load() {
						return nil
					}
					return errDown
				}, func(err error) bool { return errors.Is(err, errDown) })
			}
		}()
	}
	waitFor := func(want BreakerState) {
		t.Helper()
		for i := 0; b.State() != want; i++ {
			if i > 5000 {
				t.Fatalf("state %s, want %s", b.State(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(BreakerOpen)
	for range 10 {
		before := calls.Load()
		time.Sleep(20 * time.Millisecond) // open: refusals only
		if ran := calls.Load() - before; ran > workers {
			t.Fatalf("%d calls ran while the breaker was open", ran)
		}
		clock.Advance(time.Second) // a probe goes, fails, and opens it again
		waitFor(BreakerOpen)
	}
	healthy.Store(true)
	clock.Advance(time.Second)
	waitFor(BreakerClosed)
	before := calls.Load()
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if b.State() != BreakerClosed || calls.Load()-before < workers {
		t.Fatalf("state %s, %d calls after closing", b.State(), calls.Load()-before)
	}
}
