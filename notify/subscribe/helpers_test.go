package subscribe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/internal/wechat"
	"banshi/notify"
)

// One simulator per test binary: the SDK's URL rewriting is process-wide.
// Tests that change its push settings or faults do not run in parallel.
var (
	testSim    *sim.WeChat
	testSimURL string
)

const (
	testApp       = "wxsubscribe"
	testSecret    = "subscribesecret"
	testPushToken = "pushToken123"
)

func TestMain(m *testing.M) {
	testSim = sim.NewWeChat(sim.WeChatOptions{Clock: platform.SystemClock{}})
	testSim.AddMiniApp(testApp, testSecret)
	for _, t := range DemoTemplates() {
		testSim.AddTemplate(testApp, t.TemplateID, t.Keys(), t.Enums())
	}
	srv := httptest.NewServer(testSim.Handler())
	testSimURL = srv.URL + "/sim/wechat"
	wechat.ConfigureSDK(testSimURL, wechat.NewHTTPClient(2*time.Second))
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// fakeUsers maps openids to users both ways.
type fakeUsers struct {
	mu     sync.Mutex
	byOpen map[string]string
	byUser map[string]string
	err    error
}

var _ Users = (*fakeUsers)(nil)

func newFakeUsers() *fakeUsers {
	return &fakeUsers{byOpen: map[string]string{}, byUser: map[string]string{}}
}

func (f *fakeUsers) add(userID, openID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byOpen[openID], f.byUser[userID] = userID, openID
}

func (f *fakeUsers) UserByMiniOpenID(_ context.Context, openID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byOpen[openID], f.err
}

func (f *fakeUsers) MiniOpenID(_ context.Context, userID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byUser[userID], f.err
}

// fakeSender answers every send with err, counting calls.
type fakeSender struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (f *fakeSender) SendSubscribe(context.Context, string, string, string, map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.err
}

type fixture struct {
	svc   *Service
	users *fakeUsers
	clock *platform.ManualClock
	db    *mongo.Database
	wc    *wechat.Client
}

// newFixture returns a service on a fresh database sending through the
// simulator, with the demo templates, receiving the simulator's pushes
// (plain mode, JSON) through a real wechat.PushEvents. sender replaces the
// WeChat client when not nil.
func newFixture(t *testing.T, sender Sender) *fixture {
	t.Helper()
	ctx := context.Background()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	wc := wechat.New(wechat.Config{APIBase: testSimURL, MiniAppID: testApp, MiniAppSecret: testSecret, State: "formal"},
		wechat.NewHTTPClient(2*time.Second), wechat.NewRedisCache(rdb, prefix), platformtest.Logger())
	if sender == nil {
		sender = wc
	}
	users := newFakeUsers()
	clock := platform.NewManualClock(time.Now())
	svc, err := New(Deps{DB: db, Sender: sender, Users: users, Clock: clock, Log: platformtest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	push, err := wechat.NewPush(wechat.PushConfig{Token: testPushToken, AppID: testApp})
	if err != nil {
		t.Fatal(err)
	}
	events := wechat.NewPushEvents(db, push, clock, platformtest.Logger(), svc)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			echo, err := events.VerifyURL(r.URL.Query())
			if err != nil {
				http.Error(w, "unverified", http.StatusUnauthorized)
				return
			}
			_, _ = io.WriteString(w, echo)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := events.Receive(r.Context(), r.URL.Query(), body); err != nil {
			t.Logf("push refused: %v", err)
			http.Error(w, "error", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "success")
	}))
	if err := testSim.SetPush(testApp, sim.PushConfig{URL: srv.URL, Token: testPushToken, Format: "json"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		testSim.FlushPushes()
		_ = testSim.SetPush(testApp, sim.PushConfig{})
		srv.Close()
	})
	return &fixture{svc: svc, users: users, clock: clock, db: db, wc: wc}
}

// control calls a simulator control endpoint and returns the answer's body.
func control(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	rec := httptest.NewRecorder()
	testSim.Handler().ServeHTTP(rec, httptest.NewRequest(method, "/sim/wechat"+path, rd))
	if rec.Code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
	return rec.Body.Bytes()
}

// person registers a WeChat user in the simulator and as a Banshi user.
func (f *fixture) person(t *testing.T) (userID, openID string) {
	t.Helper()
	var u struct {
		OpenID string `json:"openid"`
	}
	if err := json.Unmarshal(control(t, "POST", "/users", map[string]string{}, 201), &u); err != nil {
		t.Fatal(err)
	}
	userID = "u_" + platformtest.RandomID()
	f.users.add(userID, u.OpenID)
	return userID, u.OpenID
}

// phoneAnswers plays the user answering the popup on the phone: the
// simulator grants (or not) its credits and pushes the popup event, which
// is waited for.
func phoneAnswers(t *testing.T, openID, status string, templateIDs ...string) {
	t.Helper()
	control(t, "POST", "/subscriptions", map[string]any{"openid": openID, "template_ids": templateIDs, "status": status}, 204)
	testSim.FlushPushes()
}

type simMessage struct {
	TemplateID string                       `json:"template_id"`
	Page       string                       `json:"page"`
	Data       map[string]map[string]string `json:"data"`
}

func received(t *testing.T, openID string) []simMessage {
	t.Helper()
	var out struct {
		Messages []simMessage `json:"messages"`
	}
	if err := json.Unmarshal(control(t, "GET", "/messages?openid="+openID, nil, 200), &out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func (f *fixture) count(t *testing.T, userID, templateID string) int {
	t.Helper()
	c, err := f.svc.Credit(context.Background(), userID, templateID)
	if err != nil {
		t.Fatal(err)
	}
	return c.Count
}

// outcome describes Deliver's result: "sent", or "<kind> <code>" with kind
// skipped, permanent or retry.
func outcome(err error) string {
	if err == nil {
		return "sent"
	}
	var o *notify.Outcome
	if !errors.As(err, &o) {
		return "transient"
	}
	kind, _, _ := strings.Cut(o.Error(), " (")
	kind = strings.TrimSuffix(strings.TrimSuffix(kind, " failure"), "ped")
	return kind + " " + o.Code
}

const (
	tplBooked   = "DEMO-APPOINTMENT-BOOKED"
	tplProgress = "DEMO-APPLICATION-PROGRESS"
)

// bookedMessage is an appointment_booked message as appointments sends it.
func bookedMessage(userID, id string) notify.Message {
	return notify.Message{
		ID: "appointment_booked:" + id, UserID: userID, Kind: "appointment_booked", Title: "预约成功",
		Body: "您已预约天河区政务服务中心「居住证办理」，时间2026-03-09 09:00-09:30。",
		Data: map[string]string{"appointment_id": id, "hall_id": "hall-tianhe", "service_id": "svc-1",
			"service_name": "居住证办理（含港澳台居民居住证首次申领及换领）", "hall_name": "天河区政务服务中心",
			"start": "2026-03-09T09:00:00+08:00", "checkin_code": "483920"},
		CreatedAt: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC),
	}
}

func deliver(t *testing.T, f *fixture, m notify.Message) string {
	t.Helper()
	return outcome(f.svc.Channel().Deliver(context.Background(), notify.Delivery{ID: m.ID + "|" + ChannelName, Message: m, Attempt: 1}))
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// pushDuplicates makes the simulator deliver every push n extra times
// (WeChat's retries of a push whose answer it missed) for this test.
func pushDuplicates(t *testing.T, n int) {
	t.Helper()
	control(t, "PUT", "/apps/"+testApp+"/push", map[string]any{"duplicates": n}, 200)
}
