package payments_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
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
	o := f.paidOrder("K2", 7000)
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

// TestRefundSettledOrderBehind: a stop came after a refund's own document
// was settled (succeeded) and before its order caught up. The refund sweep
// follows only unsettled refunds, so the order stayed refunding for good
// and the citizen was never told. The sweep now catches the order up and
// publishes the message, once.
func TestRefundSettledOrderBehind(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("K4", 7000)
	v := f.status(o.OrderNo)
	now := f.clock.Now()
	id := o.OrderNo + "R7"
	if _, err := f.db.Collection(payments.CollRefunds).InsertOne(f.ctx, bson.M{"_id": id, "order_no": o.OrderNo,
		"provider": payments.ProviderWeChatPay, "amount_fen": int64(2500), "reason": "多缴", "by": "finance1",
		"state": payments.RefundSucceeded, "channel_refund_no": "50300000000001", "created_at": now, "settled_at": now,
		"settled_date": now.In(platform.Shanghai()).Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Collection(payments.CollOrders).UpdateOne(f.ctx, bson.M{"_id": o.OrderNo}, bson.M{
		"$set": bson.M{"state": payments.OrderRefunding, "refunding_fen": int64(2500), "refunds": []string{id},
			"before_refund": v.Status, "version": int64(100), "updated_at": now}}); err != nil {
		t.Fatal(err)
	}
	f.sweep() // within the grace: the settlement may still be at it
	if got := f.status(o.OrderNo); got.Status != payments.OrderRefunding {
		t.Fatalf("caught up within the grace: %+v", got)
	}
	f.clock.Advance(2 * payments.FinishGrace)
	f.sweep()
	f.sweep()
	got := f.status(o.OrderNo)
	if got.Status != payments.OrderPartiallyRefunded || got.RefundedFen != 2500 || got.RefundingFen != 0 || got.RefundableFen != 4500 {
		t.Fatalf("order after the sweeps: %+v", got)
	}
	if !f.note.has(payments.KindRefunded + ":" + id) {
		t.Fatal("the citizen was not told of the refund")
	}
}

// TestRefundMessageSurvivesAFailedPublish: the refund's message cannot be
// published when the refund settles (the message store is down). Before,
// the order moved first and the message was never tried again; now the
// order waits for the message, and the sweep finishes both once the store
// is back. The money moves once.
func TestRefundMessageSurvivesAFailedPublish(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("K5", 9000)
	f.note.mu.Lock()
	f.note.failKind = payments.KindRefunded
	f.note.mu.Unlock()
	exp := int64(9000)
	r, err := f.svc.Refund(f.ctx, "finance1", o.OrderNo, payments.RefundRequestBody{AmountFen: 3000, Reason: "多缴", ExpectedRefundableFen: &exp})
	if err != nil {
		t.Fatal(err)
	}
	// The channel settles it (its callback, or the sweep's query) while
	// messages cannot be published.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var doc struct {
			State string `bson:"state"`
		}
		if err := f.db.Collection(payments.CollRefunds).FindOne(f.ctx, bson.M{"_id": r.RefundNo}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if doc.State == payments.RefundSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund still %s", doc.State)
		}
		_, _ = f.svc.SweepOnce(f.ctx) // fails while the notifier is down
		time.Sleep(50 * time.Millisecond)
	}
	if got := f.status(o.OrderNo); got.RefundedFen != 0 {
		t.Fatalf("the order moved before the message was published: %+v", got)
	}
	f.note.mu.Lock()
	f.note.failKind = ""
	f.note.mu.Unlock()
	f.clock.Advance(2 * payments.FinishGrace)
	f.sweep()
	got := f.waitStatus(o.OrderNo, payments.OrderPartiallyRefunded)
	if got.RefundedFen != 3000 || got.RefundingFen != 0 || got.RefundableFen != 6000 {
		t.Fatalf("order after the sweep: %+v", got)
	}
	if !f.waitNote(payments.KindRefunded + ":" + r.RefundNo) {
		t.Fatal("the refund's message was lost")
	}
	f.sweep()
	if again := f.status(o.OrderNo); again.RefundedFen != 3000 {
		t.Fatalf("refunded again: %d", again.RefundedFen)
	}
}
