package payments_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/payments"
)

// A crash right after the paid transition, before its effects: the sweeper
// marks the bill, tells the department and the citizen, once.
func TestCrashAfterPaidBeforeEffects(t *testing.T) {
	f := newFixture(t)
	f.bill("K1", 6100)
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	o := f.order("K1", "k1")
	f.pay(o.OrderNo)
	// What the callback's first write left, and nothing more.
	now := f.clock.Now()
	if _, err := f.db.Collection(payments.CollOrders).UpdateOne(f.ctx, bson.M{"_id": o.OrderNo}, bson.M{
		"$set": bson.M{"state": payments.OrderPaid, "paid_fen": int64(6100), "paid_at": now, "handle_by": now.Add(24 * time.Hour),
			"published": false, "channel_trade_no": "4200000000000000000001"},
		"$inc":  bson.M{"version": 1},
		"$push": bson.M{"transitions": bson.M{"from": "paying", "to": "paid", "cause": "callback", "at": now}},
	}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := f.billState("K1"); st != payments.BillPaying {
		t.Fatalf("bill %s", st)
	}
	// Within the grace the recording callback is presumed alive; after it
	// the sweeper finishes.
	f.sweep()
	if st, _, _ := f.billState("K1"); st != payments.BillPaying {
		t.Fatalf("finished within the grace: bill %s", st)
	}
	f.clock.Advance(payments.FinishGrace)
	for range 2 {
		f.sweep()
	}
	if st, _, paid := f.billState("K1"); st != payments.BillPaid || paid != o.OrderNo {
		t.Fatalf("bill %s paid by %s", st, paid)
	}
	if c, d := f.note.counts(); c != 1 || d != 1 || !f.note.has("payment_paid:"+o.OrderNo) {
		t.Fatalf("messages %d, department events %d", c, d)
	}
	if v := f.status(o.OrderNo); v.Status != payments.OrderPaid || countTo(v, payments.OrderPaid) != 1 {
		t.Fatalf("order %+v", v)
	}
}

// A crash between reserving a refund and asking the channel: the sweeper
// asks with the same refund number, once; a refund stored but never
// reserved fails after a minute and moves no money.
func TestCrashInRefund(t *testing.T) {
	f := newFixture(t)
	f.bill("K2", 7000)
	o := f.order("K2", "k1")
	f.pay(o.OrderNo)
	f.waitPaid(o.OrderNo)
	v := f.status(o.OrderNo)
	now := f.clock.Now()
	// Reserved, never asked.
	if _, err := f.db.Collection(payments.CollRefunds).InsertOne(f.ctx, bson.M{"_id": o.OrderNo + "R9", "order_no": o.OrderNo,
		"provider": payments.ProviderWeChatPay, "amount_fen": int64(2000), "reason": "多缴", "by": "finance1",
		"state": payments.RefundRequested, "created_at": now}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Collection(payments.CollOrders).UpdateOne(f.ctx, bson.M{"_id": o.OrderNo}, bson.M{
		"$set": bson.M{"state": payments.OrderRefunding, "refunding_fen": int64(2000), "refunds": []string{o.OrderNo + "R9"},
			"before_refund": v.Status, "version": int64(100)}}); err != nil {
		t.Fatal(err)
	}
	// Stored, never reserved.
	if _, err := f.db.Collection(payments.CollRefunds).InsertOne(f.ctx, bson.M{"_id": o.OrderNo + "R8", "order_no": o.OrderNo,
		"provider": payments.ProviderWeChatPay, "amount_fen": int64(3000), "reason": "多缴", "by": "finance2",
		"state": payments.RefundRequested, "created_at": now}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	f.sweep()
	f.sweep()
	// The channel's refund notice may arrive while the sweeps run: its
	// handler settles the refund first and the order a moment later.
	f.waitStatus(o.OrderNo, payments.OrderPartiallyRefunded)
	got := f.status(o.OrderNo)
	if got.Status != payments.OrderPartiallyRefunded || got.RefundedFen != 2000 || got.RefundingFen != 0 || got.RefundableFen != 5000 {
		t.Fatalf("order after the sweeps: %+v", got)
	}
	states := map[string]string{}
	for _, r := range got.Refunds {
		states[r.RefundNo] = r.State
	}
	if states[o.OrderNo+"R9"] != payments.RefundSucceeded || states[o.OrderNo+"R8"] != payments.RefundFailed {
		t.Fatalf("refunds %v", states)
	}
	f.sweep()
	if again := f.status(o.OrderNo); again.RefundedFen != 2000 {
		t.Fatalf("refunded again: %d", again.RefundedFen)
	}
}
