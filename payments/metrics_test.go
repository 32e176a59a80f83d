package payments_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"banshi/payments"
)

// value is the value of the series name{labels} in reg (0 when absent).
func value(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

var wx = map[string]string{"channel": payments.ProviderWeChatPay}

// TestMetricsPaidOnce: the channel's callback pays the order; the same
// callback replayed (in turn, and thirty at once) and the sweeper's query
// find it paid: one order and its amount are counted, once.
func TestMetricsPaidOnce(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("MP1", 12345)
	n := payments.Notification{Kind: payments.NotifyPayment, Trade: payments.Trade{OrderNo: o.OrderNo, ChannelTradeNo: f.status(o.OrderNo).ChannelTradeNo,
		State: payments.TradePaid, AmountFen: 12345, PaidFen: 12345, MerchantID: fxMchID, AppID: fxMiniApp, PaidAt: f.clock.Now()}}
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, n); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.ApplyTrade(f.ctx, payments.ProviderWeChatPay, n.Trade, "callback"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.sweep()
	if got := value(t, f.reg, "banshi_payment_orders_paid_total", wx); got != 1 {
		t.Fatalf("orders paid %v, want 1", got)
	}
	if got := value(t, f.reg, "banshi_payment_paid_fen_total", wx); got != 12345 {
		t.Fatalf("paid fen %v, want 12345", got)
	}
}

// TestMetricsPaidOnceConcurrent: the callback is lost and fifty copies of
// the trade race to record it: the one compare-and-swap that wins counts.
func TestMetricsPaidOnceConcurrent(t *testing.T) {
	f := newFixture(t)
	f.bill("MP2", 500)
	o := f.order("MP2", "k1")
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	f.pay(o.OrderNo)
	tr := payments.Trade{OrderNo: o.OrderNo, ChannelTradeNo: "4200000777", State: payments.TradePaid, AmountFen: 500, PaidFen: 500,
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
	if got := value(t, f.reg, "banshi_payment_orders_paid_total", wx); got != 1 {
		t.Fatalf("orders paid %v, want 1", got)
	}
	if got := value(t, f.reg, "banshi_payment_paid_fen_total", wx); got != 500 {
		t.Fatalf("paid fen %v, want 500", got)
	}
}

// TestMetricsCallbackRefused: a callback without a valid signature is
// refused, counted under not_verified, and changes nothing; nothing is
// counted as paid.
func TestMetricsCallbackRefused(t *testing.T) {
	f := newFixture(t)
	f.bill("MP3", 700)
	o := f.order("MP3", "k1")
	body := `{"id":"EV-1","event_type":"TRANSACTION.SUCCESS","resource":{"ciphertext":"x"}}`
	h := http.Header{"Wechatpay-Signature": {"bm90IGEgc2lnbmF0dXJl"}, "Wechatpay-Serial": {fxPubKeyID},
		"Wechatpay-Timestamp": {"1700000000"}, "Wechatpay-Nonce": {"n"}}
	for range 2 {
		if _, outcome, _ := f.svc.Callback(f.ctx, payments.ProviderWeChatPay, h, []byte(body)); outcome != payments.CallbackRefuse {
			t.Fatalf("outcome %v, want refuse", outcome)
		}
	}
	if got := value(t, f.reg, "banshi_payment_callbacks_refused_total", map[string]string{"channel": payments.ProviderWeChatPay, "code": "not_verified"}); got != 2 {
		t.Fatalf("refused %v, want 2", got)
	}
	if v := f.status(o.OrderNo); v.Status != payments.OrderPaying || len(v.Transitions) != 1 {
		t.Fatalf("a refused callback changed the order: %+v", v)
	}
	if got := value(t, f.reg, "banshi_payment_orders_paid_total", wx); got != 0 {
		t.Fatalf("orders paid %v, want 0", got)
	}
}

// TestMetricsRefundOnce: finance refunds part of an order; its success is
// reported twenty times at once and the sweeper asks again: one refund of
// 3000 fen, reason finance (never the clerk's free text), is counted.
func TestMetricsRefundOnce(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("MR1", 9000)
	f.mu.Lock()
	f.refuseCallbacks = true
	f.mu.Unlock()
	exp := int64(9000)
	r, err := f.svc.Refund(f.ctx, "finance1", o.OrderNo, payments.RefundRequestBody{AmountFen: 3000, Reason: "多缴", ExpectedRefundableFen: &exp})
	if err != nil {
		t.Fatal(err)
	}
	n := payments.Notification{Kind: payments.NotifyRefund, Refund: payments.Refund{OrderNo: o.OrderNo, RefundNo: r.RefundNo,
		State: payments.RefundSucceeded, AmountFen: 3000}}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, n); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.sweep()
	labels := map[string]string{"channel": payments.ProviderWeChatPay, "reason": payments.RefundByFinance, "outcome": payments.RefundSucceeded}
	if got := value(t, f.reg, "banshi_payment_refunds_total", labels); got != 1 {
		t.Fatalf("refunds %v, want 1", got)
	}
	if got := value(t, f.reg, "banshi_payment_refunded_fen_total", map[string]string{"channel": payments.ProviderWeChatPay, "reason": payments.RefundByFinance}); got != 3000 {
		t.Fatalf("refunded fen %v, want 3000", got)
	}
	mfs, _ := f.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "多缴") || strings.Contains(l.GetValue(), o.OrderNo) {
					t.Fatalf("%s has label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}
