package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// DispatcherConfig tunes a Dispatcher; zero fields take the defaults in
// brackets.
type DispatcherConfig struct {
	Concurrency int           // deliveries sent at once by this dispatcher [16]
	Batch       int           // deliveries claimed per round trip [64]
	Poll        time.Duration // how often to look for due deliveries when not woken [250 ms]
	Lease       time.Duration // how long a claim lasts before another dispatcher may take it over [2 min]
	SendTimeout time.Duration // one Deliver call at most [20 s]
	Backoff     time.Duration // first retry delay, doubled each attempt, ±20 % jitter [15 s]
	MaxBackoff  time.Duration // largest retry delay [1 h]
	Grace       time.Duration // on stop, how long in-flight sends may finish [10 s]
	Log         *slog.Logger  // nil: discard
	Metrics     *Metrics      // nil: none
}

// Dispatcher sends the outbox's due deliveries through their channels. Any
// number of dispatchers (goroutines, processes) may run on one outbox: each
// claims a batch from the queue in Redis with one atomic move, so a delivery
// is sent by one dispatcher at a time, and records each outcome in MongoDB by
// the delivery's _id. Delivery is at least once: a dispatcher that dies
// between a send and its record leaves its claim to lapse (Lease), and the
// delivery is sent again — never more than the deliveries it had in flight.
type Dispatcher struct {
	outbox   *Outbox
	channels map[string]Channel
	cfg      DispatcherConfig
	holder   string
	log      *slog.Logger
}

// NewDispatcher returns a dispatcher of outbox over channels.
func NewDispatcher(outbox *Outbox, channels []Channel, cfg DispatcherConfig) *Dispatcher {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	def(&cfg.Poll, 250*time.Millisecond)
	def(&cfg.Lease, 2*time.Minute)
	def(&cfg.SendTimeout, 20*time.Second)
	def(&cfg.Backoff, 15*time.Second)
	def(&cfg.MaxBackoff, time.Hour)
	def(&cfg.Grace, 10*time.Second)
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := map[string]Channel{}
	for _, c := range channels {
		m[c.Name()] = c
	}
	return &Dispatcher{outbox: outbox, channels: m, cfg: cfg, holder: newToken(), log: log}
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run dispatches until ctx ends. Then it stops claiming, lets the sends in
// flight finish (for at most Grace), and releases what it claimed but did not
// start. It returns nil after a stop, or a storage error it could not get
// past (after logging each one and retrying for a while, it keeps going: a
// store outage stops delivery, not the process).
func (d *Dispatcher) Run(ctx context.Context) error {
	jobs := make(chan deliveryDoc)
	var wg sync.WaitGroup
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	for range d.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				d.deliver(sendCtx, j)
			}
		}()
	}
	stop := func(unstarted []deliveryDoc) error {
		close(jobs)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(d.cfg.Grace):
			cancelSends() // the sends record their failure and are retried
			<-done
		}
		return d.release(context.WithoutCancel(ctx), unstarted)
	}
	// What a lost queue forgot is queued again before this dispatcher starts;
	// later, Outbox.RunReconciler does it in one process at a time.
	d.reconcile(ctx)
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		batch, err := d.claim(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("outbox claim failed; retrying", "err", err)
		}
		for i, j := range batch {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return stop(batch[i:])
			}
		}
		if len(batch) == d.cfg.Batch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return stop(nil)
		case <-t.C:
		case <-d.outbox.wake:
		}
	}
}

// reconcile queues what the queue lacks, logging (not failing on) errors.
func (d *Dispatcher) reconcile(ctx context.Context) {
	n, err := d.outbox.Reconcile(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.Warn("outbox reconcile failed; the next one goes on", "err", err)
	case n > 0:
		d.log.Info("outbox reconcile queued deliveries the queue had lost", "deliveries", n)
	}
}

// RunOnce claims one batch of due deliveries and sends it, waiting for every
// send. It returns how many it handled. For tests and tools.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	batch, err := d.claim(ctx)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, j := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d.deliver(ctx, j)
		}()
	}
	wg.Wait()
	return len(batch), nil
}

// claim takes up to Batch due deliveries from the queue (an atomic move in
// Redis: racing dispatchers never get one id twice), each with the payload
// the queue carries. An id whose payload the queue lost is read from
// MongoDB by _id, and dropped when its delivery is gone or already final;
// one not yet due is queued again for then.
func (d *Dispatcher) claim(ctx context.Context) ([]deliveryDoc, error) {
	o := d.outbox
	now := o.clock.Now().UTC().Truncate(time.Millisecond)
	got, err := o.q.claim(ctx, now, d.cfg.Batch, d.cfg.Lease)
	if err != nil {
		return nil, err
	}
	var docs []deliveryDoc
	for _, c := range got {
		var j deliveryDoc
		if c.payload == nil || bson.Unmarshal(c.payload, &j) != nil || j.ID != c.id {
			var ok bool
			if j, ok = d.fromStore(ctx, c.id); !ok {
				continue
			}
		}
		if j.DueAt.After(now) {
			if err := o.q.release(ctx, c.id, j.DueAt); err != nil {
				d.log.Warn("outbox delivery not requeued; its lease lapses", "delivery", c.id, "err", err)
			}
			continue
		}
		j.Attempts = c.attempt - 1
		j.lease = ms(now.Add(d.cfg.Lease))
		docs = append(docs, j)
	}
	return docs, nil
}

// fromStore reads a claimed delivery the queue had no payload for; false
// (after dropping it from the queue, or leaving its lease to lapse on a
// storage error) when there is nothing to send.
func (d *Dispatcher) fromStore(ctx context.Context, id string) (deliveryDoc, bool) {
	var j deliveryDoc
	err := d.outbox.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&j)
	if errors.Is(err, mongo.ErrNoDocuments) {
		d.drop(ctx, id)
		return j, false
	}
	final := false
	if err == nil {
		final, err = d.outbox.isFinal(ctx, id)
	}
	if err != nil {
		d.log.Warn("outbox delivery not read; its lease lapses", "delivery", id, "err", err)
		return j, false
	}
	if final {
		d.drop(ctx, id)
		return j, false
	}
	return j, true
}

// drop removes a claimed id that has nothing left to send.
func (d *Dispatcher) drop(ctx context.Context, id string) {
	if err := d.outbox.q.done(ctx, id, d.outbox.clock.Now()); err != nil {
		d.log.Warn("outbox queue entry not dropped; its lease lapses", "delivery", id, "err", err)
	}
}

// deliver sends one claimed delivery and records the outcome, conditionally
// on still holding the claim.
func (d *Dispatcher) deliver(ctx context.Context, j deliveryDoc) {
	ch := d.channels[j.Channel]
	start := time.Now()
	var err error
	if ch == nil {
		err = Permanent("no_channel", fmt.Errorf("no channel %q in this process", j.Channel))
	} else {
		sctx, cancel := context.WithTimeout(withTraceParent(ctx, j.TraceParent), d.cfg.SendTimeout)
		err = ch.Deliver(sctx, Delivery{ID: j.ID, Message: j.Message, Attempt: j.Attempts + 1})
		cancel()
	}
	took := time.Since(start)
	now := d.outbox.clock.Now().UTC().Truncate(time.Millisecond)
	if oe, ok := platform.BreakerRejection(err); ok && d.holdForBreaker(ctx, j, oe, now) {
		return
	}
	attempt := j.Attempts + 1
	r := resultDoc{DeliveryID: j.ID, Channel: j.Channel, Attempt: attempt, At: now, Final: true, State: StateSent}
	code := "ok"
	if err != nil {
		o := outcomeOf(err)
		code = o.Code
		r.Code, r.Error = o.Code, clip(err.Error(), 300)
		switch o.kind {
		case outcomeSkip:
			r.State = StateSkipped
		case outcomePermanent:
			r.State = StateDead
		default:
			delay := d.backoff(attempt, o.After)
			if b, ok := ch.(Backoffer); ok {
				delay = max(b.Backoff(attempt), o.After)
			}
			if next := now.Add(delay); next.After(j.Deadline) {
				r.State = StateDead
			} else {
				r.Final, r.State, r.NextDue = false, StateFailed, next
			}
		}
	}
	r.ID = finalID(j.ID)
	if !r.Final {
		r.ID = fmt.Sprintf("%s#%d", j.ID, attempt)
	}
	d.cfg.Metrics.observe(j.Channel, code, took)
	// The claim check, the record, then the queue: a process that dies in
	// between leaves the id in flight; its lease lapses and it is tried
	// again (at least once) — the record of a final outcome stays the first.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if mine, oerr := d.outbox.q.owns(rctx, j.ID, j.lease); oerr != nil || !mine {
		d.log.Warn("outbox claim lapsed before the outcome was recorded; another dispatcher sends it again", "delivery", j.ID, "err", oerr)
		return
	}
	if inserted, rerr := d.outbox.record(rctx, r); rerr != nil {
		d.log.Warn("outbox outcome not recorded; the claim lapses and it is sent again", "delivery", j.ID, "err", rerr)
	} else {
		if inserted && r.State == StateDead {
			d.cfg.Metrics.deadLetter(j.Channel) // once: the first record of its final outcome
		}
		var qerr error
		if r.Final {
			qerr = d.outbox.q.done(rctx, j.ID, now)
		} else {
			qerr = d.outbox.q.requeue(rctx, j.ID, r.NextDue, nil)
		}
		if qerr != nil {
			d.log.Warn("outbox outcome recorded but the queue not updated; the claim lapses", "delivery", j.ID, "err", qerr)
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		d.log.Info("outbox delivery not sent", "delivery", j.ID, "channel", j.Channel, "code", code, "state", r.State)
	}
}

// holdForBreaker puts back a delivery that its channel's open circuit
// breaker refused without sending (platform.BreakerRejection): due again
// when the breaker lets a probe through (plus up to a second of jitter),
// the attempt not counted, no result recorded: an outage of an upstream
// neither burns attempts (and so lengthens the backoff) nor dead-letters
// anything before its deadline. A delivery whose deadline comes first is
// not held (false): it takes the ordinary path and ends dead.
// A hold is not an attempt: banshi_outbox_deliveries_total leaves it out
// (the breaker's banshi_breaker_rejections_total counts it).
func (d *Dispatcher) holdForBreaker(ctx context.Context, j deliveryDoc, oe *platform.BreakerOpenError, now time.Time) bool {
	at := maxTime(oe.Until, now).Add(time.Duration(mrand.Int64N(int64(time.Second))))
	if at.After(j.Deadline) {
		return false
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if mine, err := d.outbox.q.owns(rctx, j.ID, j.lease); err != nil || !mine {
		return true // the claim lapsed: another dispatcher has it
	}
	if err := d.outbox.q.release(rctx, j.ID, at); err != nil {
		d.log.Warn("outbox delivery held for an open breaker not requeued; its lease lapses", "delivery", j.ID, "err", err)
	}
	return true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// backoff is the delay before attempt+1: Backoff doubled per attempt, capped,
// with ±20 % jitter; at least after when the channel asked for it.
func (d *Dispatcher) backoff(attempt int, after time.Duration) time.Duration {
	b := d.cfg.Backoff
	for i := 1; i < attempt && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	b = time.Duration(float64(b) * (0.8 + 0.4*mrand.Float64()))
	return max(b, after)
}

// release gives claimed deliveries that were never started back to the queue.
func (d *Dispatcher) release(ctx context.Context, docs []deliveryDoc) error {
	if len(docs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now := d.outbox.clock.Now()
	var firstErr error
	for _, j := range docs {
		if err := d.outbox.q.release(ctx, j.ID, now); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("release deliveries: %w", err)
		}
	}
	return firstErr
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
