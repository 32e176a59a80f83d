package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Delivery states of the outbox.
const (
	StatePending = "pending" // waiting for its first try (or released by a stopping dispatcher)
	StateSending = "sending" // claimed by a dispatcher until lease_until
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
	ID         string    `bson:"_id"` // "<message id>|<channel>"
	MessageID  string    `bson:"message_id"`
	Channel    string    `bson:"channel"`
	UserID     string    `bson:"user_id"`
	Kind       string    `bson:"kind"`
	Message    Message   `bson:"message"`
	State      string    `bson:"state"`
	Attempts   int       `bson:"attempts"`
	DueAt      time.Time `bson:"due_at"`
	Deadline   time.Time `bson:"deadline"`
	Holder     string    `bson:"holder,omitempty"`
	Claim      string    `bson:"claim,omitempty"`
	LeaseUntil time.Time `bson:"lease_until,omitempty"`
	LastCode   string    `bson:"last_code,omitempty"`
	LastError  string    `bson:"last_error,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
	SentAt     time.Time `bson:"sent_at,omitempty"`
}

// OutboxConfig tunes an Outbox; zero fields take the defaults in brackets.
type OutboxConfig struct {
	Deadline time.Duration // how long a delivery is retried before it is dead [24 h]
}

// Outbox records what must be told to whom, durably, before anything is
// sent: Notify stores the message in the in-app inbox and one delivery per
// external channel, each keyed by "<message id>|<channel>", so publishing the
// same message again (a retried request, a replayed event, a second sweeper)
// stores nothing twice. Dispatchers (dispatcher.go) deliver them.
type Outbox struct {
	coll     *mongo.Collection
	inbox    *Inbox
	router   Router
	channels []string
	clock    platform.Clock
	deadline time.Duration
	wake     chan struct{}
}

// NewOutbox returns the outbox on db (collection "outbox"), writing messages
// into inbox and deliveries for the named channels (those a dispatcher will
// serve), routed by router (nil: every channel, at once).
func NewOutbox(db *mongo.Database, inbox *Inbox, router Router, channels []string, clock platform.Clock, cfg OutboxConfig) *Outbox {
	if cfg.Deadline <= 0 {
		cfg.Deadline = 24 * time.Hour
	}
	return &Outbox{
		coll: db.Collection("outbox"), inbox: inbox, router: router, channels: append([]string(nil), channels...),
		clock: clock, deadline: cfg.Deadline, wake: make(chan struct{}, 1),
	}
}

// EnsureIndexes creates the indexes dispatchers and admins read by.
func (o *Outbox) EnsureIndexes(ctx context.Context) error {
	for _, keys := range []bson.D{
		{{Key: "state", Value: 1}, {Key: "due_at", Value: 1}},
		{{Key: "claim", Value: 1}},
		{{Key: "state", Value: 1}, {Key: "updated_at", Value: -1}},
		{{Key: "message_id", Value: 1}},
	} {
		if _, err := o.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
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
			})
		}
	}
	if fixed == nil {
		if err := o.inbox.addMany(ctx, msgs); err != nil {
			return err
		}
	}
	if err := insertIgnoringDuplicates(ctx, o.coll, docs); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if len(docs) > 0 {
		o.poke()
	}
	return nil
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
// duplicate key (already published) as done.
func insertIgnoringDuplicates(ctx context.Context, coll *mongo.Collection, docs []any) error {
	for len(docs) > 0 {
		n := min(len(docs), 500)
		_, err := coll.InsertMany(ctx, docs[:n], options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return err
		}
		docs = docs[n:]
	}
	return nil
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

func (d deliveryDoc) view() DeliveryView {
	return DeliveryView{
		ID: d.ID, MessageID: d.MessageID, Channel: d.Channel, UserID: d.UserID, Kind: d.Kind, State: d.State,
		Attempts: d.Attempts, DueAt: platform.Local(d.DueAt), Deadline: platform.Local(d.Deadline),
		LastCode: d.LastCode, LastError: d.LastError,
		CreatedAt: platform.Local(d.CreatedAt), UpdatedAt: platform.Local(d.UpdatedAt),
	}
}

// List returns deliveries in state (one of States; "" for any), most recently
// changed first, at most limit (1..200, default 50). Errors: ErrInvalid
// (unknown state), storage errors.
func (o *Outbox) List(ctx context.Context, state string, limit int) ([]DeliveryView, error) {
	f := bson.M{}
	if state != "" {
		if !validState(state) {
			return nil, platform.Invalid("state", "enum", "状态应为 "+strings.Join(States(), "、")+" 之一")
		}
		f["state"] = state
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	cur, err := o.coll.Find(ctx, f, options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("outbox list: %w", err)
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("outbox list: %w", err)
	}
	out := make([]DeliveryView, len(docs))
	for i, d := range docs {
		out[i] = d.view()
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
	now := o.clock.Now().UTC().Truncate(time.Millisecond)
	var d deliveryDoc
	err := o.coll.FindOneAndUpdate(ctx,
		bson.M{"_id": id, "state": bson.M{"$in": bson.A{StateFailed, StateDead}}},
		bson.M{"$set": bson.M{"state": StatePending, "due_at": now, "deadline": now.Add(o.deadline), "updated_at": now},
			"$unset": bson.M{"holder": "", "claim": "", "lease_until": ""}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		n, cerr := o.coll.CountDocuments(ctx, bson.M{"_id": id})
		if cerr != nil {
			return DeliveryView{}, fmt.Errorf("outbox retry: %w", cerr)
		}
		if n == 0 {
			return DeliveryView{}, ErrNotFound
		}
		return DeliveryView{}, ErrNotRetryable
	}
	if err != nil {
		return DeliveryView{}, fmt.Errorf("outbox retry: %w", err)
	}
	o.poke()
	return d.view(), nil
}

// Get returns one delivery ("<message id>|<channel>"). Errors: ErrNotFound.
func (o *Outbox) Get(ctx context.Context, id string) (DeliveryView, error) {
	var d deliveryDoc
	err := o.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return DeliveryView{}, ErrNotFound
	}
	if err != nil {
		return DeliveryView{}, fmt.Errorf("outbox get: %w", err)
	}
	return d.view(), nil
}

// Depth counts the deliveries in each state (for metrics).
func (o *Outbox) Depth(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, s := range States() {
		n, err := o.coll.CountDocuments(ctx, bson.M{"state": s})
		if err != nil {
			return nil, fmt.Errorf("outbox depth: %w", err)
		}
		out[s] = n
	}
	return out, nil
}
