package payments_test

import (
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/payments"
)

// TestStats: a payment made and partly refunded through the service, and
// orders and refunds of other days and channels, are counted per Shanghai
// day and channel with exact fen; unpaid orders and refunds that did not
// succeed are not; an empty range is refused and changes nothing.
func TestStats(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("ST1", 9000)
	f.mu.Lock()
	f.refuseCallbacks = true // the refund's outcome is reported below, once
	f.mu.Unlock()
	exp := int64(9000)
	r, err := f.svc.Refund(f.ctx, "finance1", o.OrderNo, payments.RefundRequestBody{AmountFen: 3000, Reason: "多缴", ExpectedRefundableFen: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, payments.Notification{Kind: payments.NotifyRefund,
		Refund: payments.Refund{OrderNo: o.OrderNo, RefundNo: r.RefundNo, State: payments.RefundSucceeded, AmountFen: 3000}}); err != nil {
		t.Fatal(err)
	}
	paidDay := platform.DayOf(*f.status(o.OrderNo).PaidAt)
	today := platform.DayOf(f.clock.Now())
	if paidDay != today {
		t.Skipf("paid %s, not today %s (midnight passed during the test)", paidDay, today)
	}
	day := func(n int) string { return platform.DayOf(f.clock.Now().AddDate(0, 0, n)) }
	now := f.clock.Now().UTC()
	for _, d := range []bson.M{
		{"_id": "S-A1", "provider": payments.ProviderAlipay, "state": payments.OrderHandled, "paid_date": day(-1), "paid_fen": int64(12345)},
		{"_id": "S-A2", "provider": payments.ProviderAlipay, "state": payments.OrderRefunded, "paid_date": day(-1), "paid_fen": int64(55)},
		{"_id": "S-W1", "provider": payments.ProviderWeChatPay, "state": payments.OrderPaid, "paid_date": day(-2), "paid_fen": int64(100)},
		{"_id": "S-W2", "provider": payments.ProviderWeChatPay, "state": payments.OrderPaying}, // never paid
		{"_id": "S-W3", "provider": payments.ProviderWeChatPay, "state": payments.OrderPaid, "paid_date": day(-9), "paid_fen": int64(7)},
	} {
		d["created_at"] = now
		if _, err := f.db.Collection(payments.CollOrders).InsertOne(f.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []bson.M{
		{"_id": "S-A2R1", "order_no": "S-A2", "provider": payments.ProviderAlipay, "state": payments.RefundSucceeded, "settled_date": day(-1), "amount_fen": int64(55)},
		{"_id": "S-W1R1", "order_no": "S-W1", "provider": payments.ProviderWeChatPay, "state": payments.RefundFailed, "settled_date": day(-2), "amount_fen": int64(100)},
		{"_id": "S-W1R2", "order_no": "S-W1", "provider": payments.ProviderWeChatPay, "state": payments.RefundProcessing, "amount_fen": int64(100)},
	} {
		d["created_at"] = now
		if _, err := f.db.Collection(payments.CollRefunds).InsertOne(f.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	row := func(d, ch string, paid int, paidFen int64, refunded int, refundedFen int64) payments.PayDayStats {
		return payments.PayDayStats{Date: d, Channel: ch, Paid: paid, PaidFen: paidFen, Refunded: refunded, RefundedFen: refundedFen}
	}
	ali, wx := payments.ProviderAlipay, payments.ProviderWeChatPay
	for _, tc := range []struct {
		name     string
		from, to int
		want     []payments.PayDayStats
	}{
		{"three days", -2, 0, []payments.PayDayStats{
			row(day(-2), ali, 0, 0, 0, 0), row(day(-2), wx, 1, 100, 0, 0),
			row(day(-1), ali, 2, 12400, 1, 55), row(day(-1), wx, 0, 0, 0, 0),
			row(day(0), ali, 0, 0, 0, 0), row(day(0), wx, 1, 9000, 1, 3000),
		}},
		{"today", 0, 0, []payments.PayDayStats{row(day(0), wx, 1, 9000, 1, 3000)}},
		{"quiet days", -6, -5, []payments.PayDayStats{row(day(-6), wx, 0, 0, 0, 0), row(day(-5), wx, 0, 0, 0, 0)}},
	} {
		rg, err := platform.ParseDayRange(day(tc.from), day(tc.to), platform.MaxStatsDays)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Stats(f.ctx, rg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}

	before := f.status(o.OrderNo)
	_, err = f.svc.Stats(f.ctx, platform.DayRange{})
	if e, ok := platform.AsError(err); !ok || e.Code != platform.CodeInvalid || e.Field != "from" {
		t.Fatalf("an empty range: %v", err)
	}
	n1, _ := f.db.Collection(payments.CollOrders).CountDocuments(f.ctx, bson.M{})
	n2, _ := f.db.Collection(payments.CollRefunds).CountDocuments(f.ctx, bson.M{})
	if after := f.status(o.OrderNo); n1 != 6 || n2 != 4 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused statistics query changed something: %d orders, %d refunds", n1, n2)
	}
}
