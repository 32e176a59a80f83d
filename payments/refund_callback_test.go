package payments_test

import (
	"strings"
	"sync"
	"testing"

	"banshi/payments"
)

// A refund's success reported many times at once (callbacks, replays, the
// sweeper's query) moves the money once and leaves the citizen one message; a
// report that does not match the refund changes nothing.
func TestRefundOutcomeAppliedOnce(t *testing.T) {
	f := newFixture(t)
	o := f.paidOrder("RC1", 9000)
	f.mu.Lock()
	f.refuseCallbacks = true // the channel's own refund callback is lost
	f.mu.Unlock()
	exp := int64(9000)
	r, err := f.svc.Refund(f.ctx, "finance1", o.OrderNo, payments.RefundRequestBody{AmountFen: 3000, Reason: "多缴", ExpectedRefundableFen: &exp})
	if err != nil {
		t.Fatal(err)
	}
	bad := payments.Notification{Kind: payments.NotifyRefund, Refund: payments.Refund{OrderNo: o.OrderNo, RefundNo: r.RefundNo,
		State: payments.RefundSucceeded, AmountFen: 2999}}
	if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, bad); err == nil {
		t.Fatal("a refund report of another amount was accepted")
	}
	ok := bad
	ok.Refund.AmountFen = 3000
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.svc.HandleNotification(f.ctx, payments.ProviderWeChatPay, ok); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.sweep()
	v := f.status(o.OrderNo)
	if v.Status != payments.OrderPartiallyRefunded || v.RefundedFen != 3000 || v.RefundingFen != 0 || v.RefundableFen != 6000 {
		t.Fatalf("order %+v", v)
	}
	// Publishing is idempotent by the message id (the refund number): a
	// replay that finds the refund settled publishes again, so that a stop
	// between the order's write and the message cannot lose it; the citizen
	// still has one message.
	f.note.mu.Lock()
	n, msgs := f.note.sends["payment_refunded:"+r.RefundNo], 0
	for id := range f.note.messages {
		if strings.HasPrefix(id, "payment_refunded:") {
			msgs++
		}
	}
	f.note.mu.Unlock()
	if n < 1 || msgs != 1 {
		t.Fatalf("the refund was published %d times as %d messages, want one message", n, msgs)
	}
}
