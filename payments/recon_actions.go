package payments

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

var _ ReconActions = (*Service)(nil)

// ErrChannelNotPaid: finance asked Banshi to take the channel's word for an
// order Banshi counts as paid while the channel says it was not paid: that
// would take back a payment the department was told of. It is left for a
// person to explain.
var ErrChannelNotPaid = platform.NewError("channel_not_paid", "渠道显示该订单未收款，而办事通已记为已缴：请核实后以说明方式处理")

// TakeChannel makes the order agree with what the channel says of it now:
// a payment the channel has is applied as a callback would (refunded in
// full when Banshi had closed the order or the bill is paid by another);
// an order the channel closed is closed; refunds not settled are settled as
// the channel says. Idempotent. Errors: ErrOrderNotFound, ErrChannelNotPaid,
// ErrPayChannelUnavailable, storage errors.
func (s *Service) TakeChannel(ctx context.Context, provider, orderNo string) error {
	d, err := s.loadOrder(ctx, orderNo)
	if err != nil {
		return err
	}
	p := s.providers[provider]
	if p == nil || d.Provider != provider {
		return ErrOrderNotFound
	}
	t, err := p.Query(ctx, orderNo)
	if err != nil {
		return ErrPayChannelUnavailable.Wrap(err)
	}
	switch t.State {
	case TradePaid, TradeRefunded:
		if _, err := s.ApplyTrade(ctx, provider, t, "reconciliation"); err != nil {
			return err
		}
	default:
		if d.State == OrderPaying {
			if _, err := s.check(ctx, d, "reconciliation"); err != nil {
				return ErrPayChannelUnavailable.Wrap(err)
			}
		} else if d.PaidFen > 0 {
			return ErrChannelNotPaid
		}
	}
	cur, err := s.refunds.Find(ctx, bson.M{"order_no": orderNo})
	if err != nil {
		return fmt.Errorf("read refunds: %w", err)
	}
	var refunds []refundDoc
	if err := cur.All(ctx, &refunds); err != nil {
		return fmt.Errorf("read refunds: %w", err)
	}
	for _, r := range refunds {
		if r.State != RefundProcessing && r.State != RefundRequested {
			continue
		}
		got, err := p.QueryRefund(ctx, orderNo, r.ID)
		if err != nil {
			return ErrPayChannelUnavailable.Wrap(err)
		}
		if _, err := s.settleRefund(ctx, r, got); err != nil {
			return err
		}
	}
	return nil
}

// RefundChannelOnly gives back money only the channel counts as received
// (长款): a payment of an order Banshi never stored, or of one it does not
// count as paid. The refund is recorded (refund number "<order>C", so asking
// again refunds nothing more) and followed by the sweeper. An order Banshi
// counts as paid is refused (ErrNotRefundable: finance refunds it through
// the order).
func (s *Service) RefundChannelOnly(ctx context.Context, provider, orderNo, channelTradeNo string, amountFen int64, reason string) error {
	p := s.providers[provider]
	if p == nil {
		return ErrOrderNotFound
	}
	if amountFen <= 0 {
		return platform.Invalid("amount_fen", "range", "退款金额应为正整数（分）")
	}
	if d, err := s.loadOrder(ctx, orderNo); err == nil && d.PaidFen > 0 {
		return ErrNotRefundable
	} else if err != nil && !errors.Is(err, ErrOrderNotFound) {
		return err
	}
	r := refundDoc{ID: orderNo + "C", OrderNo: orderNo, Provider: provider, AmountFen: amountFen, Reason: reason,
		By: "reconciliation", State: RefundRequested, CreatedAt: s.now()}
	if _, err := s.refunds.InsertOne(ctx, r); err != nil && !platform.IsDuplicateKey(err) {
		return fmt.Errorf("store refund: %w", err)
	}
	if err := s.refunds.FindOne(ctx, bson.M{"_id": r.ID}).Decode(&r); err != nil {
		return fmt.Errorf("read refund: %w", err)
	}
	switch r.State {
	case RefundFailed:
		// Refused before: ask again with the same number.
		if _, err := s.refunds.UpdateOne(ctx, bson.M{"_id": r.ID, "state": RefundFailed},
			bson.M{"$set": bson.M{"state": RefundRequested}, "$unset": bson.M{"settled_at": "", "settled_date": ""}}); err != nil {
			return fmt.Errorf("store refund: %w", err)
		}
		r.State = RefundRequested
	case RefundRequested:
	default:
		return nil // asked for already; the sweeper follows it
	}
	return s.askOrphanRefund(ctx, p, r, channelTradeNo)
}

// askOrphanRefund asks the channel for a refund of money with no order in
// Banshi, and records its state (no order to move).
func (s *Service) askOrphanRefund(ctx context.Context, p Provider, r refundDoc, channelTradeNo string) error {
	got, err := p.Refund(ctx, RefundRequest{OrderNo: r.OrderNo, RefundNo: r.ID, AmountFen: r.AmountFen, TotalFen: r.AmountFen,
		Reason: r.Reason, NotifyURL: s.notifyURL[r.Provider], ChannelTradeNo: channelTradeNo})
	if err != nil {
		var ce *ChannelError
		if !errors.As(err, &ce) {
			return ErrPayChannelUnavailable.Wrap(err)
		}
		// The channel refused: the money did not go back, and finance
		// must hear it (the resolution is withdrawn).
		if _, serr := s.settleRefund(ctx, r, Refund{State: RefundFailed}); serr != nil {
			return serr
		}
		return ErrPayChannelRefused.Wrap(err)
	}
	_, err = s.settleRefund(ctx, r, got)
	return err
}

// isOrphan reports a refund of money Banshi has no order for.
func (r refundDoc) isOrphan() bool { return r.By == "reconciliation" }
