package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/notify"
)

// stack is the channel over a real FCM sender against the FCM simulator.
type stack struct {
	devices *Devices
	ch      *Channel
	sim     *sim.FCM
}

var (
	keyOnce sync.Once
	keyJSON []byte
	keyErr  error
)

func newStack(t *testing.T) *stack {
	t.Helper()
	keyOnce.Do(func() { keyJSON, keyErr = sim.NewServiceAccount("banshi-test", "http://placeholder/sim/fcm/token") })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	s := sim.NewFCM(sim.FCMOptions{})
	srv := httptest.NewServer(sim.Mount(map[string]sim.Part{"/sim/fcm/": s}))
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/sim/fcm/v1"
	key, err := platform.WithTokenURI(keyJSON, sim.FCMTokenURI(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddServiceAccount(key); err != nil {
		t.Fatal(err)
	}
	sender, err := NewSender(context.Background(), Config{Endpoint: endpoint, CredentialsJSON: key})
	if err != nil {
		t.Fatal(err)
	}
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(t0)
	devices := NewDevices(db, clock)
	ch := NewChannel(db, devices, sender, clock, platformtest.Logger())
	if err := ch.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &stack{devices: devices, ch: ch, sim: s}
}

func delivery(user string) notify.Delivery {
	return notify.Delivery{ID: "application:dept:A1:e1|fcm", Attempt: 1, Message: notify.Message{
		ID: "application:dept:A1:e1", UserID: user, Kind: "application_result", Title: "办件结果", Body: "您的申请已办结",
		Data: map[string]string{"application_no": "A1"},
	}}
}

// outcome returns the code of a classified outcome and its kind as Error
// prints it ("skipped", "permanent failure", "retry"), or "" for others.
func outcome(err error) (code, kind string) {
	var o *notify.Outcome
	if !errors.As(err, &o) {
		return "", ""
	}
	return o.Code, strings.SplitN(o.Error(), " (", 2)[0]
}

// TestChannelSendsToEveryDevice: each device gets the push, whose data
// carries kind, message_id and what it is about, the notification the
// title and body.
func TestChannelSendsToEveryDevice(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	for _, tok := range []string{"phone:APA91b", "tablet:APA91b"} {
		if _, err := s.devices.Register(ctx, "u1", PlatformAndroid, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"phone:APA91b", "tablet:APA91b"} {
		got := s.sim.Messages(tok)
		if len(got) != 1 {
			t.Fatalf("%s received %d", tok, len(got))
		}
		m := got[0]
		if m.Data["kind"] != "application_result" || m.Data["application_no"] != "A1" || m.Data["message_id"] != "application:dept:A1:e1" ||
			m.Notification == nil || m.Notification.Title != "办件结果" || m.Notification.Body != "您的申请已办结" {
			t.Fatalf("%s received %+v", tok, m)
		}
	}
	// Delivered again (the dispatcher lost its record): no device repeats.
	if err := s.ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.sim.Messages("phone:APA91b")); n != 1 {
		t.Fatalf("phone received %d", n)
	}
}

func TestChannelNoDevice(t *testing.T) {
	s := newStack(t)
	if code, kind := outcome(s.ch.Deliver(context.Background(), delivery("nobody"))); code != "no_device" || kind != "skipped" {
		t.Fatalf("%s %s", code, kind)
	}
}

// TestChannelUnregistered: UNREGISTERED removes the token; the other device
// still gets it; with every device unregistered the delivery is skipped.
func TestChannelUnregistered(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	for _, tok := range []string{"dead1", "alive"} {
		if _, err := s.devices.Register(ctx, "u1", PlatformIOS, tok); err != nil {
			t.Fatal(err)
		}
	}
	s.sim.Unregister("dead1")
	if err := s.ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatal(err)
	}
	if got := tokens(t, s.devices, "u1"); strings.Join(got, ",") != "alive" {
		t.Fatalf("devices %v", got)
	}
	s.sim.Unregister("alive")
	d := delivery("u1")
	d.ID, d.Message.ID = "other|fcm", "other"
	if code, kind := outcome(s.ch.Deliver(ctx, d)); code != "unregistered" || kind != "skipped" {
		t.Fatalf("%s %s", code, kind)
	}
	if got := tokens(t, s.devices, "u1"); len(got) != 0 {
		t.Fatalf("devices %v", got)
	}
}

// TestChannelRetriesAndRefusals: a quota answer is a RetryAfter with the
// service's delay; an unavailable one too; a reserved data key is
// Permanent before anything is sent.
func TestChannelRetriesAndRefusals(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	if _, err := s.devices.Register(ctx, "u1", PlatformAndroid, "tok"); err != nil {
		t.Fatal(err)
	}
	s.sim.SetFault(429, 120*time.Second)
	err := s.ch.Deliver(ctx, delivery("u1"))
	var o *notify.Outcome
	if code, kind := outcome(err); code != "quota_exceeded" || kind != "retry" || !errors.As(err, &o) || o.After != 120*time.Second {
		t.Fatalf("429: %v", err)
	}
	s.sim.SetFault(503, 300*time.Second) // beyond the SDK's own retry limit: it gives up at once
	if code, kind := outcome(s.ch.Deliver(ctx, delivery("u1"))); code != "unavailable" || kind != "retry" {
		t.Fatalf("503: %s %s", code, kind)
	}
	s.sim.SetFault(0, 0)
	d := delivery("u1")
	d.Message.Data = map[string]string{"from": "x"}
	if code, kind := outcome(s.ch.Deliver(ctx, d)); code != "invalid_data" || kind != "permanent failure" {
		t.Fatalf("reserved key: %s %s", code, kind)
	}
	if n := len(s.sim.Messages("tok")); n != 0 {
		t.Fatalf("%d received", n)
	}
	// Healed: the delivery goes out.
	if err := s.ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatal(err)
	}
}

// scriptedSender answers per token from a script and counts sends.
type scriptedSender struct {
	mu     sync.Mutex
	script map[string][]error
	sends  map[string]int
}

func (f *scriptedSender) Send(_ context.Context, token string, _ Push) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends[token]++
	if q := f.script[token]; len(q) > 0 {
		f.script[token] = q[1:]
		return q[0]
	}
	return nil
}

// TestRetryDoesNotRepeatADevice: when one device must be retried, the
// delivery is retried, and the retry sends only to that device; a device
// refused for good is not tried again either.
func TestRetryDoesNotRepeatADevice(t *testing.T) {
	ctx := context.Background()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(t0)
	devices := NewDevices(db, clock)
	fake := &scriptedSender{sends: map[string]int{}, script: map[string][]error{
		"busy": {&SendError{Code: "unavailable", RetryAfter: 30 * time.Second, Err: errors.New("503")}, errors.New("connection reset")},
		"bad":  {&SendError{Code: "invalid_argument", Permanent: true, Err: errors.New("400")}},
	}}
	ch := NewChannel(db, devices, fake, clock, nil)
	for _, tok := range []string{"ok", "busy", "bad"} {
		if _, err := devices.Register(ctx, "u1", PlatformAndroid, tok); err != nil {
			t.Fatal(err)
		}
	}
	if code, kind := outcome(ch.Deliver(ctx, delivery("u1"))); code != "unavailable" || kind != "retry" {
		t.Fatalf("first attempt: %s %s", code, kind)
	}
	if err := ch.Deliver(ctx, delivery("u1")); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("second attempt: %v, want the transient error", err)
	}
	if err := ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if fake.sends["ok"] != 1 || fake.sends["bad"] != 1 || fake.sends["busy"] != 3 {
		t.Fatalf("sends %v", fake.sends)
	}
	// Only the refused device: Permanent, still without sending again.
	fake2 := &scriptedSender{sends: map[string]int{}, script: map[string][]error{
		"bad": {&SendError{Code: "invalid_argument", Permanent: true, Err: errors.New("400")}},
	}}
	ch2 := NewChannel(db, devices, fake2, clock, nil)
	for _, tok := range []string{"ok", "busy"} {
		if err := devices.Delete(ctx, "u1", tok); err != nil {
			t.Fatal(err)
		}
	}
	d := delivery("u1")
	d.ID = "second|fcm"
	for range 2 {
		if code, kind := outcome(ch2.Deliver(ctx, d)); code != "invalid_argument" || kind != "permanent failure" {
			t.Fatalf("%s %s", code, kind)
		}
	}
	if fake2.sends["bad"] != 1 {
		t.Fatalf("bad sent %d times", fake2.sends["bad"])
	}
}

func TestPushOfClipsText(t *testing.T) {
	m := notify.Message{ID: "m", Kind: "k", Title: strings.Repeat("标", 100), Body: strings.Repeat("文", 1000)}
	p, err := pushOf(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Title) > maxTitleBytes || len(p.Body) > maxBodyBytes || !strings.HasSuffix(p.Body, "…") || !utf8Valid(p.Title+p.Body) {
		t.Fatalf("title %d body %d", len(p.Title), len(p.Body))
	}
	m.Data = map[string]string{"big": strings.Repeat("x", maxPayload)}
	if code, kind := outcome(func() error { _, err := pushOf(m); return err }()); code != "too_large" || kind != "permanent failure" {
		t.Fatalf("%s %s", code, kind)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestPurge: records older than 72 h go, newer ones stay.
func TestPurge(t *testing.T) {
	ctx := context.Background()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(t0)
	devices := NewDevices(db, clock)
	ch := NewChannel(db, devices, &scriptedSender{sends: map[string]int{}}, clock, nil)
	if err := ch.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := devices.Register(ctx, "u1", PlatformAndroid, "tok"); err != nil {
		t.Fatal(err)
	}
	if err := ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(71 * time.Hour)
	d := delivery("u1")
	d.ID = "later|fcm"
	if err := ch.Deliver(ctx, d); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if n, err := ch.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	if n, _ := ch.sends.CountDocuments(ctx, map[string]any{}); n != 1 {
		t.Fatalf("%d records left", n)
	}
}

// TestDevCredentialSharedThroughTheDataFolder: what the lead wires for
// development. `banshi sim` trusts the service account of the data folder;
// Banshi, told only BANSHI_FCM_ENDPOINT, reads the same file and points its
// token_uri beside the endpoint; sends then work.
func TestDevCredentialSharedThroughTheDataFolder(t *testing.T) {
	dir := t.TempDir()
	// `banshi sim`:
	s := sim.NewFCM(sim.FCMOptions{})
	simKey, err := platform.DevServiceAccount(dir, "banshi-dev")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddServiceAccount(simKey); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Mount(map[string]sim.Part{"/sim/fcm/": s}))
	t.Cleanup(srv.Close)
	// Banshi:
	endpoint := srv.URL + "/sim/fcm/v1"
	key, err := platform.DevServiceAccount(dir, "banshi-dev")
	if err == nil {
		key, err = platform.WithTokenURI(key, sim.FCMTokenURI(endpoint))
	}
	if err != nil {
		t.Fatal(err)
	}
	sender, err := NewSender(context.Background(), Config{Endpoint: endpoint, CredentialsJSON: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), "dev:token", Push{Title: "t", Data: map[string]string{"kind": "k"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages("dev:token")); n != 1 {
		t.Fatalf("%d received", n)
	}
}

// TestMovedTokenIsNotSentToItsOldOwner: once a token moved to another
// citizen, the old owner's messages do not reach it, even when the old
// owner's list still names it (a process died mid-move); the new owner's do.
func TestMovedTokenIsNotSentToItsOldOwner(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	if _, err := s.devices.Register(ctx, "u1", PlatformAndroid, "handed:on"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.devices.Register(ctx, "u2", PlatformAndroid, "handed:on"); err != nil {
		t.Fatal(err)
	}
	for _, stale := range []bool{false, true} {
		if stale { // what a move cut short leaves in u1's list
			if _, err := s.devices.users.UpdateOne(ctx, bson.M{"_id": "u1"}, bson.M{"$addToSet": bson.M{"tokens": "handed:on"}}); err != nil {
				t.Fatal(err)
			}
		}
		d := delivery("u1")
		d.ID = fmt.Sprintf("old-owner-%v|fcm", stale)
		if code, kind := outcome(s.ch.Deliver(ctx, d)); code != "no_device" || kind != "skipped" {
			t.Fatalf("stale %v: %s %s", stale, code, kind)
		}
		if n := len(s.sim.Messages("handed:on")); n != 0 {
			t.Fatalf("stale %v: the old owner's message reached the token (%d)", stale, n)
		}
	}
	if err := s.ch.Deliver(ctx, delivery("u2")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.sim.Messages("handed:on")); n != 1 {
		t.Fatalf("the new owner's message: %d received", n)
	}
}
