package payments_test

import (
	"errors"
	"testing"

	"banshi/payments"
)

// Duplicates of a recorded payment are answered from Redis; one that does
// not match (amount, merchant) still goes to the order and is refused; with
// the key gone, duplicates are answered from MongoDB and change nothing.
func TestDuplicateAnsweredFromRedis(t *testing.T) {
	f := newFixture(t)
	f.bill("D1", 2300)
	o := f.order("D1", "k1")
	key := f.prefix + "pay:paid:" + o.OrderNo
	if n, _ := f.rdb.Exists(f.ctx, key).Result(); n != 0 {
		t.Fatal("remembered as paid before it was")
	}
	f.pay(o.OrderNo)
	f.waitPaid(o.OrderNo)
	if v, err := f.rdb.Get(f.ctx, key).Result(); err != nil || v != "wechatpay|2300" {
		t.Fatalf("paid key %q %v", v, err)
	}
	ok := payments.Notification{Kind: payments.NotifyPayment, Trade: payments.Trade{OrderNo: o.OrderNo, State: payments.TradePaid,
		AmountFen: 2300, PaidFen: 2300, MerchantID: fxMchID, AppID: fxMiniApp, ChannelTradeNo: "42000001"}}
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, ok); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.Trade.AmountFen, bad.Trade.PaidFen = 2299, 2299
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, bad); !errors.Is(err, payments.ErrMismatch) {
		t.Fatalf("mismatched duplicate: %v", err)
	}
	other := ok
	other.Trade.MerchantID = "1900000999"
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, other); !errors.Is(err, payments.ErrMismatch) {
		t.Fatalf("another merchant's duplicate: %v", err)
	}
	if err := f.rdb.Del(f.ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, ok); err != nil {
		t.Fatal(err)
	}
	if v := f.status(o.OrderNo); countTo(v, payments.OrderPaid) != 1 {
		t.Fatalf("transitions %+v", v.Transitions)
	}
	if c, d := f.note.counts(); c != 1 || d != 1 {
		t.Fatalf("messages %d, events %d", c, d)
	}
}
