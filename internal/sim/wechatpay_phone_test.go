package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

const (
	wxpTestMch  = "1900000109"
	wxpTestMini = "wxminiprogram0001"
	wxpTestApp  = "wxmobileapp000001"
	wxpTestOpen = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// wxpGot is one callback the merchant's endpoint received, verified by the
// real adapter.
type wxpGot struct {
	nonce string
	n     payments.Notification
	err   error
}

// wxpPhone is the simulator, the real adapter pointed at it and the
// merchant's notify endpoint, on one manual clock.
type wxpPhone struct {
	t     *testing.T
	clock *platform.ManualClock
	sim   *WeChatPay
	base  string // http://host:port
	p     *wechatpay.Provider
	mu    sync.Mutex
	got   []wxpGot
}

func newWxpPhone(t *testing.T) *wxpPhone {
	t.Helper()
	keys, err := LoadOrCreateWeChatPayKeys(filepath.Join(t.TempDir(), "wechatpay"))
	if err != nil {
		t.Fatal(err)
	}
	f := &wxpPhone{t: t, clock: platform.NewManualClock(time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC))}
	f.sim, err = NewWeChatPay(WeChatPayOptions{
		Clock: f.clock,
		Merchants: []WeChatPayMerchant{{MchID: wxpTestMch, SerialNo: keys.MerchantSerial, PublicKey: &keys.MerchantKey.PublicKey,
			APIv3Key: keys.APIv3Key, AppIDs: []string{wxpTestMini, wxpTestApp}}},
		PublicKey: keys.PublicKey, PublicKeyID: keys.PublicKeyID, CertificateKey: keys.CertificateKey,
		RetrySchedule: []time.Duration{time.Hour}, // a refused callback is not retried within a test
	})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(simSrv.Close)
	f.base = simSrv.URL
	notifySrv := httptest.NewServer(http.HandlerFunc(f.handleNotify))
	t.Cleanup(notifySrv.Close)
	f.p, err = wechatpay.New(wechatpay.Config{
		MchID: wxpTestMch, MiniProgramAppID: wxpTestMini, AppAppID: wxpTestApp,
		SerialNo: keys.MerchantSerial, PrivateKeyPEM: keys.MerchantKeyPEM, APIv3Key: keys.APIv3Key,
		PublicKeyID: keys.PublicKeyID, PublicKeyPEM: keys.PublicKeyPEM,
		BaseURL: simSrv.URL + wxpPrefix, NotifyURL: notifySrv.URL + "/notify", Clock: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sim.Close) // runs first: stops deliveries before the servers go
	return f
}

// handleNotify verifies a callback with the adapter and acknowledges it.
func (f *wxpPhone) handleNotify(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := f.p.ParseNotification(r.Context(), r.Header, body)
	f.mu.Lock()
	f.got = append(f.got, wxpGot{nonce: r.Header.Get("Wechatpay-Nonce"), n: n, err: err})
	f.mu.Unlock()
	if err != nil {
		wechatpay.RefuseNotification(rw, http.StatusUnauthorized)
		return
	}
	f.p.AckNotification(rw)
}

// received returns the callbacks received so far.
func (f *wxpPhone) received() []wxpGot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wxpGot(nil), f.got...)
}

// waitReceived waits until n callbacks arrived, then a little more to see
// that no other follows.
func (f *wxpPhone) waitReceived(n int) []wxpGot {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.received()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	got := f.received()
	if len(got) != n {
		f.t.Fatalf("%d callbacks received, want %d", len(got), n)
	}
	return got
}

// prepay creates an order through the adapter and returns Banshi's
// pay_params.
func (f *wxpPhone) prepay(no string, method payments.Method, fen int64) map[string]any {
	f.t.Helper()
	params, err := f.p.Prepay(context.Background(), payments.PrepayRequest{
		OrderNo: no, Method: method, AmountFen: fen, Subject: "不动产登记费", PayerOpenID: wxpTestOpen,
		ExpiresAt: f.clock.Now().Add(15 * time.Minute),
	})
	if err != nil {
		f.t.Fatalf("prepay %s: %v", no, err)
	}
	return params
}

// post calls a simulator path with a JSON body and decodes the answer.
func (f *wxpPhone) post(path string, in any) (int, map[string]any) {
	f.t.Helper()
	return postJSON(f.t, f.base+path, in)
}

// postJSON POSTs in as JSON (a string is sent as is) and decodes the
// answer (nil when it is not a JSON object).
func postJSON(t *testing.T, url string, in any) (int, map[string]any) {
	t.Helper()
	b, ok := in.(string)
	if !ok {
		raw, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		b = string(raw)
	}
	res, err := http.Post(url, "application/json", bytes.NewReader([]byte(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// state queries the order through the adapter.
func (f *wxpPhone) state(no string) string {
	f.t.Helper()
	tr, err := f.p.Query(context.Background(), no)
	if err != nil {
		f.t.Fatalf("query %s: %v", no, err)
	}
	return tr.State
}

// with returns a copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for x, y := range m {
		out[x] = y
	}
	out[k] = v
	return out
}

// TestWeChatPayPhoneJSAPI: the phone checks paySign with the merchant's
// key; refusals (forged, another app, unknown prepay_id, bad outcome) pay
// nothing and send nothing; fail and abandon leave the order payable; a
// success pays it and the signed callback verifies with the real adapter;
// a paid order cannot be paid again.
func TestWeChatPayPhoneJSAPI(t *testing.T) {
	f := newWxpPhone(t)
	params := f.prepay("ORD20260316001", payments.WeChatJSAPI, 12345)
	forged := with(params, "paySign", f.prepay("ORD20260316002", payments.WeChatJSAPI, 12345)["paySign"])
	refusals := []struct {
		name   string
		body   any
		status int
	}{
		{"forged paySign", map[string]any{"pay_params": forged, "outcome": "success"}, http.StatusUnauthorized},
		{"signature not base64", map[string]any{"pay_params": with(params, "paySign", "!!"), "outcome": "success"}, http.StatusUnauthorized},
		{"tampered nonce", map[string]any{"pay_params": with(params, "nonceStr", "X"), "outcome": "success"}, http.StatusUnauthorized},
		{"another app", map[string]any{"pay_params": with(params, "appId", wxpTestApp), "outcome": "success"}, http.StatusUnauthorized},
		{"unknown prepay_id", map[string]any{"pay_params": with(params, "package", "prepay_id=wx000"), "outcome": "success"}, http.StatusNotFound},
		{"signType HMAC", map[string]any{"pay_params": with(params, "signType", "HMAC-SHA256"), "outcome": "success"}, http.StatusBadRequest},
		{"no package", map[string]any{"pay_params": with(params, "package", ""), "outcome": "success"}, http.StatusBadRequest},
		{"object value", map[string]any{"pay_params": with(params, "timeStamp", map[string]any{}), "outcome": "success"}, http.StatusBadRequest},
		{"bad outcome", map[string]any{"pay_params": params, "outcome": "maybe"}, http.StatusBadRequest},
		{"no outcome", map[string]any{"pay_params": params}, http.StatusBadRequest},
		{"no params", map[string]any{"outcome": "success"}, http.StatusBadRequest},
		{"params not an object", map[string]any{"pay_params": "prepay_id=x", "outcome": "success"}, http.StatusBadRequest},
		{"not JSON", "nope", http.StatusBadRequest},
	}
	for _, c := range refusals {
		if st, body := f.post("/sim/wechatpay/pay", c.body); st != c.status || body["error"] == nil {
			t.Errorf("%s: %d %v, want %d", c.name, st, body, c.status)
		}
	}
	for _, outcome := range []string{"fail", "abandon"} {
		st, body := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": params, "outcome": outcome})
		if st != http.StatusOK || body["trade_state"] != "NOTPAY" || body["out_trade_no"] != "ORD20260316001" || body["transaction_id"] != nil {
			t.Fatalf("%s: %d %v", outcome, st, body)
		}
	}
	if s := f.state("ORD20260316001"); s != payments.TradePaying {
		t.Fatalf("after refusals, fail and abandon the order is %s", s)
	}
	f.waitReceived(0)

	st, body := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": params, "outcome": "success"})
	tid, _ := body["transaction_id"].(string)
	if st != http.StatusOK || body["trade_state"] != "SUCCESS" || tid == "" {
		t.Fatalf("success: %d %v", st, body)
	}
	got := f.waitReceived(1)
	if got[0].err != nil || got[0].n.Kind != payments.NotifyPayment || got[0].n.Trade.OrderNo != "ORD20260316001" ||
		got[0].n.Trade.ChannelTradeNo != tid || got[0].n.Trade.AmountFen != 12345 || got[0].n.Trade.PayerID != wxpTestOpen {
		t.Fatalf("callback: %+v", got[0])
	}
	if s := f.state("ORD20260316001"); s != payments.TradePaid {
		t.Fatalf("after success the order is %s", s)
	}
	for _, outcome := range []string{"success", "fail", "abandon"} {
		if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": params, "outcome": outcome}); st != http.StatusConflict {
			t.Errorf("%s of a paid order: %d", outcome, st)
		}
	}
	f.waitReceived(1)
}

// TestWeChatPayPhoneApp: APP parameters (sign over appid, timestamp,
// noncestr, prepayid) pay the APP order; a forged sign or another
// merchant's partnerid is 401; JSAPI parameters cannot name an APP order.
func TestWeChatPayPhoneApp(t *testing.T) {
	f := newWxpPhone(t)
	params := f.prepay("APP2026031601", payments.WeChatApp, 500)
	for name, p := range map[string]map[string]any{
		"forged sign":        with(params, "sign", f.prepay("APP2026031602", payments.WeChatApp, 500)["sign"]),
		"another timestamp":  with(params, "timestamp", "1"),
		"another partnerid":  with(params, "partnerid", "1900000999"),
		"another appid":      with(params, "appid", wxpTestMini),
		"timestamp a number": with(params, "timestamp", 1),
	} {
		if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": p, "outcome": "success"}); st != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, st)
		}
	}
	if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": with(params, "package", "prepay_id=x"), "outcome": "success"}); st != http.StatusBadRequest {
		t.Errorf("APP package: %d", st)
	}
	if s := f.state("APP2026031601"); s != payments.TradePaying {
		t.Fatalf("after refusals the order is %s", s)
	}
	st, body := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": params, "outcome": "success"})
	if st != http.StatusOK || body["trade_state"] != "SUCCESS" {
		t.Fatalf("success: %d %v", st, body)
	}
	if got := f.waitReceived(1); got[0].err != nil || got[0].n.Trade.OrderNo != "APP2026031601" || got[0].n.Trade.AppID != wxpTestApp {
		t.Fatalf("callback: %+v", got[0])
	}
}

// TestWeChatPayPhoneExpiredOrClosed: past time_expire, or closed, the phone
// cannot pay (409) and nothing changes.
func TestWeChatPayPhoneExpiredOrClosed(t *testing.T) {
	f := newWxpPhone(t)
	expiring := f.prepay("ORD0000000001", payments.WeChatJSAPI, 100)
	closing := f.prepay("ORD0000000002", payments.WeChatJSAPI, 100)
	if err := f.p.Close(context.Background(), "ORD0000000002"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": closing, "outcome": "success"}); st != http.StatusConflict {
		t.Errorf("closed: %d", st)
	}
	f.clock.Advance(15 * time.Minute)
	if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": expiring, "outcome": "success"}); st != http.StatusConflict {
		t.Errorf("expired: %d", st)
	}
	if a, b := f.state("ORD0000000001"), f.state("ORD0000000002"); a != payments.TradePaying || b != payments.TradeClosed {
		t.Fatalf("states %s %s", a, b)
	}
	f.waitReceived(0)
}
