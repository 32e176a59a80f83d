package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/notify"
)

// ErrMismatch: a verified callback or query that does not match Banshi's
// order (another merchant or app, another amount, another channel). It is
// refused and changes nothing.
var ErrMismatch = errors.New("payments: the channel's trade does not match the order")

// ErrUnknownOrder: the channel reports a payment for an order Banshi never
// stored. Nothing is changed here; reconciliation lists the money as
// channel_only (长款) for finance to refund.
var ErrUnknownOrder = errors.New("payments: payment for an unknown order")

// Message kinds citizens are told about.
const (
	KindPaid     = "payment_paid"
	KindHandled  = "payment_handled"
	KindRefunded = "payment_refunded"
)

// MessageKinds lists the kinds of citizens' messages this package sends.
func MessageKinds() []notify.KindInfo {
	return []notify.KindInfo{
		{Kind: KindPaid, Name: "缴费成功"},
		{Kind: KindHandled, Name: "缴费已办理"},
		{Kind: KindRefunded, Name: "退款到账"},
	}
}

// FinishGrace is how long the delivery that recorded a payment has to store
// its effects before a duplicate callback or the sweeper finishes them
// instead.
const FinishGrace = 30 * time.Second

// EventPaymentSucceeded is the department event of a paid bill.
const EventPaymentSucceeded = "payment.succeeded"

// HandleNotification applies a callback the provider verified and parsed
// (Provider.ParseNotification): a payment success or a refund's outcome.
// Duplicates and replays change nothing. When it returns nil the callback
// may be acknowledged: everything it implies is stored (the department's
// event and the citizen's message in the outbox).
//
// Errors: ErrMismatch (refuse it), ErrUnknownOrder (acknowledge: nothing to
// do here, reconciliation shows it), storage errors (answer 5xx: the channel
// retries).
func (s *Service) HandleNotification(ctx context.Context, provider string, n Notification) error {
	switch n.Kind {
	case NotifyPayment:
		if s.knownPaid(ctx, provider, n.Trade) {
			return nil // a duplicate of a payment recorded before
		}
		// Concurrent deliveries of the same callback (a channel's burst of
		// retries) share one application of it; each is verified already.
		t := n.Trade
		key := fmt.Sprintf("%s|%s|%s|%s|%d|%d|%s|%s", provider, t.OrderNo, t.ChannelTradeNo, t.State, t.AmountFen, t.PaidFen, t.MerchantID, t.AppID)
		_, err, _ := s.flight.Do(key, func() (any, error) {
			_, err := s.ApplyTrade(context.WithoutCancel(ctx), provider, t, "callback")
			return nil, err
		})
		return err
	case NotifyRefund:
		return s.applyRefund(ctx, provider, n.Refund)
	}
	return fmt.Errorf("%w: notification kind %q", ErrMalformed, n.Kind)
}

// ApplyTrade applies what the channel says of an order (a callback, a
// query, a close that found it paid). A paid trade moves a paying or closed
// order to paid, once; its effects follow (finishPaid). Other states change
// nothing here. It returns the order as it then is.
func (s *Service) ApplyTrade(ctx context.Context, provider string, t Trade, cause string) (orderDoc, error) {
	d, err := s.loadOrder(ctx, t.OrderNo)
	if errors.Is(err, ErrOrderNotFound) {
		s.log.WarnContext(ctx, "channel reports an order Banshi does not have", "provider", provider,
			"order_no", t.OrderNo, "channel_trade_no", t.ChannelTradeNo, "state", t.State)
		return orderDoc{}, ErrUnknownOrder
	}
	if err != nil {
		return orderDoc{}, err
	}
	if err := s.matches(provider, d, t); err != nil {
		s.log.WarnContext(ctx, "channel trade does not match the order; refused", "provider", provider,
			"order_no", d.ID, "why", err.Error())
		return d, err
	}
	if t.State != TradePaid && t.State != TradeRefunded {
		return d, nil
	}
	paidAt := t.PaidAt
	if paidAt.IsZero() {
		paidAt = s.now()
	}
	paidAt = paidAt.UTC().Truncate(time.Millisecond)
	paid := t.PaidFen
	if paid <= 0 {
		paid = t.AmountFen
	}
	for {
		if d.State != OrderPaying && d.State != OrderClosed {
			// A duplicate or a replay: the payment is recorded. Its effects
			// are the business of the delivery that recorded it; only when
			// that one seems to have died (FinishGrace) does a later one
			// finish them — a thousand concurrent duplicates must not each
			// redo the work of the first.
			if !d.Published && s.now().Sub(d.UpdatedAt) >= FinishGrace {
				return s.finishPaid(ctx, d)
			}
			return d, nil
		}
		c := cause
		if d.State == OrderClosed {
			c = cause + "_after_close"
		}
		nd, err := s.casOrder(ctx, d, bson.M{
			"state": OrderPaid, "channel_trade_no": t.ChannelTradeNo, "paid_fen": paid, "paid_at": paidAt,
			"paid_date": paidAt.In(platform.Shanghai()).Format(time.DateOnly), "handle_by": s.now().Add(s.cfg.HandleDeadline),
			"published": false,
		}, c)
		if errors.Is(err, errOrderChanged) {
			if d, err = s.loadOrder(ctx, d.ID); err != nil {
				return orderDoc{}, err
			}
			continue
		}
		if err != nil {
			return orderDoc{}, err
		}
		s.log.InfoContext(ctx, "order paid", "order_no", nd.ID, "bill_no", nd.BillNo, "cause", c)
		s.metrics.orderPaid(provider, paid)
		s.rememberPaid(ctx, nd)
		return s.finishPaid(ctx, nd)
	}
}

// matches checks a channel trade against the order: the same channel, the
// configured merchant and app, and the order's amount.
func (s *Service) matches(provider string, d orderDoc, t Trade) error {
	if d.Provider != provider {
		return fmt.Errorf("%w: order of %s reported by %s", ErrMismatch, d.Provider, provider)
	}
	if err := s.matchesMerchant(provider, t); err != nil {
		return err
	}
	if t.AmountFen != d.AmountFen {
		return fmt.Errorf("%w: amount %d fen, order %d fen", ErrMismatch, t.AmountFen, d.AmountFen)
	}
	if t.PaidFen != 0 && t.PaidFen != d.AmountFen {
		return fmt.Errorf("%w: paid %d fen, order %d fen", ErrMismatch, t.PaidFen, d.AmountFen)
	}
	return nil
}

// matchesMerchant checks that a trade names Banshi's merchant and one of
// its apps at provider.
func (s *Service) matchesMerchant(provider string, t Trade) error {
	if m, ok := s.merchants[provider]; ok {
		if m.ID != "" && t.MerchantID != "" && t.MerchantID != m.ID {
			return fmt.Errorf("%w: merchant %q", ErrMismatch, t.MerchantID)
		}
		if len(m.AppIDs) > 0 && t.AppID != "" && !slices.Contains(m.AppIDs, t.AppID) {
			return fmt.Errorf("%w: app %q", ErrMismatch, t.AppID)
		}
	}
	return nil
}

// paidAfterClose reports whether the order was paid after Banshi closed it.
func (d orderDoc) paidAfterClose() bool {
	for _, t := range d.Transitions {
		if t.From == OrderClosed && t.To == OrderPaid {
			return true
		}
	}
	return false
}

// finishPaid stores the effects of a payment, each idempotent, and then
// marks the order published: the bill marked paid by it, the department's
// payment.succeeded event and the citizen's message — or, for money Banshi
// cannot keep (an order it had closed, a bill another order paid), a full
// refund. A crash between the steps is finished by the sweeper.
func (s *Service) finishPaid(ctx context.Context, d orderDoc) (orderDoc, error) {
	refundWhy := ""
	if d.paidAfterClose() {
		refundWhy = "paid_after_close"
	} else {
		_, _, err := s.bills.markPaid(ctx, d.BillNo, d.ID, d.PaidFen, d.PaidAt)
		switch {
		case errors.Is(err, ErrBillPaidByOther):
			refundWhy = "bill_paid_by_other_order"
		case errors.Is(err, ErrBillNotFound):
			refundWhy = "bill_missing"
		case err != nil:
			return d, err
		}
	}
	if refundWhy != "" {
		// Money Banshi cannot keep: not handled, refunded in full.
		if err := s.failHandling(ctx, d, refundWhy); err != nil {
			return d, err
		}
	} else {
		if err := s.publishPaid(ctx, d); err != nil {
			return d, err
		}
	}
	if _, err := s.orders.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"published": true}}); err != nil {
		return d, fmt.Errorf("mark order published: %w", err)
	}
	return s.loadOrder(ctx, d.ID)
}

// departmentEvent is the body of the payment.succeeded event.
type departmentEvent struct {
	EventID        string    `json:"event_id"`
	Type           string    `json:"type"`
	BillNo         string    `json:"bill_no"`
	OrderNo        string    `json:"order_no"`
	AmountFen      int64     `json:"amount_fen"`
	PaidAt         time.Time `json:"paid_at"`
	Channel        string    `json:"channel"`
	ChannelTradeNo string    `json:"channel_trade_no"`
}

// deptMessageID is the outbox message of an order's department event.
func deptMessageID(orderNo string) string { return EventPaymentSucceeded + ":" + orderNo }

// publishPaid stores the department's event and the citizen's message.
func (s *Service) publishPaid(ctx context.Context, d orderDoc) error {
	body, err := json.Marshal(departmentEvent{
		EventID: deptMessageID(d.ID), Type: EventPaymentSucceeded, BillNo: d.BillNo, OrderNo: d.ID,
		AmountFen: d.PaidFen, PaidAt: platform.Local(d.PaidAt), Channel: d.Method, ChannelTradeNo: d.ChannelTradeNo,
	})
	if err != nil {
		return err
	}
	if err := s.notify.PublishTo(ctx, integrations.ChannelDepartment, []notify.Message{{
		ID: deptMessageID(d.ID), UserID: d.Source, Kind: EventPaymentSucceeded, Title: EventPaymentSucceeded, Body: string(body),
	}}); err != nil {
		return fmt.Errorf("publish department event: %w", err)
	}
	return s.tell(ctx, d, KindPaid, d.ID, "缴费成功",
		fmt.Sprintf("您已成功缴纳 %s 元（缴费单 %s），正在等待开单部门确认办理。", Yuan(d.PaidFen), d.BillNo))
}

// tell publishes a citizen's message about the order, once per kind and
// key (the order, or one of its refunds).
func (s *Service) tell(ctx context.Context, d orderDoc, kind, key, title, body string) error {
	return s.notify.Notify(ctx, notify.Message{
		ID: kind + ":" + key, UserID: d.UserID, Kind: kind, Title: title, Body: body,
		Data: map[string]string{"order_no": d.ID, "bill_no": d.BillNo},
	})
}

// CallbackOutcome is how a callback must be answered.
type CallbackOutcome int

// Callback outcomes.
const (
	CallbackAck        CallbackOutcome = iota // recorded (or nothing to record): acknowledge
	CallbackRefuse                            // not verified: 401, nothing recorded
	CallbackReject                            // verified but malformed or not matching the order: 400, nothing recorded
	CallbackRetry                             // could not be recorded now: 500, the channel sends it again
	CallbackNoProvider                        // the channel is not configured here: 404
)

// Callback verifies (before parsing anything), parses and applies one
// callback of provider, body being the exact bytes received. It returns how
// to answer and, for the log, why (never a key or a signature).
func (s *Service) Callback(ctx context.Context, provider string, h http.Header, body []byte) (Provider, CallbackOutcome, error) {
	p := s.providers[provider]
	if p == nil {
		return nil, CallbackNoProvider, fmt.Errorf("payments: channel %s not configured", provider)
	}
	n, err := p.ParseNotification(ctx, h, body)
	switch {
	case errors.Is(err, ErrNotVerified):
		s.log.WarnContext(ctx, "payment callback not verified; refused", "provider", provider, "why", err.Error())
		s.metrics.callbackRefused(provider, CallbackRefuse, err)
		return p, CallbackRefuse, err
	case err != nil:
		s.log.WarnContext(ctx, "payment callback malformed; refused", "provider", provider, "why", err.Error())
		s.metrics.callbackRefused(provider, CallbackReject, err)
		return p, CallbackReject, err
	}
	err = s.HandleNotification(ctx, provider, n)
	switch {
	case err == nil, errors.Is(err, ErrUnknownOrder):
		return p, CallbackAck, err
	case errors.Is(err, ErrMismatch), errors.Is(err, ErrMalformed):
		s.metrics.callbackRefused(provider, CallbackReject, err)
		return p, CallbackReject, err // logged by ApplyTrade
	}
	s.log.ErrorContext(ctx, "payment callback not recorded; the channel will send it again", "provider", provider, "err", err)
	return p, CallbackRetry, err
}
