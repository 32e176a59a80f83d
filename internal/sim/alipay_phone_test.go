package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/payments"
	"banshi/payments/alipay"
)

// aliGot is one notification the merchant's endpoint received, verified by
// the real adapter.
type aliGot struct {
	body string
	n    payments.Notification
	err  error
}

// aliPhone is the simulator, the real adapter pointed at it and the
// merchant's notify endpoint, on one manual clock.
type aliPhone struct {
	t     *testing.T
	clock *platform.ManualClock
	sim   *Alipay
	base  string
	p     *alipay.Provider
	mu    sync.Mutex
	got   []aliGot
}

func newAliPhone(t *testing.T) *aliPhone {
	t.Helper()
	keys, err := LoadOrCreateAlipayKeys(filepath.Join(t.TempDir(), "alipay"))
	if err != nil {
		t.Fatal(err)
	}
	f := &aliPhone{t: t, clock: platform.NewManualClock(time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC))}
	f.sim, err = NewAlipay(AlipayOptions{
		Clock:         f.clock,
		Apps:          []AlipayApp{{AppID: keys.AppID, PublicKey: &keys.AppKey.PublicKey, SellerID: keys.SellerID}},
		AlipayKey:     keys.AlipayKey,
		RetrySchedule: []time.Duration{time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(simSrv.Close)
	f.base = simSrv.URL
	notifySrv := httptest.NewServer(http.HandlerFunc(f.handleNotify))
	t.Cleanup(notifySrv.Close)
	f.p, err = alipay.New(alipay.Config{
		AppID: keys.AppID, PrivateKey: keys.AppPrivateKey, AlipayPublicKey: keys.AlipayPublic, SellerID: keys.SellerID,
		BaseURL: simSrv.URL + aliPrefix, NotifyURL: notifySrv.URL + "/notify", TempDir: t.TempDir(), Clock: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sim.Close)
	return f
}

func (f *aliPhone) handleNotify(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := f.p.ParseNotification(r.Context(), r.Header, body)
	f.mu.Lock()
	f.got = append(f.got, aliGot{body: string(body), n: n, err: err})
	f.mu.Unlock()
	if err != nil {
		alipay.RefuseNotification(rw, http.StatusBadRequest)
		return
	}
	f.p.AckNotification(rw)
}

func (f *aliPhone) received() []aliGot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]aliGot(nil), f.got...)
}

// waitReceived waits until n notifications arrived, then a little more to
// see that no other follows.
func (f *aliPhone) waitReceived(n int) []aliGot {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.received()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	got := f.received()
	if len(got) != n {
		f.t.Fatalf("%d notifications received, want %d", len(got), n)
	}
	return got
}

// prepay signs an order through the adapter and returns Banshi's
// pay_params.
func (f *aliPhone) prepay(no string, method payments.Method, fen int64) map[string]any {
	f.t.Helper()
	params, err := f.p.Prepay(context.Background(), payments.PrepayRequest{
		OrderNo: no, Method: method, AmountFen: fen, Subject: "不动产登记费",
		ExpiresAt: f.clock.Now().Add(15 * time.Minute),
	})
	if err != nil {
		f.t.Fatalf("prepay %s: %v", no, err)
	}
	return params
}

func (f *aliPhone) post(path string, in any) (int, map[string]any) {
	f.t.Helper()
	return postJSON(f.t, f.base+path, in)
}

func (f *aliPhone) state(no string) string {
	f.t.Helper()
	tr, err := f.p.Query(context.Background(), no)
	if err != nil {
		f.t.Fatalf("query %s: %v", no, err)
	}
	return tr.State
}

// retamper changes one parameter of an order string or URL query, keeping
// its signature.
func retamper(s, k, v string) string {
	base, q, isURL := strings.Cut(s, "?")
	if !isURL {
		q, base = s, ""
	}
	vals, _ := url.ParseQuery(q)
	vals.Set(k, v)
	if isURL {
		return base + "?" + vals.Encode()
	}
	return vals.Encode()
}

// TestAlipayPhone: both forms of pay_params; a tampered order string or URL
// is 401 and opens nothing; fail and abandon leave the trade open and send
// nothing; a success sends the notification the real adapter verifies; a
// paid or expired trade is 409.
func TestAlipayPhone(t *testing.T) {
	f := newAliPhone(t)
	app := f.prepay("ALI0000000001", payments.AlipayApp, 12345)
	wap := f.prepay("ALI0000000002", payments.AlipayWap, 500)
	os, u := app["order_string"].(string), wap["url"].(string)
	refusals := []struct {
		name   string
		body   any
		status int
	}{
		{"tampered amount", map[string]any{"pay_params": map[string]any{"order_string": retamper(os, "biz_content", strings.Replace(func() string { v, _ := url.ParseQuery(os); return v.Get("biz_content") }(), "123.45", "0.01", 1))}, "outcome": "success"}, http.StatusUnauthorized},
		{"tampered notify_url", map[string]any{"pay_params": map[string]any{"url": retamper(u, "notify_url", "http://evil.example/n")}, "outcome": "success"}, http.StatusUnauthorized},
		{"both forms", map[string]any{"pay_params": map[string]any{"order_string": os, "url": u}, "outcome": "success"}, http.StatusBadRequest},
		{"neither form", map[string]any{"pay_params": map[string]any{"package": "x"}, "outcome": "success"}, http.StatusBadRequest},
		{"not a query", map[string]any{"pay_params": map[string]any{"order_string": "%zz"}, "outcome": "success"}, http.StatusBadRequest},
		{"bad outcome", map[string]any{"pay_params": app, "outcome": "later"}, http.StatusBadRequest},
		{"no params", map[string]any{"outcome": "success"}, http.StatusBadRequest},
		{"not JSON", "nope", http.StatusBadRequest},
	}
	for _, c := range refusals {
		if st, body := f.post("/sim/alipay/pay", c.body); st != c.status || body["error"] == nil {
			t.Errorf("%s: %d %v, want %d", c.name, st, body, c.status)
		}
	}
	if a, b := f.state("ALI0000000001"), f.state("ALI0000000002"); a != payments.TradeUnknown || b != payments.TradeUnknown {
		t.Fatalf("refusals opened trades: %s %s", a, b)
	}
	for _, outcome := range []string{"fail", "abandon"} {
		st, body := f.post("/sim/alipay/pay", map[string]any{"pay_params": app, "outcome": outcome})
		if st != http.StatusOK || body["trade_status"] != "WAIT_BUYER_PAY" || body["out_trade_no"] != "ALI0000000001" || !strings.HasPrefix(fmt.Sprint(body["trade_no"]), "2026") {
			t.Fatalf("%s: %d %v", outcome, st, body)
		}
	}
	if s := f.state("ALI0000000001"); s != payments.TradePaying {
		t.Fatalf("after fail and abandon: %s", s)
	}
	f.waitReceived(0)

	for i, params := range []map[string]any{app, wap} {
		st, body := f.post("/sim/alipay/pay", map[string]any{"pay_params": params, "outcome": "success"})
		if st != http.StatusOK || body["trade_status"] != "TRADE_SUCCESS" {
			t.Fatalf("success %d: %d %v", i, st, body)
		}
	}
	got := f.waitReceived(2)
	seen := map[string]int64{}
	for _, g := range got {
		if g.err != nil || g.n.Kind != payments.NotifyPayment || g.n.Trade.State != payments.TradePaid {
			t.Fatalf("notification: %+v", g)
		}
		seen[g.n.Trade.OrderNo] = g.n.Trade.AmountFen
	}
	if seen["ALI0000000001"] != 12345 || seen["ALI0000000002"] != 500 {
		t.Fatalf("notified %v", seen)
	}
	if st, _ := f.post("/sim/alipay/pay", map[string]any{"pay_params": app, "outcome": "success"}); st != http.StatusConflict {
		t.Errorf("paid again: %d", st)
	}

	late := f.prepay("ALI0000000003", payments.AlipayApp, 100)
	f.clock.Advance(15 * time.Minute)
	if st, _ := f.post("/sim/alipay/pay", map[string]any{"pay_params": late, "outcome": "success"}); st != http.StatusConflict {
		t.Errorf("expired: %d", st)
	}
	if s := f.state("ALI0000000003"); s != payments.TradeUnknown {
		t.Errorf("an expired order string opened a trade: %s", s)
	}
	f.waitReceived(2)
}

// TestAlipayRedeliver: N concurrent deliveries of the same notification,
// each verified by the real adapter; unknown and unpaid orders and bad
// counts are refused and send nothing.
func TestAlipayRedeliver(t *testing.T) {
	f := newAliPhone(t)
	params := f.prepay("ALI0000000100", payments.AlipayApp, 100)
	if st, _ := f.post("/sim/alipay/pay", map[string]any{"pay_params": params, "outcome": "fail"}); st != http.StatusOK {
		t.Fatal("open")
	}
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/sim/alipay/orders/ALI0000000100/notify", `{"times":1}`, http.StatusConflict},
		{"/sim/alipay/orders/NOPE/notify", `{"times":1}`, http.StatusNotFound},
		{"/sim/alipay/orders/ALI0000000100/notify", `{"times":0}`, http.StatusBadRequest},
		{"/sim/alipay/orders/ALI0000000100/notify", `{"times":1001}`, http.StatusBadRequest},
		{"/sim/alipay/orders/ALI0000000100/notify", `[]`, http.StatusBadRequest},
	} {
		if st, _ := f.post(c.path, c.body); st != c.status {
			t.Errorf("%s %s: %d, want %d", c.path, c.body, st, c.status)
		}
	}
	f.waitReceived(0)
	if st, _ := f.post("/sim/alipay/pay", map[string]any{"pay_params": params, "outcome": "success"}); st != http.StatusOK {
		t.Fatal("pay")
	}
	first := f.waitReceived(1)[0]
	const n = 100
	st, body := f.post("/sim/alipay/orders/ALI0000000100/notify", map[string]int{"times": n})
	statuses, _ := body["statuses"].(map[string]any)
	if st != http.StatusOK || body["times"] != float64(n) || len(statuses) != 1 || statuses["200"] != float64(n) {
		t.Fatalf("notify: %d %v", st, body)
	}
	for _, g := range f.waitReceived(1 + n)[1:] {
		if g.err != nil || g.body != first.body || g.n.Trade != first.n.Trade {
			t.Fatalf("redelivery %+v, first %+v", g, first)
		}
	}
}
