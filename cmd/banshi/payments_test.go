package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
	"banshi/payments"
)

// payFixture is a level-3 citizen with an unpaid bill of their ID number,
// issued by a department system of the test's own.
type payFixture struct {
	s      *stack
	p      person
	token  string
	dept   dept
	billNo string
}

func newPayFixture(t *testing.T) payFixture {
	t.Helper()
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, integrations.ScopeBills)
	p, token := levelThree(t, s)
	no := "PY" + platformtest.RandomID()[:10]
	s.must(t, 200, s.billHook(t, d, s.billEvent("i-"+no, payments.BillIssue, no, p.IDNumber, nil), nil))
	return payFixture{s: s, p: p, token: token, dept: d, billNo: no}
}

// orderState is what a refused request must leave unchanged: the bill and
// every order and refund of it.
func (f payFixture) orderState(t *testing.T) string {
	t.Helper()
	db := f.s.app.Mongo.DB
	var bill bson.M
	if err := db.Collection(payments.CollBills).FindOne(t.Context(), bson.M{"_id": f.billNo}).Decode(&bill); err != nil {
		t.Fatal(err)
	}
	var orders []bson.M
	cur, err := db.Collection(payments.CollOrders).Find(t.Context(), bson.M{"bill_no": f.billNo})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(t.Context(), &orders); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bill %v/%v/%v;", bill["state"], bill["open_order"], bill["version"])
	for _, o := range orders {
		fmt.Fprintf(&b, "order %v/%v/%v;", o["_id"], o["state"], o["version"])
		fmt.Fprintf(&b, "refunds %d;", f.s.countWhere(t, payments.CollRefunds, bson.M{"order_no": o["_id"]}))
	}
	return b.String()
}

func (f payFixture) createOrder(t *testing.T, channel string) answer {
	t.Helper()
	return f.s.must(t, 201, f.s.call(t, "POST", apiV1+"/bills/"+f.billNo+"/orders", f.token,
		map[string]string{"channel": channel}, "Idempotency-Key", "k-"+platformtest.RandomID()))
}

// waitOrder reads the order (as its owner) until it is in state.
func (f payFixture) waitOrder(t *testing.T, orderNo, state string) answer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := f.s.must(t, 200, f.s.call(t, "GET", apiV1+"/orders/"+orderNo, f.token, nil))
		if a.str("status") == state {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: %s, want %s", orderNo, a.Raw, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitBill reads the bill from the store until it is in state: a payment
// settles the order first and its bill a moment later.
func (f payFixture) waitBill(t *testing.T, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var bill bson.M
		if err := f.s.app.Mongo.DB.Collection(payments.CollBills).FindOne(t.Context(), bson.M{"_id": f.billNo}).Decode(&bill); err != nil {
			t.Fatal(err)
		}
		if bill["state"] == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bill %s: %v, want %s", f.billNo, bill["state"], state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOrderBadInput: every malformed or refused order request answers its
// 4xx and changes nothing.
func TestOrderBadInput(t *testing.T) {
	f := newPayFixture(t)
	s := f.s
	other, otherToken := levelThree(t, s)
	_ = other
	path := apiV1 + "/bills/" + f.billNo + "/orders"
	before := f.orderState(t)
	for _, c := range []struct {
		name, path, token string
		body              any
		hdr               []string
		status            int
		code              string
	}{
		{"no Idempotency-Key", path, f.token, map[string]string{"channel": "wechat_jsapi"}, nil, 400, "invalid_argument"},
		{"key too long", path, f.token, map[string]string{"channel": "wechat_jsapi"}, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid_argument"},
		{"unknown channel", path, f.token, map[string]string{"channel": "cash"}, []string{"Idempotency-Key", "k1"}, 400, "invalid_argument"},
		{"no channel", path, f.token, map[string]string{}, []string{"Idempotency-Key", "k1"}, 400, "invalid_argument"},
		{"channel of the wrong type", path, f.token, map[string]any{"channel": 7}, []string{"Idempotency-Key", "k1"}, 400, "invalid_argument"},
		{"not JSON", path, f.token, "not json", []string{"Idempotency-Key", "k1"}, 400, "invalid_argument"},
		{"unknown bill", apiV1 + "/bills/NO-SUCH-BILL/orders", f.token, map[string]string{"channel": "wechat_jsapi"}, []string{"Idempotency-Key", "k1"}, 404, "bill_not_found"},
		{"someone else's bill", path, otherToken, map[string]string{"channel": "wechat_jsapi"}, []string{"Idempotency-Key", "k1"}, 404, "bill_not_found"},
		{"someone else's bill, wrong code", path, otherToken, map[string]string{"channel": "wechat_jsapi", "code": "WRONG1"}, []string{"Idempotency-Key", "k1"}, 404, "bill_not_found"},
		{"no session", path, "", map[string]string{"channel": "wechat_jsapi"}, []string{"Idempotency-Key", "k1"}, 401, "unauthenticated"},
	} {
		a := s.call(t, "POST", c.path, c.token, c.body, c.hdr...)
		if a.Status != c.status || a.errCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.Status, a.Raw, c.status, c.code)
		}
		if after := f.orderState(t); after != before {
			t.Fatalf("%s changed the bill or its orders:\n%s\n%s", c.name, before, after)
		}
	}
	// Someone else with the notice's code may pay; the key reused with
	// another body is refused.
	code := "Code" + strings.ReplaceAll(f.billNo, "-", "")
	o := s.must(t, 201, s.call(t, "POST", path, otherToken, map[string]string{"channel": "wechat_app", "code": code}, "Idempotency-Key", "same"))
	before = f.orderState(t)
	a := s.call(t, "POST", path, otherToken, map[string]string{"channel": "alipay_app", "code": code}, "Idempotency-Key", "same")
	if a.Status != 422 || a.errCode() != "idempotency_mismatch" || f.orderState(t) != before {
		t.Fatalf("key reused with another body: %d %s", a.Status, a.Raw)
	}
	// The order is its owner's alone.
	for _, c := range []struct{ token, no string }{{f.token, o.str("order_no")}, {otherToken, "BS00000000000000000000000000"}} {
		if a := s.call(t, "GET", apiV1+"/orders/"+c.no, c.token, nil); a.Status != 404 || a.errCode() != "order_not_found" {
			t.Fatalf("GET %s: %d %s", c.no, a.Status, a.Raw)
		}
	}
}

// TestFinanceRefundBadInput: finance's refunds need the role, a paid
// order, a positive amount within what is refundable, a reason, and the
// current refundable amount; anything else is refused and changes nothing.
func TestFinanceRefundBadInput(t *testing.T) {
	f := newPayFixture(t)
	s := f.s
	finance := s.staffLogin(t, staff.DemoFinance)
	hall := s.staffLogin(t, staff.DemoStaff)
	o := f.createOrder(t, "wechat_jsapi")
	no := o.str("order_no")
	refunds := apiV1 + "/finance/orders/" + no + "/refunds"
	ok := map[string]any{"amount_fen": 100, "reason": "多缴", "expected_refundable_fen": 21200}
	// Not paid yet.
	if a := s.call(t, "POST", refunds, finance, ok); a.Status != 409 || a.errCode() != "order_not_refundable" {
		t.Fatalf("refund of a paying order: %d %s", a.Status, a.Raw)
	}
	var params json.RawMessage
	decodeInto(t, answer{Raw: mustJSON(t, o.Body["pay_params"])}, &params)
	s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/pay", "", map[string]any{"pay_params": params, "outcome": "success"}))
	f.waitOrder(t, no, payments.OrderPaid)
	f.waitBill(t, payments.BillPaid)
	detail := s.must(t, 200, s.call(t, "GET", apiV1+"/finance/orders/"+no, finance, nil))
	if detail.Body["refundable_fen"] != float64(21200) {
		t.Fatalf("finance view: %s", detail.Raw)
	}
	before := f.orderState(t)
	for _, c := range []struct {
		name, token string
		body        any
		status      int
		code        string
	}{
		{"citizen token", f.token, ok, 401, "unauthenticated"},
		{"hall staff", hall, ok, 403, "forbidden"},
		{"zero", finance, map[string]any{"amount_fen": 0, "reason": "x", "expected_refundable_fen": 21200}, 400, "invalid_argument"},
		{"negative", finance, map[string]any{"amount_fen": -5, "reason": "x", "expected_refundable_fen": 21200}, 400, "invalid_argument"},
		{"no reason", finance, map[string]any{"amount_fen": 100, "expected_refundable_fen": 21200}, 400, "invalid_argument"},
		{"no expected amount", finance, map[string]any{"amount_fen": 100, "reason": "x"}, 400, "invalid_argument"},
		{"amount as a string", finance, map[string]any{"amount_fen": "100", "reason": "x", "expected_refundable_fen": 21200}, 400, "invalid_argument"},
		{"stale expected amount", finance, map[string]any{"amount_fen": 100, "reason": "x", "expected_refundable_fen": 20000}, 409, "refundable_changed"},
		{"more than refundable", finance, map[string]any{"amount_fen": 21201, "reason": "x", "expected_refundable_fen": 21200}, 422, "refund_exceeds_refundable"},
	} {
		a := s.call(t, "POST", refunds, c.token, c.body)
		if a.Status != c.status || a.errCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.Status, a.Raw, c.status, c.code)
		}
		if after := f.orderState(t); after != before {
			t.Fatalf("%s changed the order:\n%s\n%s", c.name, before, after)
		}
	}
	if a := s.call(t, "POST", apiV1+"/finance/orders/BS00000000000000000000000000/refunds", finance, ok); a.Status != 404 || a.errCode() != "order_not_found" {
		t.Fatalf("unknown order: %d %s", a.Status, a.Raw)
	}
	// A good refund, audited.
	r := s.must(t, 201, s.call(t, "POST", refunds, finance, ok))
	if r.Body["refundable_fen"] != float64(21100) {
		t.Fatalf("refund: %s", r.Raw)
	}
	if n := s.countWhere(t, "staff_audit", bson.M{"action": "payments.refund", "target": no, "outcome": "ok"}); n != 1 {
		t.Fatalf("%d audit records of the refund", n)
	}
}

// TestPaymentCallbacksRefused: forged and mis-signed callbacks are refused
// before anything is read and change nothing; the simulator's redelivery of
// one success 20 times at once pays the order once.
func TestPaymentCallbacksRefused(t *testing.T) {
	f := newPayFixture(t)
	s := f.s
	o := f.createOrder(t, "wechat_jsapi")
	no := o.str("order_no")
	before := f.orderState(t)
	forged := fmt.Sprintf(`{"id":"x","create_time":"2026-01-01T00:00:00+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","associated_data":"transaction","nonce":"abcdefabcdef"},"order":%q}`, no)
	logFrom := stackLog.Len()
	for _, c := range []struct {
		name string
		hdr  []string
	}{
		{"no signature", nil},
		{"forged signature", []string{"Wechatpay-Serial", "PUB_KEY_ID_0000", "Wechatpay-Signature", "Zm9yZ2Vk", "Wechatpay-Timestamp", fmt.Sprint(time.Now().Unix()), "Wechatpay-Nonce", "n1"}},
		{"stale", []string{"Wechatpay-Serial", "PUB_KEY_ID_0000", "Wechatpay-Signature", "Zm9yZ2Vk", "Wechatpay-Timestamp", fmt.Sprint(time.Now().Add(-time.Hour).Unix()), "Wechatpay-Nonce", "n2"}},
	} {
		a := s.call(t, "POST", apiV1+"/hooks/wechatpay", "", json.RawMessage(forged), c.hdr...)
		if a.Status != 401 || a.str("code") != "FAIL" {
			t.Errorf("%s: %d %s", c.name, a.Status, a.Raw)
		}
	}
	// WeChat's own deliberately mis-signed probe.
	probe := s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/control/probe", "", map[string]string{"notify_url": s.url + apiV1 + "/hooks/wechatpay"}))
	if probe.Body["status"] != float64(401) {
		t.Fatalf("probe answered %s", probe.Raw)
	}
	// A forged Alipay notification.
	form := url.Values{"notify_id": {"x"}, "app_id": {"2021000000000000"}, "out_trade_no": {no}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"212.00"}, "sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"}}
	if a := s.call(t, "POST", apiV1+"/hooks/alipay", "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); a.Status != 401 {
		t.Fatalf("forged alipay notification: %d %s", a.Status, a.Raw)
	}
	if after := f.orderState(t); after != before {
		t.Fatalf("a refused callback changed the order:\n%s\n%s", before, after)
	}
	logs := stackLog.Since(logFrom)
	if !strings.Contains(logs, "payment callback not verified") || strings.Contains(logs, "Zm9yZ2Vk") {
		t.Fatalf("refusals not logged, or a signature in the log:\n%s", logs)
	}

	// Paid, then the same success delivered 20 times at once.
	var params json.RawMessage
	decodeInto(t, answer{Raw: mustJSON(t, o.Body["pay_params"])}, &params)
	s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/pay", "", map[string]any{"pay_params": params, "outcome": "success"}))
	f.waitOrder(t, no, payments.OrderPaid)
	rd := s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/orders/"+no+"/notify", "", map[string]int{"times": 20}))
	if st, _ := rd.Body["statuses"].(map[string]any); st["200"] != float64(20) {
		t.Fatalf("redeliveries: %s", rd.Raw)
	}
	finance := s.staffLogin(t, staff.DemoFinance)
	v := s.must(t, 200, s.call(t, "GET", apiV1+"/finance/orders/"+no, finance, nil))
	var view payments.FinanceOrderView
	decodeInto(t, v, &view)
	paid := 0
	for _, tr := range view.Transitions {
		if tr.To == payments.OrderPaid {
			paid++
		}
	}
	if paid != 1 || s.countWhere(t, "outbox", bson.M{"_id": "payment.succeeded:" + no + "|department"}) != 1 ||
		s.countWhere(t, "inbox", bson.M{"_id": "payment_paid:" + no}) != 1 {
		t.Fatalf("paid %d times; department events %d; messages %d", paid,
			s.countWhere(t, "outbox", bson.M{"_id": "payment.succeeded:" + no + "|department"}),
			s.countWhere(t, "inbox", bson.M{"_id": "payment_paid:" + no}))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
