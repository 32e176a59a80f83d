package payments_test

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/payments"
)

// Taking the channel's word: a payment whose callback was lost is applied;
// an order Banshi counts as paid that the channel says was not paid is left
// for a person (nothing changed).
func TestTakeChannel(t *testing.T) {
	f := newFixture(t)
	f.bill("T1", 4200)
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	o := f.order("T1", "k1")
	f.pay(o.OrderNo)
	if err := f.svc.TakeChannel(f.ctx, payments.ProviderWeChatPay, o.OrderNo); err != nil {
		t.Fatal(err)
	}
	if v := f.status(o.OrderNo); v.Status != payments.OrderPaid || countTo(v, payments.OrderPaid) != 1 {
		t.Fatalf("order %s transitions %+v", v.Status, v.Transitions)
	}
	if err := f.svc.TakeChannel(f.ctx, payments.ProviderWeChatPay, o.OrderNo); err != nil {
		t.Fatal(err)
	}
	if v := f.status(o.OrderNo); countTo(v, payments.OrderPaid) != 1 {
		t.Fatal("taken twice")
	}

	f.bill("T2", 4300)
	o2 := f.order("T2", "k2")
	// Banshi believes it paid; the channel never saw a payment.
	if _, err := f.db.Collection(payments.CollOrders).UpdateOne(f.ctx, bson.M{"_id": o2.OrderNo},
		bson.M{"$set": bson.M{"state": payments.OrderHandled, "paid_fen": int64(4300), "published": true}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.TakeChannel(f.ctx, payments.ProviderWeChatPay, o2.OrderNo); !errors.Is(err, payments.ErrChannelNotPaid) {
		t.Fatalf("take channel of an unpaid trade Banshi counts as paid: %v", err)
	}
	if v := f.status(o2.OrderNo); v.Status != payments.OrderHandled {
		t.Fatalf("order changed: %s", v.Status)
	}
	if err := f.svc.TakeChannel(f.ctx, payments.ProviderWeChatPay, "NOPE"); !errors.Is(err, payments.ErrOrderNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}

// Money only the channel has (长款) goes back once; an order Banshi counts as
// paid is refunded through the order instead; a refusal of the channel is
// reported, not hidden.
func TestRefundChannelOnly(t *testing.T) {
	f := newFixture(t)
	f.bill("C1", 5100)
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	o := f.order("C1", "k1")
	f.pay(o.OrderNo) // paid at the channel; Banshi never heard
	if err := f.svc.RefundChannelOnly(f.ctx, payments.ProviderWeChatPay, o.OrderNo, "", 5100, "渠道多收"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RefundChannelOnly(f.ctx, payments.ProviderWeChatPay, o.OrderNo, "", 5100, "渠道多收"); err != nil {
		t.Fatal(err)
	}
	n, err := f.db.Collection(payments.CollRefunds).CountDocuments(f.ctx, bson.M{"order_no": o.OrderNo})
	if err != nil || n != 1 {
		t.Fatalf("refunds of %s: %d", o.OrderNo, n)
	}
	f.sweep() // the orphan refund is followed without an order
	var r struct {
		State string `bson:"state"`
	}
	if err := f.db.Collection(payments.CollRefunds).FindOne(f.ctx, bson.M{"order_no": o.OrderNo}).Decode(&r); err != nil || r.State != payments.RefundSucceeded {
		t.Fatalf("refund %+v %v", r, err)
	}

	// An unknown trade the channel cannot refund: reported.
	err = f.svc.RefundChannelOnly(f.ctx, payments.ProviderWeChatPay, "SIM000000000001", "4200000000001", 100, "x")
	if !errors.Is(err, payments.ErrPayChannelRefused) {
		t.Fatalf("refused refund: %v", err)
	}
	// An order Banshi counts as paid.
	f.mu.Lock()
	f.refuseCallbacks = false
	f.mu.Unlock()
	f.bill("C2", 5200)
	o2 := f.order("C2", "k2")
	f.pay(o2.OrderNo)
	f.waitPaid(o2.OrderNo)
	if err := f.svc.RefundChannelOnly(f.ctx, payments.ProviderWeChatPay, o2.OrderNo, "", 5200, "x"); !errors.Is(err, payments.ErrNotRefundable) {
		t.Fatalf("channel-only refund of a paid order: %v", err)
	}
	if v := f.status(o2.OrderNo); len(v.Refunds) != 0 {
		t.Fatalf("refunds %+v", v.Refunds)
	}
}
