package payments_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/notify"
	"banshi/payments"
)

// A bill paid through the mini-program: the order is created at the channel,
// the signed callback marks it paid once, the bill is paid by it, and the
// department's event and the citizen's message are stored once.
func TestOrderPaidByCallback(t *testing.T) {
	f := newFixture(t)
	f.bill("B1", 20000)
	v := f.order("B1", "k1")
	if v.Status != payments.OrderPaying || v.AmountFen != 20000 || v.PayParams["package"] == nil || v.PayParams["paySign"] == nil {
		t.Fatalf("order = %+v", v)
	}
	if st, open, _ := f.billState("B1"); st != payments.BillPaying || open != v.OrderNo {
		t.Fatalf("bill = %s open %s", st, open)
	}
	f.pay(v.OrderNo)
	got := f.waitPaid(v.OrderNo)
	if got.PaidFen != 20000 || got.ChannelTradeNo == "" || countTo(got, payments.OrderPaid) != 1 {
		t.Fatalf("paid order = %+v", got)
	}
	if st, _, paid := f.billState("B1"); st != payments.BillPaid || paid != v.OrderNo {
		t.Fatalf("bill = %s paid by %s", st, paid)
	}
	if !f.note.has("payment_paid:"+v.OrderNo) || f.note.dept[deptID(v.OrderNo)].Body == "" {
		t.Fatalf("messages %v dept %v", f.note.messages, f.note.dept)
	}
	// The owner reads it; anyone else is told it does not exist.
	if _, err := f.svc.GetOrder(f.ctx, citizen, v.OrderNo); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetOrder(f.ctx, other, v.OrderNo); !errors.Is(err, payments.ErrOrderNotFound) {
		t.Fatalf("another citizen's read: %v", err)
	}
	// A new order for a paid bill is refused.
	if _, _, err := f.svc.CreateOrder(f.ctx, citizen, "B1", "k2", payments.OrderRequest{Channel: payments.WeChatJSAPI}); !errors.Is(err, payments.ErrBillPaid) {
		t.Fatalf("order for a paid bill: %v", err)
	}
}

// One open order per bill: the same channel gets the same order back, the
// same Idempotency-Key with another body is refused, and concurrent
// requests open one order.
func TestOneOpenOrderPerBill(t *testing.T) {
	f := newFixture(t)
	f.bill("B2", 5000)
	a := f.order("B2", "k1")
	b := f.order("B2", "k2")
	if a.OrderNo != b.OrderNo {
		t.Fatalf("same channel: %s then %s", a.OrderNo, b.OrderNo)
	}
	if _, _, err := f.svc.CreateOrder(f.ctx, citizen, "B2", "k1", payments.OrderRequest{Channel: payments.WeChatApp}); !errors.Is(err, payments.ErrIdempotencyMismatch) {
		t.Fatalf("key reused with another body: %v", err)
	}
	f.bill("B3", 5000)
	var wg sync.WaitGroup
	orders := make(chan string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := f.svc.CreateOrder(f.ctx, citizen, "B3", "race-"+string(rune('a'+i)), payments.OrderRequest{Channel: payments.WeChatJSAPI})
			if err == nil {
				if v.PayParams["paySign"] == nil {
					t.Errorf("an order answered without its payment parameters: %+v", v)
				}
				orders <- v.OrderNo
			} else if !errors.Is(err, payments.ErrBillBusy) {
				t.Errorf("racing create: %v", err)
			}
		}()
	}
	wg.Wait()
	close(orders)
	seen := map[string]bool{}
	for o := range orders {
		seen[o] = true
	}
	n, err := f.db.Collection(payments.CollOrders).CountDocuments(f.ctx, bson.M{"bill_no": "B3", "state": payments.OrderPaying})
	if err != nil || n != 1 || len(seen) != 1 {
		t.Fatalf("paying orders for B3: %d (answers named %v)", n, seen)
	}
}

// Another channel closes the open order first.
func TestOtherChannelClosesOpenOrder(t *testing.T) {
	f := newFixture(t)
	f.bill("B4", 3000)
	first := f.order("B4", "k1")
	second, _, err := f.svc.CreateOrder(f.ctx, citizen, "B4", "k2", payments.OrderRequest{Channel: payments.WeChatApp})
	if err != nil {
		t.Fatal(err)
	}
	if first.OrderNo == second.OrderNo || f.status(first.OrderNo).Status != payments.OrderClosed {
		t.Fatalf("first %s is %s", first.OrderNo, f.status(first.OrderNo).Status)
	}
	if st, open, _ := f.billState("B4"); st != payments.BillPaying || open != second.OrderNo {
		t.Fatalf("bill = %s open %s", st, open)
	}
	// The close finding the order paid at the channel applies the payment
	// and answers bill_paid.
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	f.pay(second.OrderNo)
	_, _, err = f.svc.CreateOrder(f.ctx, citizen, "B4", "k3", payments.OrderRequest{Channel: payments.WeChatJSAPI})
	if !errors.Is(err, payments.ErrBillPaid) {
		t.Fatalf("switching channel after paying: %v", err)
	}
	if v := f.status(second.OrderNo); v.Status != payments.OrderPaid {
		t.Fatalf("second order is %s", v.Status)
	}
}

// A success for an order Banshi had closed is money received: recorded,
// not handled, refunded in full, and it never pays the bill; a replay
// refunds nothing more.
func TestPaidAfterCloseIsRefunded(t *testing.T) {
	f := newFixture(t)
	f.bill("B4", 3000)
	o := f.order("B4", "k1")
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	f.pay(o.OrderNo)
	// Banshi believed it closed (its close crossed the payment).
	if _, err := f.db.Collection(payments.CollOrders).UpdateOne(f.ctx, bson.M{"_id": o.OrderNo}, bson.M{
		"$set":  bson.M{"state": payments.OrderClosed},
		"$push": bson.M{"transitions": bson.M{"from": "paying", "to": "closed", "cause": "expired", "at": f.clock.Now()}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Collection(payments.CollBills).UpdateOne(f.ctx, bson.M{"_id": "B4"},
		bson.M{"$set": bson.M{"state": payments.BillUnpaid, "open_order": ""}, "$inc": bson.M{"version": 1}}); err != nil {
		t.Fatal(err)
	}
	tr, err := f.svc.Provider(payments.ProviderWeChatPay).Query(f.ctx, o.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.svc.ApplyTrade(f.ctx, payments.ProviderWeChatPay, tr, "callback"); err != nil {
			t.Fatal(err)
		}
	}
	f.sweep()
	v := f.status(o.OrderNo)
	if v.Status != payments.OrderRefunded || len(v.Refunds) != 1 || v.RefundedFen != 3000 {
		t.Fatalf("paid-after-close order: %s refunds %+v", v.Status, v.Refunds)
	}
	if st, _, _ := f.billState("B4"); st != payments.BillUnpaid {
		t.Fatalf("bill = %s", st)
	}
	if _, d := f.note.counts(); d != 0 {
		t.Fatal("the department was told of money Banshi refunds")
	}
}

// A trade that does not match the order (amount, merchant, app) is refused
// and changes nothing.
func TestMismatchedTradeRefused(t *testing.T) {
	f := newFixture(t)
	f.bill("B5", 1000)
	o := f.order("B5", "k1")
	for name, tr := range map[string]payments.Trade{
		"amount":   {AmountFen: 999, PaidFen: 999, MerchantID: fxMchID, AppID: fxMiniApp},
		"merchant": {AmountFen: 1000, PaidFen: 1000, MerchantID: "1900000999", AppID: fxMiniApp},
		"app":      {AmountFen: 1000, PaidFen: 1000, MerchantID: fxMchID, AppID: "wxsomeoneelse"},
	} {
		tr.OrderNo, tr.State, tr.ChannelTradeNo = o.OrderNo, payments.TradePaid, "42000"
		if _, err := f.svc.ApplyTrade(f.ctx, payments.ProviderWeChatPay, tr, "callback"); !errors.Is(err, payments.ErrMismatch) {
			t.Fatalf("%s: %v", name, err)
		}
		if v := f.status(o.OrderNo); v.Status != payments.OrderPaying || len(v.Transitions) != 1 {
			t.Fatalf("%s changed the order: %+v", name, v)
		}
	}
	if c, d := f.note.counts(); c != 0 || d != 0 {
		t.Fatalf("messages stored for a refused trade: %d, %d", c, d)
	}
}

// Concurrent deliveries of the same success: one paid transition, one
// department event, one citizen message.
func TestDuplicateCallbacksConcurrent(t *testing.T) {
	f := newFixture(t)
	f.bill("B6", 8800)
	o := f.order("B6", "k1")
	f.mu.Lock()
	f.refuseCallbacks = true // the simulator's own callback is lost
	f.mu.Unlock()
	f.pay(o.OrderNo)
	f.mu.Lock()
	f.refuseCallbacks = false
	f.mu.Unlock()
	tr := payments.Trade{OrderNo: o.OrderNo, ChannelTradeNo: "4200000066", State: payments.TradePaid, AmountFen: 8800, PaidFen: 8800,
		MerchantID: fxMchID, AppID: fxMiniApp, PaidAt: f.clock.Now()}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.ApplyTrade(f.ctx, payments.ProviderWeChatPay, tr, "callback"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	v := f.status(o.OrderNo)
	if v.Status != payments.OrderPaid || countTo(v, payments.OrderPaid) != 1 {
		t.Fatalf("order %s, transitions %+v", v.Status, v.Transitions)
	}
	if c, d := f.note.counts(); c != 1 || d != 1 {
		t.Fatalf("citizen messages %d, department events %d", c, d)
	}
}

// A lost callback: the citizen's read after 10 s asks the channel; the
// sweeper does too after a minute.
func TestLostCallbackFoundByQuery(t *testing.T) {
	f := newFixture(t)
	f.bill("B7", 1200)
	f.bill("B8", 1300)
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	a := f.order("B7", "k1")
	b := f.order("B8", "k2")
	f.pay(a.OrderNo)
	f.pay(b.OrderNo)
	if v, _ := f.svc.GetOrder(f.ctx, citizen, a.OrderNo); v.Status != payments.OrderPaying {
		t.Fatalf("read within 10 s asked the channel: %s", v.Status)
	}
	f.clock.Advance(11 * time.Second)
	if v, _ := f.svc.GetOrder(f.ctx, citizen, a.OrderNo); v.Status != payments.OrderPaid {
		t.Fatalf("read after 10 s: %s", v.Status)
	}
	f.clock.Advance(time.Minute)
	f.sweep()
	if v := f.status(b.OrderNo); v.Status != payments.OrderPaid {
		t.Fatalf("sweep: %s", v.Status)
	}
}

// An order nobody paid expires: the sweeper closes it at the channel and
// here, and the bill is payable again.
func TestExpiredOrderClosedAndBillFreed(t *testing.T) {
	f := newFixture(t)
	f.bill("B9", 1500)
	o := f.order("B9", "k1")
	f.clock.Advance(16 * time.Minute)
	f.sweep()
	if v := f.status(o.OrderNo); v.Status != payments.OrderClosed {
		t.Fatalf("expired order is %s", v.Status)
	}
	if st, open, _ := f.billState("B9"); st != payments.BillUnpaid || open != "" {
		t.Fatalf("bill = %s open %q", st, open)
	}
	n := f.order("B9", "k2")
	if n.OrderNo == o.OrderNo {
		t.Fatal("the closed order was handed out again")
	}
}

// The department's answer decides: accepted → handled; refused → refunded
// in full automatically; silent past the deadline → refunded too.
func TestDepartmentOutcome(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		bill, state, code string
		advance           time.Duration
		want              string
	}{
		{"H1", notify.StateSent, "", 0, payments.OrderHandled},
		{"H2", notify.StateDead, "refused", 0, payments.OrderRefunded},
		{"H3", notify.StatePending, "", 25 * time.Hour, payments.OrderRefunded},
	} {
		f.bill(c.bill, 2500)
		o := f.order(c.bill, "k-"+c.bill)
		f.pay(o.OrderNo)
		f.waitPaid(o.OrderNo)
		f.note.set(deptID(o.OrderNo), c.state, c.code)
		f.clock.Advance(c.advance)
		f.sweep()
		f.sweep() // the refund's outcome (the simulator settles at once or on query)
		v := f.status(o.OrderNo)
		if v.Status != c.want {
			t.Fatalf("%s: order %s (transitions %+v, refunds %+v)", c.bill, v.Status, v.Transitions, v.Refunds)
		}
		if c.want == payments.OrderRefunded && (v.RefundedFen != 2500 || !f.waitNote("payment_refunded:"+v.Refunds[0].RefundNo)) {
			t.Fatalf("%s: refunded %d, messages %v", c.bill, v.RefundedFen, f.note.messages)
		}
		if c.want == payments.OrderHandled && !f.note.has("payment_handled:"+o.OrderNo) {
			t.Fatalf("%s: no handled message", c.bill)
		}
		// A payment not handled leaves the bill owed again (the department
		// may cancel it); a handled one leaves it paid.
		st, _, paidBy := f.billState(c.bill)
		if c.want == payments.OrderHandled && (st != payments.BillPaid || paidBy != o.OrderNo) ||
			c.want == payments.OrderRefunded && (st != payments.BillUnpaid || paidBy != "") {
			t.Fatalf("%s: bill %s paid by %q", c.bill, st, paidBy)
		}
	}
}

// Finance refunds with the expected refundable amount as a lock: a stale
// amount, too much, or a second clerk with the same expectation refund
// nothing.
func TestFinanceRefundLock(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("R1", 10000)
	exp := func(n int64) *int64 { return &n }
	bad := []struct {
		name string
		req  payments.RefundRequestBody
		err  error
	}{
		{"zero", payments.RefundRequestBody{AmountFen: 0, Reason: "x", ExpectedRefundableFen: exp(10000)}, platform.Invalid("amount_fen", "", "")},
		{"no reason", payments.RefundRequestBody{AmountFen: 100, ExpectedRefundableFen: exp(10000)}, platform.Invalid("reason", "", "")},
		{"no expected", payments.RefundRequestBody{AmountFen: 100, Reason: "x"}, platform.Invalid("expected_refundable_fen", "", "")},
		{"stale", payments.RefundRequestBody{AmountFen: 100, Reason: "x", ExpectedRefundableFen: exp(9000)}, payments.ErrRefundableChanged},
		{"too much", payments.RefundRequestBody{AmountFen: 10001, Reason: "x", ExpectedRefundableFen: exp(10000)}, payments.ErrRefundTooLarge},
	}
	for _, b := range bad {
		_, err := f.svc.Refund(f.ctx, "finance1", o.OrderNo, b.req)
		if platform.CodeOf(err) != platform.CodeOf(b.err) {
			t.Fatalf("%s: %v", b.name, err)
		}
		if v := f.status(o.OrderNo); v.Status != payments.OrderPaid || len(v.Refunds) != 0 {
			t.Fatalf("%s changed the order: %+v", b.name, v)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, stale := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Refund(f.ctx, "finance1", o.OrderNo, payments.RefundRequestBody{AmountFen: 4000, Reason: "多缴", ExpectedRefundableFen: exp(10000)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, payments.ErrRefundableChanged):
				stale++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.sweep()
	v := f.status(o.OrderNo)
	if ok != 1 || stale != 7 || v.RefundedFen+v.RefundingFen != 4000 || v.RefundableFen != 6000 {
		t.Fatalf("ok %d stale %d, order %+v", ok, stale, v)
	}
	if v.Status != payments.OrderPartiallyRefunded && v.Status != payments.OrderRefunding {
		t.Fatalf("order is %s", v.Status)
	}
}

// Bad order requests change nothing.
func TestCreateOrderBadInput(t *testing.T) {
	f := newFixture(t)
	f.bill("X1", 1000)
	for _, c := range []struct {
		name, user, bill, key string
		req                   payments.OrderRequest
		code                  string
	}{
		{"no key", citizen, "X1", "", payments.OrderRequest{Channel: payments.WeChatJSAPI}, "invalid_argument"},
		{"bad channel", citizen, "X1", "k", payments.OrderRequest{Channel: "cash"}, "invalid_argument"},
		{"channel not configured", citizen, "X1", "k", payments.OrderRequest{Channel: payments.AlipayApp}, "invalid_argument"},
		{"unknown bill", citizen, "NOPE", "k", payments.OrderRequest{Channel: payments.WeChatJSAPI}, "bill_not_found"},
		{"not the payer, no code", other, "X1", "k", payments.OrderRequest{Channel: payments.WeChatJSAPI}, "bill_not_found"},
		{"not the payer, wrong code", other, "X1", "k", payments.OrderRequest{Channel: payments.WeChatJSAPI, Code: "WRONG"}, "bill_not_found"},
		{"level 1", "u-level1", "X1", "k", payments.OrderRequest{Channel: payments.WeChatJSAPI, Code: "CODE1234"}, "realname_required"},
	} {
		_, _, err := f.svc.CreateOrder(f.ctx, c.user, c.bill, c.key, c.req)
		if platform.CodeOf(err) != c.code {
			t.Fatalf("%s: %v (code %q)", c.name, err, platform.CodeOf(err))
		}
	}
	if st, open, _ := f.billState("X1"); st != payments.BillUnpaid || open != "" {
		t.Fatalf("bill changed: %s %s", st, open)
	}
	if n, _ := f.db.Collection(payments.CollOrders).CountDocuments(f.ctx, bson.M{}); n != 0 {
		t.Fatalf("%d orders stored", n)
	}
	// Someone else holding the notice's code may pay.
	if _, _, err := f.svc.CreateOrder(f.ctx, other, "X1", "k", payments.OrderRequest{Channel: payments.WeChatApp, Code: "CODE1234"}); err != nil {
		t.Fatal(err)
	}
	_ = http.StatusOK
}
