package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Circuit breakers for the upstreams Banshi calls (WeChat, WeChat Pay,
// Alipay, FCM). While an upstream is down, every call to it would wait for
// its time-out; a breaker that saw Failures consecutive failures opens and
// refuses calls at once for Open, then lets one probe through (half-open):
// the probe's success closes it, its failure opens it again for Open.
//
// A failure is the upstream not working: a transport error, a time-out, an
// HTTP 5xx or 429. A business refusal (a WeChat errcode for a bad login
// code, a payment channel's "order not found", any other 4xx) is the
// upstream working and counts as a success. A call its caller cancelled
// counts as neither.

// ErrUpstreamUnavailable is the error of a call an open breaker refused.
// Its copies carry Until (when the breaker lets a probe through) and a
// *BreakerOpenError in their chain (BreakerRejection finds it).
var ErrUpstreamUnavailable = NewError("upstream_unavailable", "外部服务暂时不可用，请稍后再试")

// BreakerOpenError says which breaker refused a call and until when.
type BreakerOpenError struct {
	Name  string
	Until time.Time
}

func (e *BreakerOpenError) Error() string {
	return fmt.Sprintf("circuit breaker %s is open until %s", e.Name, e.Until.UTC().Format(time.RFC3339))
}

// BreakerRejection returns the *BreakerOpenError in err's chain: ok is true
// only for a call a breaker refused without sending it (an upstream's own
// failure is not a rejection, even when it has the same error code).
func BreakerRejection(err error) (*BreakerOpenError, bool) {
	var oe *BreakerOpenError
	if errors.As(err, &oe) {
		return oe, true
	}
	return nil, false
}

// BreakerConfig tunes a Breaker; zero fields take the defaults in brackets.
type BreakerConfig struct {
	Failures int           // consecutive failures that open the breaker [5]
	Open     time.Duration // how long it refuses calls before a probe [10 s]
}

// BreakerState is a breaker's state; its number is the state gauge's value.
type BreakerState int

// The states of a breaker.
const (
	BreakerClosed   BreakerState = 0 // calls go through
	BreakerHalfOpen BreakerState = 1 // one probe is let through, the rest refused
	BreakerOpen     BreakerState = 2 // calls are refused
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half_open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

// BreakerOutcome is what a call through a breaker came to.
type BreakerOutcome int

// The outcomes a call reports.
const (
	BreakerSuccess BreakerOutcome = iota // the upstream answered (a business refusal too)
	BreakerFailure                       // the upstream did not work
	BreakerIgnored                       // the caller gave up (cancelled): says nothing of the upstream
)

// Breaker is one upstream's circuit breaker. Build it with NewBreaker.
// Safe for concurrent use.
type Breaker struct {
	name    string
	cfg     BreakerConfig
	clock   Clock
	log     *slog.Logger
	metrics *BreakerMetrics

	mu       sync.Mutex
	state    BreakerState
	failures int       // consecutive failures while closed
	until    time.Time // open: when a probe may go
	probing  bool      // half-open: the probe is out
	gen      uint64    // bumped at every change of state: reports of older calls are ignored
}

// NewBreaker returns the closed breaker of the upstream name ("wechat",
// "wechatpay", "alipay", "fcm"). clock nil is SystemClock; log nil
// discards; metrics nil records nothing.
func NewBreaker(name string, cfg BreakerConfig, clock Clock, log *slog.Logger, metrics *BreakerMetrics) *Breaker {
	if cfg.Failures <= 0 {
		cfg.Failures = 5
	}
	if cfg.Open <= 0 {
		cfg.Open = 10 * time.Second
	}
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	metrics.set(name, BreakerClosed)
	return &Breaker{name: name, cfg: cfg, clock: clock, log: log, metrics: metrics}
}

// Name is the upstream's name.
func (b *Breaker) Name() string { return b.name }

// State returns the breaker's state; an open breaker whose time is up
// already reports half-open (the next call is the probe).
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !b.clock.Now().Before(b.until) {
		return BreakerHalfOpen
	}
	return b.state
}

// Allow asks to make one call. It returns ErrUpstreamUnavailable (a
// rejection, counted) when the breaker is open, or half-open with its probe
// out; otherwise the caller makes the call and then reports its outcome
// with done, exactly once.
func (b *Breaker) Allow() (done func(BreakerOutcome), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if b.state == BreakerOpen && !now.Before(b.until) {
		b.setLocked(BreakerHalfOpen)
	}
	switch b.state {
	case BreakerOpen:
		return nil, b.rejectLocked(b.until)
	case BreakerHalfOpen:
		if b.probing {
			return nil, b.rejectLocked(now.Add(time.Second))
		}
		b.probing = true
	}
	gen := b.gen
	var once sync.Once
	return func(o BreakerOutcome) { once.Do(func() { b.report(gen, o) }) }, nil
}

// Ready returns the rejection Allow would give while the breaker is open and
// its time is not up, nil otherwise. It takes no probe and counts nothing:
// callers use it to refuse work that would start with a call (an order not
// to be created half-way) or to skip an SDK that retries errors itself.
func (b *Breaker) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && b.clock.Now().Before(b.until) {
		return b.rejectionLocked(b.until)
	}
	return nil
}

// Do runs call through the breaker: refused at once when open, else run,
// its error classified by failed (nil error: success; a cancelled context:
// ignored; failed(err) true: failure; else success, a business refusal).
func (b *Breaker) Do(call func() error, failed func(error) bool) error {
	done, err := b.Allow()
	if err != nil {
		return err
	}
	outcome := BreakerIgnored
	defer func() { done(outcome) }() // a panicking call frees the probe
	err = call()
	switch {
	case err == nil:
		outcome = BreakerSuccess
	case errors.Is(err, context.Canceled):
		outcome = BreakerIgnored
	case failed(err):
		outcome = BreakerFailure
	default:
		outcome = BreakerSuccess
	}
	return err
}

func (b *Breaker) report(gen uint64, o BreakerOutcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return // the call began before the last change of state
	}
	switch b.state {
	case BreakerClosed:
		switch o {
		case BreakerSuccess:
			b.failures = 0
		case BreakerFailure:
			b.failures++
			if b.failures >= b.cfg.Failures {
				b.openLocked()
			}
		}
	case BreakerHalfOpen:
		switch o {
		case BreakerSuccess:
			b.failures = 0
			b.setLocked(BreakerClosed)
			b.log.Info("circuit breaker closed: the upstream answered again", "upstream", b.name)
		case BreakerFailure:
			b.openLocked()
		default:
			b.probing = false // the next call probes
		}
	}
}

func (b *Breaker) openLocked() {
	b.until = b.clock.Now().Add(b.cfg.Open)
	b.failures = 0
	b.setLocked(BreakerOpen)
	b.metrics.opened(b.name)
	b.log.Warn("circuit breaker open: calls to the upstream fail at once", "upstream", b.name, "for", b.cfg.Open.String())
}

func (b *Breaker) setLocked(s BreakerState) {
	b.state = s
	b.probing = false
	b.gen++
	b.metrics.set(b.name, s)
}

func (b *Breaker) rejectLocked(until time.Time) error {
	b.metrics.rejected(b.name)
	return b.rejectionLocked(until)
}

func (b *Breaker) rejectionLocked(until time.Time) error {
	return ErrUpstreamUnavailable.WithUntil(until).Wrap(&BreakerOpenError{Name: b.name, Until: until})
}

// BreakerTransport is an http.RoundTripper that sends every request through
// Breaker: refused at once while it is open; a transport error (not the
// request's own cancellation), a time-out, an HTTP 5xx or 429 is a failure;
// any other answer a success. Next nil is http.DefaultTransport.
type BreakerTransport struct {
	Breaker *Breaker
	Next    http.RoundTripper
}

// RoundTrip implements http.RoundTripper. A refusal is ErrUpstreamUnavailable
// (http.Client wraps it in a *url.Error; errors.As still finds it).
func (t *BreakerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	done, err := t.Breaker.Allow()
	if err != nil {
		if r.Body != nil {
			_ = r.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, err
	}
	res, err := next.RoundTrip(r)
	switch {
	case err != nil && errors.Is(r.Context().Err(), context.Canceled):
		done(BreakerIgnored)
	case err != nil:
		done(BreakerFailure)
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		done(BreakerFailure)
	default:
		done(BreakerSuccess)
	}
	return res, err
}
