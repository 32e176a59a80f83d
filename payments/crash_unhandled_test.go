package payments_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform/platformtest"
	"banshi/notify"
	"banshi/payments"
)

// dyingRefunds is a channel whose process dies right after the channel
// accepted a refund: the refund is made, then the sweep's context ends (a
// SIGKILL, or the sweeper's lease lost), so nothing after it is written.
type dyingRefunds struct {
	payments.Provider
	die context.CancelFunc
}

func (p dyingRefunds) Refund(ctx context.Context, r payments.RefundRequest) (payments.Refund, error) {
	got, err := p.Provider.Refund(ctx, r)
	p.die()
	return got, err
}

// TestCrashInUnhandledRefund: a payment the department refused is refunded
// in full and its bill owed again. When the sweep doing it dies just after
// the channel accepted the refund, the next sweeps still free the bill and
// refund nothing more. (Before, the bill was freed only after the refund:
// a death in between left the order refunded and the bill paid by it for
// ever — the citizen owed a bill Banshi showed as paid — because the
// sweeper looks at paid and handle_failed orders only.)
func TestCrashInUnhandledRefund(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("K3", 8800)
	f.note.set(deptID(o.OrderNo), notify.StateDead, "refused")

	// The same service, but its channel dies after refunding.
	bills, err := payments.NewBills(payments.BillsDeps{DB: f.db, Clock: f.clock, Index: fakeIndex{}, Owners: f.people, Notifier: f.note})
	if err != nil {
		t.Fatal(err)
	}
	ctx, die := context.WithCancel(f.ctx)
	defer die()
	dying, err := payments.NewService(payments.Deps{
		DB: f.db, Clock: f.clock, Log: platformtest.Logger(), Bills: bills, Index: fakeIndex{}, Owners: f.people,
		Payers: f.people, Notifier: f.note, Providers: []payments.Provider{dyingRefunds{f.svc.Provider(payments.ProviderWeChatPay), die}},
		Merchants: map[string]payments.Merchant{payments.ProviderWeChatPay: {ID: fxMchID, AppIDs: []string{fxMiniApp, fxAppApp}}},
		Redis:     f.rdb, RedisPrefix: f.prefix, Members: f.members,
	}, payments.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dying.SweepOnce(ctx); err == nil {
		t.Fatal("the dying sweep reported no error")
	}
	if ctx.Err() == nil {
		t.Fatal("the refund was never asked of the channel")
	}

	for range 3 {
		f.sweep()
	}
	v := f.waitStatus(o.OrderNo, payments.OrderRefunded)
	if v.RefundedFen != 8800 || len(v.Refunds) != 1 || v.Refunds[0].State != payments.RefundSucceeded {
		t.Fatalf("order after the sweeps: refunded %d, refunds %+v", v.RefundedFen, v.Refunds)
	}
	if n, err := f.db.Collection(payments.CollRefunds).CountDocuments(f.ctx, bson.M{"order_no": o.OrderNo}); err != nil || n != 1 {
		t.Fatalf("%d refunds stored (%v)", n, err)
	}
	if st, _, paid := f.billState("K3"); st != payments.BillUnpaid || paid != "" {
		t.Fatalf("bill %s paid by %q after its payment was refunded; want it owed again", st, paid)
	}
}
