package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Delivery states of the outbox.
const (
	StatePending = "pending" // waiting for its first try (also while a dispatcher sends it: the queue knows)
	StateSending = "sending" // being sent: shown from the queue's in-flight set, never stored
	StateSent    = "sent"
	StateFailed  = "failed"  // the last try failed; the next is due at due_at
	StateSkipped = "skipped" // nothing to deliver on that channel (no credit, no device, off)
	StateDead    = "dead"    // permanent failure, or still failing at the deadline
)

// States lists the delivery states, for admin filters and metrics.
func States() []string {
	return []string{StatePending, StateSending, StateSent, StateFailed, StateSkipped, StateDead}
}

// ErrNotFound: no such outbox delivery.
var ErrNotFound = platform.NewError("not_found", "未找到该消息投递记录")

// ErrNotRetryable: only failed and dead deliveries can be retried by hand.
var ErrNotRetryable = platform.NewError("not_retryable", "只有失败或已放弃的消息可以重新投递")

// Route is one channel a message goes out on, and not before when (quiet
// hours hold reminders back).
type Route struct {
	Channel   string
	NotBefore time.Time
}

// Router chooses the channels of each message for its citizen: preferences
// per kind and channel, quiet hours. Channels lists the channels this Outbox
// knows; a Router returns, for msgs[i], a subset of them in any order. It is
// called once per publish, so a closure notice to thousands of citizens
// reads their preferences in bulk.
type Router interface {
	Route(ctx context.Context, msgs []Message, channels []string) ([][]Route, error)
}

// deliveryDoc is one outbox document: one message for one channel.
type deliveryDoc struct {
	ID        string    `bson:"_id"` // "<message id>|<channel>"
	MessageID string    `bson:"message_id"`
	Channel   string    `bson:"channel"`
	UserID    string    `bson:"user_id"`
	Kind      string    `bson:"kind"`
	Message   Message   `bson:"message"`
	State     string    `bson:"state"`
	Attempts  int       `bson:"attempts"`
	DueAt     time.Time `bson:"due_at"`
	Deadline  time.Time `bson:"deadline"`
	LastCode  string    `bson:"last_code,omitempty"`
	LastError string    `bson:"last_error,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
	SentAt    time.Time `bson:"sent_at,omitempty"`
	// RetryAfter is the attempt after which an admin retried it: results
	// of attempts up to it are history.
	RetryAfter int `bson:"retry_after,omitempty"`
	// TraceParent is the W3C traceparent of the publishing request (empty
	// with tracing off): the send continues that trace (tracecontext.go).
	TraceParent string `bson:"traceparent,omitempty"`

	lease int64 // the claim's lease end in the queue (Unix ms); set by claim
}

// OutboxConfig tunes an Outbox; zero fields take the defaults in brackets.
type OutboxConfig struct {
	Deadline time.Duration // how long a delivery is retried before it is dead [24 h]
}

// OutboxDeps are what an Outbox is built on.
type OutboxDeps struct {
	DB          *mongo.Database       // the deliveries (collection "outbox"): the truth
	Redis       redis.UniversalClient // the queue: which deliveries are due, which are being sent
	RedisPrefix string
	Inbox       *Inbox   // where every citizen's message is stored
	Router      Router   // nil: every channel, at once
	Channels    []string // the channels dispatchers serve (citizen messages go to those the router picks)
	Clock       platform.Clock
	Log         *slog.Logger // nil: discard
}

// Outbox records what must be told to whom, durably, before anything is
// sent: Notify stores the message in the in-app inbox and one delivery per
// external channel, each keyed by "<message id>|<channel>", so publishing the
// same message again (a retried request, a replayed event, a second sweeper)
// stores nothing twice. Deliveries are then queued in Redis (queue.go);
// dispatchers (dispatcher.go) deliver them.
type Outbox struct {
	coll     *mongo.Collection
	results  *mongo.Collection
	q        *queue
	inbox    *Inbox
	router   Router
	channels []string
	clock    platform.Clock
	log      *slog.Logger
	deadline time.Duration
	wake     chan struct{}
}

// NewOutbox returns the outbox on d.
func NewOutbox(d OutboxDeps, cfg OutboxConfig) *Outbox {
	if cfg.Deadline <= 0 {
		cfg.Deadline = 24 * time.Hour
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{
		coll: d.DB.Collection("outbox"), results: d.DB.Collection("outbox_results"), q: newQueue(d.Redis, d.RedisPrefix), inbox: d.Inbox, router: d.Router,
		channels: append([]string(nil), d.Channels...), clock: d.Clock, log: log, deadline: cfg.Deadline,
		wake: make(chan struct{}, 1),
	}
}

// EnsureIndexes creates the indexes dispatchers and admins read by.
func (o *Outbox) EnsureIndexes(ctx context.Context) error {
	for _, keys := range []bson.D{
		{{Key: "state", Value: 1}, {Key: "due_at", Value: 1}},
		{{Key: "state", Value: 1}, {Key: "updated_at", Value: -1}},
		{{Key: "message_id", Value: 1}},
	} {
		if _, err := o.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
			return fmt.Errorf("outbox indexes: %w", err)
		}
	}
	for _, keys := range []bson.D{
		{{Key: "delivery_id", Value: 1}},
		{{Key: "final", Value: 1}, {Key: "at", Value: 1}}, // the dashboard's messages per day (stats.go)
	} {
		if _, err := o.results.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
			return fmt.Errorf("outbox indexes: %w", err)
		}
	}
	return nil
}

// Notify publishes m: it is stored in the citizen's inbox and queued for every
// channel the router picks. Idempotent by m.ID. Errors: ErrInvalid (missing
// ID, user or title), storage errors (then nothing, or part of it, is stored:
// publish again).
func (o *Outbox) Notify(ctx context.Context, m Message) error {
	return o.Publish(ctx, []Message{m})
}

// Publish is Notify for many messages at once (a closure notice to every
// booked citizen): inbox messages and deliveries are written in bulk.
func (o *Outbox) Publish(ctx context.Context, msgs []Message) error {
	return o.publish(ctx, msgs, nil)
}

// PublishTo queues msgs for one channel only, with no inbox message and no
// router: deliveries to systems rather than citizens (a department's
// callback), whose Message.UserID names the recipient system. Idempotent by
// Message.ID like Publish. Errors: ErrInvalid, storage errors.
func (o *Outbox) PublishTo(ctx context.Context, channel string, msgs []Message) error {
	return o.publish(ctx, msgs, []Route{{Channel: channel}})
}

// publish stores msgs and their deliveries: on the routes given, or (nil)
// in the inbox and on the routes the router picks.
func (o *Outbox) publish(ctx context.Context, msgs []Message, fixed []Route) error {
	now := o.clock.Now()
	for i := range msgs {
		m := &msgs[i]
		if err := m.validate(); err != nil {
			return err
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Millisecond)
	}
	var routed [][]Route
	if fixed == nil {
		var err error
		if routed, err = o.routes(ctx, msgs); err != nil {
			return err
		}
	}
	var docs []any
	traceparent := traceParentOf(ctx)
	for i := range msgs {
		m := &msgs[i]
		routes := fixed
		if routes == nil {
			routes = routed[i]
		}
		for _, r := range routes {
			due := now
			if r.NotBefore.After(due) {
				due = r.NotBefore
			}
			docs = append(docs, deliveryDoc{
				ID: m.ID + "|" + r.Channel, MessageID: m.ID, Channel: r.Channel, UserID: m.UserID, Kind: m.Kind,
				Message: *m, State: StatePending, DueAt: due.UTC().Truncate(time.Millisecond),
				Deadline:  due.Add(o.deadline).UTC().Truncate(time.Millisecond),
				CreatedAt: now.UTC().Truncate(time.Millisecond), UpdatedAt: now.UTC().Truncate(time.Millisecond),
				TraceParent: traceparent,
			})
		}
	}
	if fixed == nil {
		if err := o.inbox.addMany(ctx, msgs); err != nil {
			return err
		}
	}
	dups, err := insertIgnoringDuplicates(ctx, o.coll, docs)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	// Stored is accepted: a queue that missed them (Redis unreachable) is
	// filled again from MongoDB by the dispatchers' reconcile. Deliveries
	// published before (duplicates) are queued already, or done.
	var items []queued
	for i, d := range docs {
		if dups[i] {
			continue
		}
		dd := d.(deliveryDoc)
		items = append(items, queued{id: dd.ID, due: dd.DueAt, payload: dd.payload()})
	}
	if len(items) == 0 {
		return nil
	}
	if _, err := o.q.add(ctx, items); err != nil {
		o.log.Warn("outbox deliveries stored but not queued; the reconcile queues them", "deliveries", len(items), "err", err)
	}
	o.poke()
	return nil
}

// Reconcile queues every delivery still to send that the queue lacks (it is
// neither due nor in flight there): after Redis lost data, or a publish that
// stored deliveries but could not queue them. It reads the whole outbox and
// its results, so dispatchers run it at start and then rarely. It returns
// how many it queued.
func (o *Outbox) Reconcile(ctx context.Context) (int, error) {
	docs, latest, err := o.scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox reconcile: %w", err)
	}
	var items []queued
	for _, d := range docs {
		r, ok := latest[d.ID]
		if ok && r.Final {
			continue
		}
		due := d.DueAt
		if ok && r.NextDue.After(due) && r.Attempt > d.RetryAfter {
			due = r.NextDue
		}
		items = append(items, queued{id: d.ID, due: due, payload: d.payload()})
	}
	n, err := o.q.add(ctx, items)
	if n > 0 {
		o.poke()
	}
	return n, err
}

// reconcileLease names the lease under which one process at a time runs the
// periodic reconcile.
const reconcileLease = "notify.reconcile"

// RunReconciler runs Reconcile every period (default 5 minutes) until ctx
// ends, in one process at a time (under a lease of leases): a full reading
// of the outbox, kept off the dispatchers' loop and out of every replica.
func (o *Outbox) RunReconciler(ctx context.Context, leases *platform.Leases, every time.Duration) {
	if every <= 0 {
		every = 5 * time.Minute
	}
	leases.RunEvery(ctx, reconcileLease, platform.LeaseRun{Log: o.log}, every, func(ctx context.Context) error {
		n, err := o.Reconcile(ctx)
		if n > 0 {
			o.log.Info("outbox reconcile queued deliveries the queue had lost", "deliveries", n)
		}
		return err
	})
}

func (o *Outbox) routes(ctx context.Context, msgs []Message) ([][]Route, error) {
	if o.router == nil {
		out := make([][]Route, len(msgs))
		for i := range msgs {
			for _, c := range o.channels {
				out[i] = append(out[i], Route{Channel: c})
			}
		}
		return out, nil
	}
	rs, err := o.router.Route(ctx, msgs, o.channels)
	if err != nil {
		return nil, fmt.Errorf("route %d messages: %w", len(msgs), err)
	}
	if len(rs) != len(msgs) {
		return nil, fmt.Errorf("router answered %d routes for %d messages", len(rs), len(msgs))
	}
	return rs, nil
}

// poke wakes this process's dispatchers (others poll).
func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// insertIgnoringDuplicates inserts docs in batches, unordered, treating a
// duplicate key (already published) as done. It returns the indexes in docs
// of the duplicates.
func insertIgnoringDuplicates(ctx context.Context, coll *mongo.Collection, docs []any) (map[int]bool, error) {
	dups := map[int]bool{}
	for base := 0; base < len(docs); base += 500 {
		batch := docs[base:min(len(docs), base+500)]
		_, err := coll.InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return nil, err
		}
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) {
			for _, e := range bwe.WriteErrors {
				dups[base+e.Index] = true
			}
		} else if err != nil {
			for i := range batch { // one duplicate key error without indexes: all suspect
				dups[base+i] = true
			}
		}
	}
	return dups, nil
}

// onlyDuplicates reports a bulk write error whose every failure is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) {
		if bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
			return false
		}
		for _, e := range bwe.WriteErrors {
			if e.Code != 11000 {
				return false
			}
		}
		return true
	}
	return platform.IsDuplicateKey(err)
}

// DeliveryView is a delivery as admins see it.
type DeliveryView struct {
	ID        string    `json:"id"`
	MessageID string    `json:"message_id"`
	Channel   string    `json:"channel"`
	UserID    string    `json:"user_id"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	DueAt     time.Time `json:"due_at"`
	Deadline  time.Time `json:"deadline"`
	LastCode  string    `json:"last_code,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// view is d as its latest result r (nil: none yet) leaves it.
func (d deliveryDoc) view(r *resultDoc) DeliveryView {
	v := DeliveryView{
		ID: d.ID, MessageID: d.MessageID, Channel: d.Channel, UserID: d.UserID, Kind: d.Kind, State: StatePending,
		DueAt: platform.Local(d.DueAt), Deadline: platform.Local(d.Deadline),
		CreatedAt: platform.Local(d.CreatedAt), UpdatedAt: platform.Local(d.UpdatedAt),
	}
	// A result older than the delivery's last change (an admin's retry) is
	// history: the delivery waits for its next try.
	if r != nil && (r.Final || r.Attempt > d.RetryAfter) {
		v.State, v.Attempts, v.LastCode, v.LastError = r.State, r.Attempt, r.Code, r.Error
		v.UpdatedAt = platform.Local(r.At)
		if r.State == StateFailed {
			v.DueAt = platform.Local(r.NextDue)
		}
	}
	return v
}

// List returns deliveries in state (one of States; "" for any), most recently
// changed first, at most limit (1..200, default 50). It reads the whole
// outbox (an admin's occasional look). Errors: ErrInvalid (unknown state),
// storage errors.
func (o *Outbox) List(ctx context.Context, state string, limit int) ([]DeliveryView, error) {
	if state != "" && !validState(state) {
		return nil, platform.Invalid("state", "enum", "状态应为 "+strings.Join(States(), "、")+" 之一")
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	docs, latest, err := o.scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox list: %w", err)
	}
	inflight, err := o.q.rdb.ZRange(ctx, o.q.inflight, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("outbox list: %w", err)
	}
	sending := map[string]bool{}
	for _, id := range inflight {
		sending[id] = true
	}
	out := []DeliveryView{}
	for _, d := range docs {
		var r *resultDoc
		if x, ok := latest[d.ID]; ok {
			r = &x
		}
		v := d.view(r)
		if sending[d.ID] && v.State != StateSent && v.State != StateSkipped && v.State != StateDead {
			v.State = StateSending
		}
		if state == "" || v.State == state {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b DeliveryView) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func validState(s string) bool {
	for _, x := range States() {
		if x == s {
			return true
		}
	}
	return false
}

// Retry queues a failed or dead delivery again, due now, with a fresh
// deadline. Errors: ErrNotFound, ErrNotRetryable (any other state), storage
// errors.
func (o *Outbox) Retry(ctx context.Context, id string) (DeliveryView, error) {
	d, r, err := o.get(ctx, id)
	if err != nil {
		return DeliveryView{}, err
	}
	if v := d.view(r); v.State != StateFailed && v.State != StateDead {
		return DeliveryView{}, ErrNotRetryable
	}
	now := o.clock.Now().UTC().Truncate(time.Millisecond)
	if r.Final {
		// The final result becomes history, kept under another id.
		hist := *r
		hist.ID, hist.Final = fmt.Sprintf("%s#retried-%d", id, now.UnixMilli()), false
		if _, err := o.results.InsertOne(ctx, hist); err != nil {
			return DeliveryView{}, fmt.Errorf("outbox retry: %w", err)
		}
		if _, err := o.results.DeleteOne(ctx, bson.M{"_id": finalID(id)}); err != nil {
			return DeliveryView{}, fmt.Errorf("outbox retry: %w", err)
		}
	}
	d.DueAt, d.Deadline, d.UpdatedAt, d.RetryAfter = now, now.Add(o.deadline), now, r.Attempt
	if _, err := o.coll.UpdateOne(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"due_at": d.DueAt, "deadline": d.Deadline, "updated_at": now, "retry_after": r.Attempt}}); err != nil {
		return DeliveryView{}, fmt.Errorf("outbox retry: %w", err)
	}
	if err := o.q.requeue(ctx, id, now, d.payload()); err != nil {
		o.log.Warn("outbox retry stored but not queued; the reconcile queues it", "delivery", id, "err", err)
	}
	o.poke()
	return d.view(nil), nil
}

// Get returns one delivery ("<message id>|<channel>"). Errors: ErrNotFound.
func (o *Outbox) Get(ctx context.Context, id string) (DeliveryView, error) {
	d, r, err := o.get(ctx, id)
	if err != nil {
		return DeliveryView{}, err
	}
	return d.view(r), nil
}

// Depth counts the queue for metrics: "queued" deliveries (due now, or
// later: retries and deliveries held by quiet hours) and "sending" ones. It
// reads Redis only: counting MongoDB by state would scan the outbox.
func (o *Outbox) Depth(ctx context.Context) (map[string]int64, error) {
	q, f, err := o.q.depth(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]int64{"queued": q, StateSending: f}, nil
}
