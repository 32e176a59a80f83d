package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// RefundRequestBody is finance's refund: AmountFen of the order, for
// Reason, if ExpectedRefundableFen is still what may be refunded (an
// optimistic lock: two clerks cannot refund the same money twice).
type RefundRequestBody struct {
	AmountFen             int64  `json:"amount_fen"`
	Reason                string `json:"reason"`
	ExpectedRefundableFen *int64 `json:"expected_refundable_fen"`
}

// RefundView is a refund as finance sees it.
type RefundView struct {
	RefundNo      string     `json:"refund_no"`
	OrderNo       string     `json:"order_no"`
	AmountFen     int64      `json:"amount_fen"`
	Reason        string     `json:"reason"`
	By            string     `json:"by"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	SettledAt     *time.Time `json:"settled_at,omitempty"`
	RefundableFen int64      `json:"refundable_fen"` // of the order, after this refund was asked for
	OrderStatus   string     `json:"order_status"`
}

// refundable is what may still be refunded of the order.
func (d orderDoc) refundable() int64 { return d.PaidFen - d.RefundedFen - d.RefundingFen }

// mayRefund: states whose money Banshi holds.
func mayRefund(state string) bool {
	switch state {
	case OrderPaid, OrderHandled, OrderHandleFailed, OrderRefunding, OrderPartiallyRefunded:
		return true
	}
	return false
}

// Refund is finance's refund of part or all of a paid order, by actor.
//
// Errors: platform.Invalid (amount ≤ 0, reason empty or over 200
// characters, expected_refundable_fen missing), ErrOrderNotFound,
// ErrNotRefundable (not paid, or closed), ErrRefundableChanged (the expected
// amount is stale: nothing refunded), ErrRefundTooLarge,
// ErrPayChannelUnavailable (the refund is stored and asked again by the
// sweeper), storage errors.
func (s *Service) Refund(ctx context.Context, actor, orderNo string, r RefundRequestBody) (RefundView, error) {
	reason := strings.TrimSpace(r.Reason)
	switch {
	case r.AmountFen <= 0:
		return RefundView{}, platform.Invalid("amount_fen", "range", "退款金额应为正整数（分）")
	case reason == "" || utf8.RuneCountInString(reason) > 200:
		return RefundView{}, platform.Invalid("reason", "length", "请填写 1～200 字的退款原因")
	case r.ExpectedRefundableFen == nil:
		return RefundView{}, platform.Invalid("expected_refundable_fen", "required", "请提供当前可退金额（分）")
	}
	d, err := s.loadOrder(ctx, orderNo)
	if err != nil {
		return RefundView{}, err
	}
	if !mayRefund(d.State) {
		return RefundView{}, ErrNotRefundable
	}
	if d.refundable() != *r.ExpectedRefundableFen {
		return RefundView{}, ErrRefundableChanged
	}
	if r.AmountFen > d.refundable() {
		return RefundView{}, ErrRefundTooLarge
	}
	no := d.ID + "R" + strconv.FormatInt(d.Version, 10)
	ref, d, err := s.startRefund(ctx, d, no, r.AmountFen, reason, actor)
	if errors.Is(err, errOrderChanged) {
		return RefundView{}, ErrRefundableChanged
	}
	if err != nil {
		return RefundView{}, err
	}
	return ref.view(d), nil
}

func (r refundDoc) view(d orderDoc) RefundView {
	v := RefundView{RefundNo: r.ID, OrderNo: r.OrderNo, AmountFen: r.AmountFen, Reason: r.Reason, By: r.By, State: r.State,
		CreatedAt: platform.Local(r.CreatedAt), RefundableFen: d.refundable(), OrderStatus: d.State}
	if !r.SettledAt.IsZero() {
		t := platform.Local(r.SettledAt)
		v.SettledAt = &t
	}
	return v
}

// Reasons of automatic refunds, as the citizen is told.
var autoReasons = map[string]string{
	"paid_after_close":         "订单关闭后才收到付款",
	"bill_paid_by_other_order": "该缴费单已由另一笔付款缴清",
	"bill_missing":             "缴费单已不存在",
	"department_refused":       "开单部门告知该缴费单已不能缴纳",
	"department_timeout":       "开单部门未在期限内确认办理",
}

// autoRefund refunds what remains of the order in full, once (the refund
// number is derived from the order), for why (a key of autoReasons).
func (s *Service) autoRefund(ctx context.Context, d orderDoc, why string) (refundDoc, error) {
	no := d.ID + "A"
	for {
		if slices.Contains(d.Refunds, no) {
			var r refundDoc
			err := s.refunds.FindOne(ctx, bson.M{"_id": no}).Decode(&r)
			return r, err
		}
		amount := d.refundable()
		if amount <= 0 {
			return refundDoc{}, nil // refunded already (finance was first)
		}
		r, _, err := s.startRefund(ctx, d, no, amount, autoReasons[why], "auto:"+why)
		if !errors.Is(err, errOrderChanged) {
			return r, err
		}
		if d, err = s.loadOrder(ctx, d.ID); err != nil {
			return refundDoc{}, err
		}
	}
}

// startRefund stores the refund (requested), reserves its amount on the
// order (compare-and-swap: errOrderChanged when the order moved), then asks
// the channel. A channel that cannot be reached leaves it requested for the
// sweeper, which asks again with the same refund number.
func (s *Service) startRefund(ctx context.Context, d orderDoc, no string, amount int64, reason, by string) (refundDoc, orderDoc, error) {
	now := s.now()
	r := refundDoc{ID: no, OrderNo: d.ID, Provider: d.Provider, AmountFen: amount, Reason: reason, By: by,
		State: RefundRequested, CreatedAt: now}
	if _, err := s.refunds.InsertOne(ctx, r); err != nil && !platform.IsDuplicateKey(err) {
		return r, d, fmt.Errorf("store refund: %w", err)
	}
	before := d.BeforeRefund
	if d.State != OrderRefunding {
		before = d.State
	}
	nd, err := s.casOrder(ctx, d, bson.M{
		"state": OrderRefunding, "refunding_fen": d.RefundingFen + amount, "refunds": append(append([]string(nil), d.Refunds...), no),
		"before_refund": before,
	}, "refund:"+by)
	if err != nil {
		if errors.Is(err, errOrderChanged) {
			// Never reserved: this refund can never be sent.
			_, _ = s.refunds.UpdateOne(ctx, bson.M{"_id": no, "state": RefundRequested}, bson.M{"$set": bson.M{"state": RefundFailed, "settled_at": now}})
		}
		return r, d, err
	}
	// Reserved is decided: a channel that cannot be reached now is asked
	// again by the sweeper with the same refund number.
	if got, err := s.askRefund(ctx, nd, r); err != nil {
		s.log.WarnContext(ctx, "refund not yet accepted by the channel; the sweeper asks again", "err", err, "refund_no", no)
	} else {
		r = got
	}
	if o, err := s.loadOrder(ctx, nd.ID); err == nil {
		nd = o
	}
	return r, nd, nil
}

// askRefund asks the channel for a stored refund and records its answer.
func (s *Service) askRefund(ctx context.Context, d orderDoc, r refundDoc) (refundDoc, error) {
	p := s.providers[r.Provider]
	if p == nil {
		return r, fmt.Errorf("refund %s: channel %s not configured", r.ID, r.Provider)
	}
	got, err := p.Refund(ctx, RefundRequest{OrderNo: d.ID, RefundNo: r.ID, AmountFen: r.AmountFen, TotalFen: d.AmountFen,
		Reason: r.Reason, NotifyURL: s.notifyURL[r.Provider], ChannelTradeNo: d.ChannelTradeNo})
	if err != nil {
		var ce *ChannelError
		if errors.As(err, &ce) {
			// A refusal (NOT_ENOUGH, …): the money did not go back.
			got = Refund{OrderNo: d.ID, RefundNo: r.ID, State: RefundFailed}
			s.log.ErrorContext(ctx, "channel refused a refund", "refund_no", r.ID, "code", ce.Code)
		} else {
			return r, err
		}
	}
	return s.settleRefund(ctx, r, got)
}

// applyRefund applies a refund callback.
func (s *Service) applyRefund(ctx context.Context, provider string, got Refund) error {
	var r refundDoc
	err := s.refunds.FindOne(ctx, bson.M{"_id": got.RefundNo}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		s.log.WarnContext(ctx, "channel reports a refund Banshi does not have", "provider", provider, "refund_no", got.RefundNo)
		return ErrUnknownOrder
	}
	if err != nil {
		return err
	}
	if r.Provider != provider || (got.OrderNo != "" && got.OrderNo != r.OrderNo) || (got.AmountFen != 0 && got.AmountFen != r.AmountFen) {
		return fmt.Errorf("%w: refund %s", ErrMismatch, r.ID)
	}
	_, err = s.settleRefund(ctx, r, got)
	return err
}

// settleRefund records the channel's word on a refund: processing is noted;
// succeeded or failed moves the money on the order (once: the refund's state
// change is compare-and-swap) and tells the citizen of a success.
func (s *Service) settleRefund(ctx context.Context, r refundDoc, got Refund) (refundDoc, error) {
	now := s.now()
	switch got.State {
	case RefundProcessing:
		if r.State == RefundRequested {
			if _, err := s.refunds.UpdateOne(ctx, bson.M{"_id": r.ID, "state": RefundRequested},
				bson.M{"$set": bson.M{"state": RefundProcessing, "channel_refund_no": got.ChannelRefundNo}}); err != nil {
				return r, err
			}
			r.State = RefundProcessing
		}
		return r, nil
	case RefundSucceeded, RefundFailed:
	default:
		return r, nil
	}
	at := got.SucceededAt
	if at.IsZero() {
		at = now
	}
	at = at.UTC().Truncate(time.Millisecond)
	res, err := s.refunds.UpdateOne(ctx, bson.M{"_id": r.ID, "state": bson.M{"$in": []string{RefundRequested, RefundProcessing}}},
		bson.M{"$set": bson.M{"state": got.State, "channel_refund_no": got.ChannelRefundNo, "settled_at": at,
			"settled_date": at.In(platform.Shanghai()).Format(time.DateOnly)}})
	if err != nil {
		return r, err
	}
	r.State, r.SettledAt = got.State, at
	if res.ModifiedCount == 1 {
		s.metrics.refundSettled(r, got.State)
	}
	if res.ModifiedCount == 0 {
		// Settled before; make sure the order caught up (a crash between).
		return r, s.settleOnOrder(ctx, r)
	}
	return r, s.settleOnOrder(ctx, r)
}

// settleOnOrder moves a settled refund's money on its order, once: the order
// records settled refunds in "settled". A succeeded refund's message is
// published before the order moves, and again whenever a replay finds the
// order already settled: publishing is idempotent by the message's id (the
// refund number), so the citizen gets it once, and a stop between the two
// writes cannot lose it (told after the order moved, a stop in between left
// the order settled and the message unsent for good, since a replay of the
// refund found nothing to do).
func (s *Service) settleOnOrder(ctx context.Context, r refundDoc) error {
	if r.isOrphan() {
		return nil // no order: the refund document is the whole record
	}
	told := false
	for {
		d, err := s.loadOrder(ctx, r.OrderNo)
		if err != nil {
			return err
		}
		if !slices.Contains(d.Refunds, r.ID) {
			return nil
		}
		if r.State == RefundSucceeded && !told {
			if err := s.tell(ctx, d, KindRefunded, r.ID, "退款成功",
				fmt.Sprintf("缴费单 %s 的 %s 元已原路退回，原因：%s。", d.BillNo, Yuan(r.AmountFen), r.Reason)); err != nil {
				return err
			}
			told = true
		}
		if slices.Contains(d.Settled, r.ID) {
			return nil
		}
		refunding := d.RefundingFen - r.AmountFen
		refunded := d.RefundedFen
		if r.State == RefundSucceeded {
			refunded += r.AmountFen
		}
		state := OrderRefunding
		switch {
		case refunding > 0:
		case refunded >= d.PaidFen:
			state = OrderRefunded
		case refunded > 0:
			state = OrderPartiallyRefunded
		default:
			state = d.BeforeRefund
		}
		set := bson.M{"state": state, "refunding_fen": refunding, "refunded_fen": refunded,
			"settled": append(append([]string(nil), d.Settled...), r.ID)}
		_, err = s.casOrder(ctx, d, set, "refund_"+r.State)
		if errors.Is(err, errOrderChanged) {
			continue
		}
		return err
	}
}

// catchUpRefunds settles on order d the refunds it still counts as
// refunding whose own documents are settled: a stop between a refund's
// settlement and its order's left the order refunding for good, since the
// refund sweep follows only unsettled refunds.
func (s *Service) catchUpRefunds(ctx context.Context, d orderDoc) error {
	for _, id := range d.Refunds {
		if slices.Contains(d.Settled, id) {
			continue
		}
		var r refundDoc
		if err := s.refunds.FindOne(ctx, bson.M{"_id": id}).Decode(&r); err != nil {
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue // reserved on the order, never stored: the refund sweep fails it
			}
			return fmt.Errorf("refund %s: %w", id, err)
		}
		if r.State != RefundSucceeded && r.State != RefundFailed {
			continue // still with the channel: the refund sweep follows it
		}
		if err := s.settleOnOrder(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// FinanceOrderView is an order as finance sees it: its transitions and
// refunds, and what may still be refunded (the expected amount a refund
// names).
type FinanceOrderView struct {
	OrderView
	Provider       string       `json:"provider"`
	ChannelTradeNo string       `json:"channel_trade_no,omitempty"`
	PaidFen        int64        `json:"paid_fen"`
	RefundingFen   int64        `json:"refunding_fen"`
	RefundableFen  int64        `json:"refundable_fen"`
	HandleNote     string       `json:"handle_note,omitempty"`
	Refunds        []RefundView `json:"refunds"`
}

// FinanceOrder returns one order for finance. Errors: ErrOrderNotFound.
func (s *Service) FinanceOrder(ctx context.Context, orderNo string) (FinanceOrderView, error) {
	d, err := s.loadOrder(ctx, orderNo)
	if err != nil {
		return FinanceOrderView{}, err
	}
	v := FinanceOrderView{OrderView: d.view(), Provider: d.Provider, ChannelTradeNo: d.ChannelTradeNo, PaidFen: d.PaidFen,
		RefundingFen: d.RefundingFen, RefundableFen: d.refundable(), HandleNote: d.HandleNote, Refunds: []RefundView{}}
	v.PayParams = nil
	cur, err := s.refunds.Find(ctx, bson.M{"order_no": d.ID})
	if err != nil {
		return FinanceOrderView{}, fmt.Errorf("read refunds: %w", err)
	}
	var refunds []refundDoc
	if err := cur.All(ctx, &refunds); err != nil {
		return FinanceOrderView{}, fmt.Errorf("read refunds: %w", err)
	}
	for _, r := range refunds {
		v.Refunds = append(v.Refunds, r.view(d))
	}
	return v, nil
}
