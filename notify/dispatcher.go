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
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
// claims a batch with a conditional update that only matches deliveries still
// due and unclaimed (or whose claim lapsed), so a delivery is sent by one
// dispatcher at a time. Delivery is at least once: a dispatcher that dies
// between a send and its record leaves the claim to lapse, and the delivery is
// sent again — never more than the deliveries it had in flight.
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

// claimable matches deliveries a dispatcher may take now: due ones waiting for
// a (first or next) try, and claims that lapsed (their dispatcher died).
func claimable(now time.Time) bson.M {
	return bson.M{"$or": bson.A{
		bson.M{"state": bson.M{"$in": bson.A{StatePending, StateFailed}}, "due_at": bson.M{"$lte": now}},
		bson.M{"state": StateSending, "lease_until": bson.M{"$lte": now}},
	}}
}

// claim takes up to Batch due deliveries: it reads candidates, then marks
// those still claimable with a token of its own in one conditional update, and
// reads back what carries the token — a delivery another dispatcher took in
// between no longer matches and is not ours.
func (d *Dispatcher) claim(ctx context.Context) ([]deliveryDoc, error) {
	o := d.outbox
	now := o.clock.Now().UTC().Truncate(time.Millisecond)
	cur, err := o.coll.Find(ctx, claimable(now), options.Find().
		SetSort(bson.D{{Key: "due_at", Value: 1}}).SetLimit(int64(d.cfg.Batch)).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", err)
	}
	var ids []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &ids); err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	in := make(bson.A, len(ids))
	for i, x := range ids {
		in[i] = x.ID
	}
	token := newToken()
	f := claimable(now)
	f["_id"] = bson.M{"$in": in}
	if _, err := o.coll.UpdateMany(ctx, f, bson.M{
		"$set": bson.M{"state": StateSending, "holder": d.holder, "claim": token, "lease_until": now.Add(d.cfg.Lease), "updated_at": now},
		"$inc": bson.M{"attempts": 1},
	}); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	cur, err = o.coll.Find(ctx, bson.M{"claim": token})
	if err != nil {
		return nil, fmt.Errorf("read claimed deliveries: %w", err)
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read claimed deliveries: %w", err)
	}
	return docs, nil
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
		sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
		err = ch.Deliver(sctx, Delivery{ID: j.ID, Message: j.Message, Attempt: j.Attempts})
		cancel()
	}
	took := time.Since(start)
	now := d.outbox.clock.Now().UTC().Truncate(time.Millisecond)
	set := bson.M{"updated_at": now}
	code := "ok"
	switch {
	case err == nil:
		set["state"], set["sent_at"] = StateSent, now
	default:
		o := outcomeOf(err)
		code = o.Code
		set["last_code"], set["last_error"] = o.Code, clip(err.Error(), 300)
		switch o.kind {
		case outcomeSkip:
			set["state"] = StateSkipped
		case outcomePermanent:
			set["state"] = StateDead
		default:
			delay := d.backoff(j.Attempts, o.After)
			if b, ok := ch.(Backoffer); ok {
				delay = max(b.Backoff(j.Attempts), o.After)
			}
			next := now.Add(delay)
			if next.After(j.Deadline) {
				set["state"] = StateDead
			} else {
				set["state"], set["due_at"] = StateFailed, next
			}
		}
	}
	d.cfg.Metrics.observe(j.Channel, code, took)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, uerr := d.outbox.coll.UpdateOne(rctx, bson.M{"_id": j.ID, "claim": j.Claim},
		bson.M{"$set": set, "$unset": bson.M{"claim": "", "holder": "", "lease_until": ""}})
	switch {
	case uerr != nil:
		d.log.Warn("outbox outcome not recorded; the claim lapses and it is sent again", "delivery", j.ID, "err", uerr)
	case res.MatchedCount == 0:
		d.log.Warn("outbox claim lost before the outcome was recorded; another dispatcher sends it again", "delivery", j.ID)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		d.log.Info("outbox delivery not sent", "delivery", j.ID, "channel", j.Channel, "code", code, "state", set["state"])
	}
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
	var firstErr error
	for _, j := range docs {
		_, err := d.outbox.coll.UpdateOne(ctx, bson.M{"_id": j.ID, "claim": j.Claim},
			bson.M{"$set": bson.M{"state": StatePending}, "$inc": bson.M{"attempts": -1},
				"$unset": bson.M{"claim": "", "holder": "", "lease_until": ""}})
		if err != nil && firstErr == nil && !errors.Is(err, mongo.ErrNoDocuments) {
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
