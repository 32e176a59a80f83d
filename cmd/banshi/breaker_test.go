package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
	"banshi/notify"
	"banshi/payments"
)

// breakerStack is a Banshi of its own (simulators in process, breakers that
// open after 3 failures for 2 s) whose WeChat Pay simulator can be made to
// answer 502 (payDown), counting the requests that reached it then.
type breakerStack struct {
	*stack
	payDown  atomic.Bool
	payCalls atomic.Int64 // requests to WeChat Pay while it is down
}

func newBreakerStack(t *testing.T) *breakerStack {
	t.Helper()
	shared := getStack(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t.TempDir(), "http://"+ln.Addr().String())
	env["BANSHI_BREAKER_FAILURES"] = "3"
	env["BANSHI_BREAKER_OPEN"] = "2s"
	// The WeChat SDK's process-wide settings point at this stack's
	// simulator while the test runs (cmd/banshi's tests are not parallel),
	// and back at the shared stack's after.
	app, cfg := buildApp(t, env, true)
	t.Cleanup(func() { configureWeChatSDK(shared.cfg) })
	ctx, cancel := context.WithCancel(context.Background())
	app.StartBackground(ctx)
	b := &breakerStack{}
	h := app.HTTP.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.payDown.Load() && strings.HasPrefix(r.URL.Path, "/sim/wechatpay/") {
			b.payCalls.Add(1)
			http.Error(w, `{"code":"SYSTEM_ERROR","message":"down"}`, http.StatusBadGateway)
			return
		}
		h.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); app.Wait(); app.Close() })
	b.stack = &stack{app: app, srv: srv, url: srv.URL, cfg: cfg}
	return b
}

// TestBreakerFCMOutageLosesNothing: with FCM answering 503, N messages for
// a citizen's phone are published; FCM's breaker opens, after which sends
// fail at once (the simulator sees at most the probes: the number of
// requests stays bounded while the outbox keeps every message), nothing is
// dead-lettered; once FCM is back every message reaches the phone and each
// delivery is recorded sent once.
func TestBreakerFCMOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	s := newBreakerStack(t)
	const n = 20
	d := s.newDept(t, s.staffLogin(t, staff.DemoAdmin), integrations.ScopeApplications)
	p, tok := levelThree(t, s.stack)
	phone := "breaker-phone-" + platformtest.RandomID()
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/devices", tok, map[string]string{"platform": "android", "token": phone}))
	s.app.FCMSim.SetFault(503, 0)
	for i := range n {
		no := fmt.Sprintf("BRK%s%03d", platformtest.RandomID()[:6], i)
		s.must(t, 200, s.hook(t, d, s.appEvent(fmt.Sprintf("brk-%s-%d", no, i), no, "accepted", p.IDNumber, nil), nil))
	}
	s.eventually(t, "FCM breaker open", func() bool { return s.app.breakers.fcm.State() != platform.BreakerClosed })
	// Over 5 s of outage (about two probes, 2 s apart) FCM hears from
	// Banshi a handful of times, not once per message and SDK retry.
	before := s.app.FCMSim.Calls("send")
	time.Sleep(5 * time.Second)
	during := s.app.FCMSim.Calls("send") - before
	if during > 6 {
		t.Errorf("%d sends reached FCM in 5 s with its breaker open, want at most a few probes", during)
	}
	total := s.app.FCMSim.Calls("send")
	if total >= n*4 {
		t.Errorf("%d sends reached FCM for %d messages: the breaker did not cut them short", total, n)
	}
	if got := len(s.app.FCMSim.Messages(phone)); got != 0 {
		t.Fatalf("%d messages delivered while FCM was down", got)
	}
	dead, err := s.app.Outbox.List(t.Context(), notify.StateDead, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 0 {
		t.Fatalf("%d deliveries dead-lettered during the outage: %+v", len(dead), dead[0])
	}
	t.Logf("FCM down: %d sends reached it for %d messages, %d in the 5 s the breaker was open", total, n, during)

	s.app.FCMSim.SetFault(0, 0)
	// The few sends that failed before the breaker opened wait out the
	// dispatcher's first backoff (15 s ± 20 %); the held ones go within
	// seconds.
	deadline := time.Now().Add(40 * time.Second)
	for len(s.app.FCMSim.Messages(phone)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages reached the phone after FCM came back", len(s.app.FCMSim.Messages(phone)), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, m := range s.app.FCMSim.Messages(phone) {
		seen[m.Data["application_no"]]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages on the phone, want %d: %v", len(seen), n, seen)
	}
	sent, err := s.app.Outbox.List(t.Context(), notify.StateSent, 1000)
	if err != nil {
		t.Fatal(err)
	}
	fcmSent := 0
	for _, v := range sent {
		if v.Channel == "fcm" {
			fcmSent++
		}
	}
	if fcmSent != n {
		t.Fatalf("%d fcm deliveries recorded sent, want %d", fcmSent, n)
	}
	if dead, _ := s.app.Outbox.List(t.Context(), notify.StateDead, 1000); len(dead) != 0 {
		t.Fatalf("%d deliveries dead", len(dead))
	}
}

// TestBreakerWeChatPayOutage: with WeChat Pay answering 502, orders fail
// until its breaker opens; then an order request answers 503
// upstream_unavailable with Retry-After without reaching WeChat Pay and
// without creating anything (the bill and its orders unchanged); once
// WeChat Pay is back and the cool-down is over, the order is created.
func TestBreakerWeChatPayOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	s := newBreakerStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	dpt := s.newDept(t, admin, integrations.ScopeBills)
	p, token := levelThree(t, s.stack)
	bill := func() payFixture {
		no := "BK" + platformtest.RandomID()[:10]
		s.must(t, 200, s.billHook(t, dpt, s.billEvent("i-"+no, payments.BillIssue, no, p.IDNumber, nil), nil))
		return payFixture{s: s.stack, p: p, token: token, dept: dpt, billNo: no}
	}
	order := func(f payFixture) answer {
		return s.call(t, "POST", apiV1+"/bills/"+f.billNo+"/orders", f.token,
			map[string]string{"channel": "wechat_app"}, "Idempotency-Key", "k-"+platformtest.RandomID())
	}
	s.payDown.Store(true)
	var a answer
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatalf("breaker never opened: last answer %d %s", a.Status, a.Raw)
		}
		a = order(bill()) // a fresh bill each time: a failed one stays held for the sweeper
		if a.Status != 503 {
			t.Fatalf("order while WeChat Pay is down: %d %s", a.Status, a.Raw)
		}
		if a.errCode() == "upstream_unavailable" {
			break
		}
	}
	f := bill()
	state := f.orderState(t)
	calls := s.payCalls.Load()
	a = order(f)
	if a.Status != 503 || a.errCode() != "upstream_unavailable" {
		t.Fatalf("order with the breaker open: %d %s", a.Status, a.Raw)
	}
	if ra, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After %q, want the seconds to the probe (1 or 2)", a.Header.Get("Retry-After"))
	}
	if got := s.payCalls.Load(); got != calls {
		t.Fatalf("%d requests reached WeChat Pay with its breaker open", got-calls)
	}
	if after := f.orderState(t); after != state {
		t.Fatalf("a refused order changed the bill: %s → %s", state, after)
	}
	s.payDown.Store(false)
	s.eventually(t, "order after recovery", func() bool { return order(f).Status == 201 })
	if s.app.breakers.wechatpay.State() != platform.BreakerClosed {
		t.Fatalf("breaker %s after a created order", s.app.breakers.wechatpay.State())
	}
}
