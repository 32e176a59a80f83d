package sim

import (
	"net/http"
	"testing"

	"banshi/payments"
)

// TestWeChatPayRedeliver: POST /orders/{order_no}/notify delivers the paid
// order's callback N times at once; the merchant receives N more, each
// verified by the real adapter, the same notification, each with its own
// nonce; the answer counts the statuses. Bad counts, unknown and unpaid
// orders are refused and send nothing.
func TestWeChatPayRedeliver(t *testing.T) {
	f := newWxpPhone(t)
	params := f.prepay("ORD0000000100", payments.WeChatJSAPI, 100)
	f.prepay("ORD0000000101", payments.WeChatJSAPI, 100)
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/sim/wechatpay/orders/ORD0000000100/notify", `{"times":1}`, http.StatusConflict}, // not paid yet
		{"/sim/wechatpay/orders/NOPE/notify", `{"times":1}`, http.StatusNotFound},
		{"/sim/wechatpay/orders/ORD0000000101/notify", `{"times":0}`, http.StatusBadRequest},
		{"/sim/wechatpay/orders/ORD0000000101/notify", `{"times":1001}`, http.StatusBadRequest},
		{"/sim/wechatpay/orders/ORD0000000101/notify", `{"times":"3"}`, http.StatusBadRequest},
		{"/sim/wechatpay/orders/ORD0000000101/notify", `{}`, http.StatusBadRequest},
	} {
		if st, _ := f.post(c.path, c.body); st != c.status {
			t.Errorf("%s %s: %d, want %d", c.path, c.body, st, c.status)
		}
	}
	f.waitReceived(0)
	if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": params, "outcome": "success"}); st != http.StatusOK {
		t.Fatal("pay")
	}
	first := f.waitReceived(1)[0]

	const n = 200
	st, body := f.post("/sim/wechatpay/orders/ORD0000000100/notify", map[string]int{"times": n})
	statuses, _ := body["statuses"].(map[string]any)
	if st != http.StatusOK || body["times"] != float64(n) || len(statuses) != 1 || statuses["200"] != float64(n) {
		t.Fatalf("notify: %d %v", st, body)
	}
	got := f.waitReceived(1 + n)
	nonces := map[string]bool{first.nonce: true}
	for _, g := range got[1:] {
		if g.err != nil || g.n.ID != first.n.ID || g.n.Trade != first.n.Trade {
			t.Fatalf("redelivery: %+v, first %+v", g, first)
		}
		nonces[g.nonce] = true
	}
	if len(nonces) != 1+n {
		t.Fatalf("%d distinct nonces in %d deliveries: not signed afresh", len(nonces), 1+n)
	}
}
