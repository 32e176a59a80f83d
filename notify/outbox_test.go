package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

var t0 = time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC)

// fakeChannel records every send; answer decides the outcome per delivery.
type fakeChannel struct {
	name   string
	mu     sync.Mutex
	sends  map[string]int
	answer func(d Delivery) error
	delay  time.Duration
}

func newFake(name string) *fakeChannel { return &fakeChannel{name: name, sends: map[string]int{}} }

func (f *fakeChannel) Name() string { return f.name }

func (f *fakeChannel) Deliver(ctx context.Context, d Delivery) error {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	f.sends[d.ID]++
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(d)
	}
	return nil
}

func (f *fakeChannel) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.sends {
		n += c
	}
	return n
}

func (f *fakeChannel) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends[id]
}

type outboxFixture struct {
	ctx    context.Context
	clock  *platform.ManualClock
	inbox  *Inbox
	box    *Outbox
	prefix string
}

func newOutboxFixture(t testing.TB, router Router, channels ...string) *outboxFixture {
	t.Helper()
	ctx := context.Background()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(t0)
	in := NewInbox(db, clock)
	rdb, prefix := platformtest.Redis(t)
	box := NewOutbox(OutboxDeps{DB: db, Redis: rdb, RedisPrefix: prefix, Inbox: in, Router: router, Channels: channels, Clock: clock}, OutboxConfig{})
	if err := in.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := box.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	return &outboxFixture{ctx: ctx, clock: clock, inbox: in, box: box, prefix: prefix}
}

func (f *outboxFixture) state(t *testing.T, id string) DeliveryView {
	t.Helper()
	v, err := f.box.Get(f.ctx, id)
	if err != nil {
		t.Fatalf("delivery %s: %v", id, err)
	}
	return v
}

// inState counts deliveries in state (at most 200).
func (f *outboxFixture) inState(t *testing.T, state string) int {
	t.Helper()
	vs, err := f.box.List(f.ctx, state, 200)
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

func msgFor(i int) Message {
	return Message{ID: fmt.Sprintf("k:%04d", i), UserID: fmt.Sprintf("u%d", i%7), Kind: "k", Title: "标题", Body: "内容"}
}

func TestPublishIsIdempotentAcrossRacingPublishers(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat", "fcm")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.box.Notify(f.ctx, msgFor(1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n, _ := f.box.coll.CountDocuments(f.ctx, bson.M{})
	m, _ := f.inbox.coll.CountDocuments(f.ctx, bson.M{})
	if n != 2 || m != 1 {
		t.Fatalf("%d deliveries and %d inbox messages, want 2 and 1", n, m)
	}
	if err := f.box.Notify(f.ctx, Message{ID: "x", UserID: "u"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("message without a title: %v", err)
	}
	if n2, _ := f.box.coll.CountDocuments(f.ctx, bson.M{}); n2 != 2 {
		t.Fatal("an invalid message changed the outbox")
	}
}

func TestDispatchOutcomes(t *testing.T) {
	ch := newFake("wechat")
	ch.answer = func(d Delivery) error {
		switch d.Message.Kind {
		case "skip":
			return Skip("no_credit")
		case "permanent":
			return Permanent("40037", errors.New("bad template"))
		case "busy":
			return RetryAfter("45011", 10*time.Minute, errors.New("rate"))
		case "flaky":
			return errors.New("connection reset")
		}
		return nil
	}
	f := newOutboxFixture(t, nil, "wechat")
	for _, kind := range []string{"ok", "skip", "permanent", "busy", "flaky"} {
		if err := f.box.Notify(f.ctx, Message{ID: kind, UserID: "u1", Kind: kind, Title: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{})
	if n, err := d.RunOnce(f.ctx); err != nil || n != 5 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	want := map[string]string{"ok": StateSent, "skip": StateSkipped, "permanent": StateDead, "busy": StateFailed, "flaky": StateFailed}
	for kind, state := range want {
		if got := f.state(t, kind+"|wechat"); got.State != state {
			t.Errorf("%s: state %s, want %s (%+v)", kind, got.State, state, got)
		}
	}
	if due := f.state(t, "busy|wechat").DueAt; due.Before(t0.Add(10 * time.Minute)) {
		t.Errorf("RetryAfter not respected: due %v", due)
	}
	flaky := f.state(t, "flaky|wechat")
	if flaky.DueAt.Before(t0.Add(12*time.Second)) || flaky.DueAt.After(t0.Add(18*time.Second)) || flaky.LastCode != "error" {
		t.Errorf("first backoff: %+v", flaky)
	}
	// Nothing is due now: a second run sends nothing.
	if n, _ := d.RunOnce(f.ctx); n != 0 {
		t.Fatalf("%d deliveries sent before they were due", n)
	}
	// The flaky one keeps failing until its deadline, then it is dead.
	for range 40 {
		f.clock.Advance(time.Hour)
		if _, err := d.RunOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.state(t, "flaky|wechat"); got.State != StateDead || got.Attempts < 5 {
		t.Fatalf("after the deadline: %+v", got)
	}
	if ch.count("ok|wechat") != 1 || ch.count("permanent|wechat") != 1 || ch.count("skip|wechat") != 1 {
		t.Fatalf("final states were sent again: %v", ch.sends)
	}
}

func TestRouterChoosesChannelsAndHoldsBack(t *testing.T) {
	f := newOutboxFixture(t, routerFunc(func(m Message, channels []string) []Route {
		return []Route{{Channel: "fcm", NotBefore: t0.Add(6 * time.Hour)}}
	}), "wechat", "fcm")
	if err := f.box.Notify(f.ctx, msgFor(1)); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.box.coll.CountDocuments(f.ctx, bson.M{}); n != 1 {
		t.Fatalf("%d deliveries, want only fcm", n)
	}
	ch := newFake("fcm")
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{})
	if n, _ := d.RunOnce(f.ctx); n != 0 {
		t.Fatal("a held-back delivery was sent early")
	}
	f.clock.Advance(6 * time.Hour)
	if n, _ := d.RunOnce(f.ctx); n != 1 {
		t.Fatal("a held-back delivery was not sent when due")
	}
}

type routerFunc func(m Message, channels []string) []Route

func (r routerFunc) Route(_ context.Context, msgs []Message, channels []string) ([][]Route, error) {
	out := make([][]Route, len(msgs))
	for i, m := range msgs {
		out[i] = r(m, channels)
	}
	return out, nil
}

// TestDispatchersRacingSendEachDeliveryOnce: dispatchers of two "processes"
// (two Outbox values on one database) run at once over 120 deliveries;
// without crashes every delivery is sent exactly once.
func TestDispatchersRacingSendEachDeliveryOnce(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat")
	other := NewOutbox(OutboxDeps{DB: f.box.coll.Database(), Redis: f.box.q.rdb, RedisPrefix: f.prefix, Inbox: f.inbox, Channels: []string{"wechat"}, Clock: f.clock}, OutboxConfig{})
	msgs := make([]Message, 120)
	for i := range msgs {
		msgs[i] = msgFor(i)
	}
	if err := f.box.Publish(f.ctx, msgs); err != nil {
		t.Fatal(err)
	}
	ch := newFake("wechat")
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	for i := range 4 {
		box := f.box
		if i%2 == 1 {
			box = other
		}
		d := NewDispatcher(box, []Channel{ch}, DispatcherConfig{Concurrency: 4, Batch: 16, Poll: 5 * time.Millisecond})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ch.total() < 120 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the last outcomes be recorded
	cancel()
	wg.Wait()
	if n := f.inState(t, StateSent); n != 120 {
		t.Fatalf("%d of 120 sent", n)
	}
	for i := range msgs {
		if c := ch.count(msgs[i].ID + "|wechat"); c != 1 {
			t.Fatalf("%s sent %d times", msgs[i].ID, c)
		}
	}
}

// TestADeadDispatchersClaimsAreTakenOver: a dispatcher claims a batch and
// dies before sending; once the claim lapses another dispatcher sends every
// delivery, each once.
func TestADeadDispatchersClaimsAreTakenOver(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat")
	msgs := make([]Message, 20)
	for i := range msgs {
		msgs[i] = msgFor(i)
	}
	if err := f.box.Publish(f.ctx, msgs); err != nil {
		t.Fatal(err)
	}
	dead := NewDispatcher(f.box, nil, DispatcherConfig{Batch: 10})
	claimed, err := dead.claim(f.ctx)
	if err != nil || len(claimed) != 10 {
		t.Fatalf("claim = %d, %v", len(claimed), err)
	}
	ch := newFake("wechat")
	alive := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{Batch: 100})
	if n, _ := alive.RunOnce(f.ctx); n != 10 {
		t.Fatalf("took %d, want the 10 unclaimed", n)
	}
	f.clock.Advance(2*time.Minute + time.Second)
	if n, _ := alive.RunOnce(f.ctx); n != 10 {
		t.Fatalf("took over %d lapsed claims, want 10", n)
	}
	for _, m := range msgs {
		if c := ch.count(m.ID + "|wechat"); c != 1 {
			t.Fatalf("%s sent %d times", m.ID, c)
		}
	}
	// The dead dispatcher's late outcome is not recorded over the new one.
	dead.deliver(f.ctx, claimed[0])
	if got := f.state(t, claimed[0].ID); got.State != StateSent || got.LastCode != "" {
		t.Fatalf("a lapsed claim overwrote the outcome: %+v", got)
	}
}

// TestStopFinishesOrReleases: stopping a dispatcher lets in-flight sends
// finish and puts back what it claimed but never started.
func TestStopFinishesOrReleases(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat")
	msgs := make([]Message, 10)
	for i := range msgs {
		msgs[i] = msgFor(i)
	}
	if err := f.box.Publish(f.ctx, msgs); err != nil {
		t.Fatal(err)
	}
	ch := newFake("wechat")
	ch.delay = 300 * time.Millisecond
	var started atomic.Int32
	slow := &countingChannel{Channel: ch, started: &started}
	d := NewDispatcher(f.box, []Channel{slow}, DispatcherConfig{Concurrency: 2, Batch: 10})
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for started.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sent, pending := int64(f.inState(t, StateSent)), int64(f.inState(t, StatePending))
	queued, inflight, err := f.box.q.depth(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sent < 2 || sent+pending != 10 || queued != pending || inflight != 0 {
		t.Fatalf("after stop: %d sent, %d pending, queue %d/%d in flight (want the in-flight sent, the rest released)", sent, pending, queued, inflight)
	}
}

type countingChannel struct {
	Channel
	started *atomic.Int32
}

func (c *countingChannel) Deliver(ctx context.Context, d Delivery) error {
	c.started.Add(1)
	return c.Channel.Deliver(ctx, d)
}

func TestAdminListAndRetry(t *testing.T) {
	ch := newFake("wechat")
	ch.answer = func(d Delivery) error { return Permanent("40037", nil) }
	f := newOutboxFixture(t, nil, "wechat")
	if err := f.box.Notify(f.ctx, msgFor(1)); err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{})
	if _, err := d.RunOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	dead, err := f.box.List(f.ctx, StateDead, 0)
	if err != nil || len(dead) != 1 || dead[0].LastCode != "40037" || dead[0].CreatedAt.Location() != platform.Shanghai() {
		t.Fatalf("dead list: %+v, %v", dead, err)
	}
	if _, err := f.box.List(f.ctx, "lost", 0); !errors.Is(err, platform.Invalid("state", "", "")) {
		t.Fatalf("unknown state: %v", err)
	}
	if _, err := f.box.Retry(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	v, err := f.box.Retry(f.ctx, dead[0].ID)
	if err != nil || v.State != StatePending {
		t.Fatalf("retry: %+v, %v", v, err)
	}
	if _, err := f.box.Retry(f.ctx, dead[0].ID); !errors.Is(err, ErrNotRetryable) {
		t.Fatalf("retrying a pending delivery: %v", err)
	}
	ch.answer = nil
	if n, _ := d.RunOnce(f.ctx); n != 1 || f.state(t, dead[0].ID).State != StateSent {
		t.Fatal("a retried delivery was not sent")
	}
}

// scheduleChannel retries on a schedule of its own.
type scheduleChannel struct{ *fakeChannel }

func (scheduleChannel) Backoff(attempt int) time.Duration { return time.Duration(attempt) * time.Hour }

// TestPublishToASystem: deliveries for one channel, no inbox message, the
// channel's own retry schedule, and Get reads one back.
func TestPublishToASystem(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat", "fcm")
	m := Message{ID: "payment.succeeded:o1", UserID: "dept-a", Kind: "payment.succeeded", Title: "payment.succeeded", Body: `{"order_no":"o1"}`}
	for range 2 {
		if err := f.box.PublishTo(f.ctx, "department", []Message{m}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := f.box.coll.CountDocuments(f.ctx, bson.M{}); n != 1 {
		t.Fatalf("%d deliveries, want the department's only", n)
	}
	if n, _ := f.inbox.coll.CountDocuments(f.ctx, bson.M{}); n != 0 {
		t.Fatal("a system's message reached the inbox")
	}
	ch := scheduleChannel{newFake("department")}
	ch.answer = func(Delivery) error { return errors.New("503") }
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{})
	if n, _ := d.RunOnce(f.ctx); n != 1 {
		t.Fatal("not sent")
	}
	got, err := f.box.Get(f.ctx, m.ID+"|department")
	if err != nil || got.State != StateFailed || !got.DueAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after a failure: %+v, %v (want due in the channel's 1 h)", got, err)
	}
	if _, err := f.box.Get(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// TestALostQueueIsRebuiltFromMongoDB: deliveries stored but never queued
// (a process died between the two, or Redis lost its data) are queued
// again by Reconcile — those already sent are not — and a queued id whose
// payload was lost is read back from MongoDB. Every message is sent once.
func TestALostQueueIsRebuiltFromMongoDB(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat")
	msgs := make([]Message, 10)
	for i := range msgs {
		msgs[i] = msgFor(i)
	}
	if err := f.box.Publish(f.ctx, msgs); err != nil {
		t.Fatal(err)
	}
	ch := newFake("wechat")
	if n, err := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{Batch: 4}).RunOnce(f.ctx); err != nil || n != 4 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	q := f.box.q
	if err := q.rdb.Del(f.ctx, q.keys()...).Err(); err != nil { // Redis forgot everything
		t.Fatal(err)
	}
	n, err := f.box.Reconcile(f.ctx)
	if err != nil || n != 6 {
		t.Fatalf("reconcile queued %d (%v), want the 6 unsent", n, err)
	}
	if err := q.rdb.HDel(f.ctx, q.payload, msgs[9].ID+"|wechat").Err(); err != nil { // and one payload
		t.Fatal(err)
	}
	if n, err := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{Batch: 100}).RunOnce(f.ctx); err != nil || n != 6 {
		t.Fatalf("after the reconcile: %d, %v", n, err)
	}
	for _, m := range msgs {
		if c := ch.count(m.ID + "|wechat"); c != 1 {
			t.Fatalf("%s sent %d times", m.ID, c)
		}
	}
	if n, err := f.box.Reconcile(f.ctx); err != nil || n != 0 {
		t.Fatalf("a second reconcile queued %d (%v)", n, err)
	}
}
