package payments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Running a reconciliation: the bill is streamed row by row; Banshi's side
// of the day is held as a compact map (order_no → amount, state, seen: about
// 100 bytes per order of the day, a few MB for 100,000 orders), read with one
// scan of pay_orders by paid_date and one of pay_refunds by created_at. A
// bill row Banshi's day does not have is looked up by _id (the one lookup
// the embedded engine indexes), so a row costs no scan.

// reconFinishTimeout bounds recording a run's end, even when its context
// ended. A run's lease lasts Reconciler.runLease.
const reconFinishTimeout = 10 * time.Second

// reconOrder is one of Banshi's orders paid on the day, compactly.
type reconOrder struct {
	amount int64 // what Banshi counts as received (paid_fen, else amount_fen)
	state  string
	seen   bool // a bill row matched it
}

// reconRefund is one of Banshi's refunds the channel accepted on the day.
type reconRefund struct {
	orderNo string
	amount  int64
	state   string
	seen    bool
}

// reconOrderRow is what is read of an order.
type reconOrderRow struct {
	ID             string    `bson:"_id"`
	Provider       string    `bson:"provider"`
	State          string    `bson:"state"`
	AmountFen      int64     `bson:"amount_fen"`
	PaidFen        int64     `bson:"paid_fen"`
	PaidAt         time.Time `bson:"paid_at"`
	PaidDate       string    `bson:"paid_date"`
	ChannelTradeNo string    `bson:"channel_trade_no"`
}

// received is what Banshi counts as received for the order.
func (o reconOrderRow) received() int64 {
	if o.PaidFen > 0 {
		return o.PaidFen
	}
	return o.AmountFen
}

// paid reports whether Banshi counts the order as paid.
func (o reconOrderRow) paid() bool { return !o.PaidAt.IsZero() && o.PaidAt.Unix() > 0 }

// reconRefundRow is what is read of a refund.
type reconRefundRow struct {
	ID        string `bson:"_id"`
	OrderNo   string `bson:"order_no"`
	Provider  string `bson:"provider"`
	AmountFen int64  `bson:"amount_fen"`
	State     string `bson:"state"`
}

// reconStateOf returns the package's constant for a stored state, so the
// day's map does not hold a copy of the same word per order.
func reconStateOf(s string) string {
	for _, c := range []string{OrderPaid, OrderHandled, OrderHandleFailed, OrderRefunding, OrderRefunded,
		OrderPartiallyRefunded, OrderPaying, OrderClosed, RefundProcessing, RefundSucceeded, RefundFailed} {
		if s == c {
			return c
		}
	}
	return s
}

// Run reconciles channel's ("wechatpay" or "alipay") trade bill of date
// (YYYY-MM-DD, Asia/Shanghai) with Banshi's orders paid that day and refunds
// the channel accepted that day, records the summary and the discrepancies
// (reconciliation_items: a re-run keeps their resolutions; those it no
// longer finds are marked gone), and returns the reconciliation without its
// items. Today is allowed (development's simulators serve today's bill; a
// real channel refuses it before 10:00 the next day, which fails the run);
// a later date is refused.
//
// Errors: platform.Invalid (date malformed or in the future; channel unknown
// or not configured) before anything is recorded; ErrReconRunning while a
// run of the same date and channel is under way (nothing recorded);
// ErrReconBillUnusable (the channel refused the bill, or its hash or totals
// disagree with its rows) and ErrReconChannelUnavailable, after which the
// run is recorded as failed; storage errors.
func (r *Reconciler) Run(ctx context.Context, date, channel string) (Reconciliation, error) {
	day, err := r.reconDay(date)
	if err != nil {
		return Reconciliation{}, err
	}
	p, err := r.reconProvider(channel)
	if err != nil {
		return Reconciliation{}, err
	}
	runID := platform.NewLeaseHolder()
	lease, err := r.leases.Acquire(ctx, "reconciliation|"+reconID(date, channel), runID, r.runLease)
	if errors.Is(err, platform.ErrLeaseHeld) {
		return Reconciliation{}, ErrReconRunning
	}
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconciliation: take the run's lease: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	stopRenewing := r.reconKeepLease(runCtx, cancel, lease)
	defer func() {
		stopRenewing()
		cancel()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), reconFinishTimeout)
		defer rcancel()
		if err := r.leases.Release(rctx, lease); err != nil {
			r.log.Warn("reconciliation lease not released; it expires", "err", err)
		}
	}()

	started := r.clock.Now()
	if _, err := r.begin(runCtx, date, channel, runID, started); err != nil {
		return Reconciliation{}, err
	}
	log := r.log.With("date", date, "channel", channel, "run", runID)
	sum, runErr := r.reconcile(runCtx, p, date, channel, day, runID)
	if runErr == nil && runCtx.Err() != nil {
		runErr = fmt.Errorf("reconciliation: lease lost: %w", runCtx.Err())
	}
	status, why := ReconDone, ""
	if runErr != nil {
		runErr = reconPublicError(runErr)
		status, why = ReconFailed, "对账失败：内部错误"
		if pe, ok := platform.AsError(runErr); ok {
			why = pe.Message
		}
		log.Warn("reconciliation failed", "err", runErr)
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), reconFinishTimeout)
	defer fcancel()
	if err := r.finish(fctx, date, channel, runID, status, why, sum, r.clock.Now()); err != nil {
		return Reconciliation{}, errors.Join(runErr, err)
	}
	r.metrics.reconRun(channel, status)
	if runErr != nil {
		return Reconciliation{}, runErr
	}
	log.Info("reconciled", "matched", sum.Matched, "channel_only", sum.ChannelOnly,
		"missing_at_channel", sum.MissingAtChannel, "amount_mismatch", sum.AmountMismatch,
		"status_mismatch", sum.StatusMismatch, "refund_mismatch", sum.RefundMismatch,
		"took", r.clock.Now().Sub(started).String())
	return r.readRecon(fctx, date, channel, false)
}

// reconDay checks date and returns the start of that day in Asia/Shanghai.
func (r *Reconciler) reconDay(date string) (time.Time, error) {
	day, err := time.ParseInLocation(time.DateOnly, date, platform.Shanghai())
	if err != nil || day.Format(time.DateOnly) != date {
		return time.Time{}, platform.Invalid("date", "format", "日期格式应为 YYYY-MM-DD")
	}
	if date > r.clock.Now().In(platform.Shanghai()).Format(time.DateOnly) {
		return time.Time{}, platform.Invalid("date", "range", "不能对未来的日期对账")
	}
	return day, nil
}

// reconProvider returns the channel's provider.
func (r *Reconciler) reconProvider(channel string) (Provider, error) {
	if channel != ProviderWeChatPay && channel != ProviderAlipay {
		return nil, platform.Invalid("channel", "enum", "渠道应为 wechatpay 或 alipay")
	}
	p := r.providers[channel]
	if p == nil {
		return nil, platform.Invalid("channel", "configured", "该支付渠道未开通")
	}
	return p, nil
}

// reconKeepLease renews lease while the run goes on and cancels the run
// when it is lost. The returned function stops renewing and waits.
func (r *Reconciler) reconKeepLease(ctx context.Context, cancel context.CancelFunc, lease platform.Lease) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(r.runLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			next, err := r.leases.Renew(ctx, lease, r.runLease)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("reconciliation lease lost; the run stops", "lease", lease.Name, "err", err)
				}
				cancel()
				return
			}
			lease = next
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// reconPublicError maps a run's error to what people are told.
func reconPublicError(err error) error {
	var ce *ChannelError
	switch {
	case platform.CodeOf(err) != "":
		return err
	case errors.Is(err, ErrChannelUnavailable):
		return ErrReconChannelUnavailable.Wrap(err)
	case errors.As(err, &ce) && (ce.Code == "STATEMENT_CREATING" || ce.Code == "NO_STATEMENT_EXIST"):
		return ErrReconBillUnusable.WithMessage("渠道对账单尚未生成（次日 10 点后可下载），请稍后重试").Wrap(err)
	case errors.As(err, &ce), errors.Is(err, ErrMalformed):
		return ErrReconBillUnusable.Wrap(err)
	}
	return err
}

// reconRun is one run's state.
type reconRun struct {
	r        *Reconciler
	date     string
	channel  string
	orders   map[string]reconOrder
	refunds  map[string]reconRefund
	sum      ReconSummary
	items    reconItemWriter
	seenItem map[string]bool // item ids written by this run (few: discrepancies only)
}

// reconcile does the work of Run.
func (r *Reconciler) reconcile(ctx context.Context, p Provider, date, channel string, day time.Time, runID string) (ReconSummary, error) {
	run := &reconRun{r: r, date: date, channel: channel, seenItem: map[string]bool{},
		items: reconItemWriter{coll: r.items, runID: runID, now: r.clock.Now(), channel: channel, metrics: r.metrics}}
	if err := run.loadOrders(ctx); err != nil {
		return ReconSummary{}, err
	}
	if err := run.loadRefunds(ctx, day); err != nil {
		return ReconSummary{}, err
	}
	bill, err := p.TradeBill(ctx, date)
	if err != nil {
		return ReconSummary{}, fmt.Errorf("reconciliation: bill: %w", err)
	}
	defer bill.Close()
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ReconSummary{}, ctx.Err()
		}
		row, err := bill.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ReconSummary{}, fmt.Errorf("reconciliation: bill: %w", err)
		}
		run.sum.BillRows++
		run.sum.BillFeeMilliFen += row.FeeMilliFen
		switch row.Kind {
		case BillPayment:
			run.sum.BillPaidFen += row.AmountFen
			err = run.payment(ctx, row)
		case BillRefund:
			run.sum.BillRefundedFen += row.AmountFen
			err = run.refund(ctx, row)
		default:
			err = fmt.Errorf("reconciliation: bill row of kind %q: %w", row.Kind, ErrMalformed)
		}
		if err != nil {
			return ReconSummary{}, err
		}
	}
	t := bill.Totals()
	run.sum.ChannelTrades, run.sum.ChannelPaidFen = t.Trades, t.PaidFen
	run.sum.ChannelRefundedFen, run.sum.ChannelFeeMilliFen = t.RefundedFen, t.FeeMilliFen
	run.sum.TotalsAgree = run.sum.BillRows == t.Trades && run.sum.BillRefundedFen == t.RefundedFen &&
		run.sum.BillFeeMilliFen == t.FeeMilliFen && (channel == ProviderAlipay || run.sum.BillPaidFen == t.PaidFen)
	if err := run.leftovers(ctx); err != nil {
		return ReconSummary{}, err
	}
	if err := run.items.flush(ctx); err != nil {
		return ReconSummary{}, err
	}
	if err := r.markGone(ctx, date, channel, runID); err != nil {
		return ReconSummary{}, err
	}
	return run.sum, nil
}

// loadOrders reads Banshi's orders of the channel paid on the day.
func (run *reconRun) loadOrders(ctx context.Context) error {
	cur, err := run.r.orders.Find(ctx,
		bson.D{{Key: "paid_date", Value: run.date}, {Key: "provider", Value: run.channel}},
		options.Find().SetProjection(bson.M{"_id": 1, "state": 1, "amount_fen": 1, "paid_fen": 1}).SetBatchSize(2000))
	if err != nil {
		return fmt.Errorf("reconciliation: read orders: %w", err)
	}
	defer cur.Close(ctx)
	run.orders = map[string]reconOrder{}
	for cur.Next(ctx) {
		var o reconOrderRow
		if err := cur.Decode(&o); err != nil {
			return fmt.Errorf("reconciliation: decode order: %w", err)
		}
		run.orders[o.ID] = reconOrder{amount: o.received(), state: reconStateOf(o.State)}
		run.sum.BanshiOrders++
		run.sum.BanshiPaidFen += o.received()
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("reconciliation: read orders: %w", err)
	}
	return nil
}

// loadRefunds reads Banshi's refunds of the channel accepted on the day.
func (run *reconRun) loadRefunds(ctx context.Context, day time.Time) error {
	cur, err := run.r.refunds.Find(ctx,
		bson.D{{Key: "provider", Value: run.channel},
			{Key: "created_at", Value: bson.M{"$gte": day.UTC(), "$lt": day.AddDate(0, 0, 1).UTC()}}},
		options.Find().SetProjection(bson.M{"_id": 1, "order_no": 1, "amount_fen": 1, "state": 1}))
	if err != nil {
		return fmt.Errorf("reconciliation: read refunds: %w", err)
	}
	defer cur.Close(ctx)
	run.refunds = map[string]reconRefund{}
	for cur.Next(ctx) {
		var f reconRefundRow
		if err := cur.Decode(&f); err != nil {
			return fmt.Errorf("reconciliation: decode refund: %w", err)
		}
		run.refunds[f.ID] = reconRefund{orderNo: f.OrderNo, amount: f.AmountFen, state: reconStateOf(f.State)}
		if f.State != RefundFailed {
			run.sum.BanshiRefunds++
			run.sum.BanshiRefundedFen += f.AmountFen
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("reconciliation: read refunds: %w", err)
	}
	return nil
}

// reconPaymentFailed reports whether a payment row's status says the money
// was not received (WeChat's REVOKED, CLOSED, PAYERROR; Alipay bills list
// successes only).
func reconPaymentFailed(status string) bool {
	switch status {
	case "REVOKED", "CLOSED", "PAYERROR", "NOTPAY":
		return true
	}
	return false
}

// Refund outcomes a bill row may state.
func reconRefundRowSucceeded(status string) bool { return status == "SUCCESS" || status == "退款" }
func reconRefundRowFailed(status string) bool {
	switch status {
	case "ABNORMAL", "CLOSED", "REFUNDCLOSE", "CHANGE", "FAIL":
		return true
	}
	return false
}

// discrepancy records an item of this run and counts it.
func (run *reconRun) discrepancy(ctx context.Context, d reconItemDoc) error {
	d.ID = reconItemID(run.date, run.channel, d.Kind, d.OrderNo, d.RefundNo)
	d.Date, d.Channel = run.date, run.channel
	if run.seenItem[d.ID] {
		return nil // the same discrepancy twice in one bill is one item
	}
	run.seenItem[d.ID] = true
	switch d.Kind {
	case ReconChannelOnly:
		run.sum.ChannelOnly++
	case ReconMissingAtChannel:
		run.sum.MissingAtChannel++
	case ReconAmountMismatch:
		run.sum.AmountMismatch++
	case ReconStatusMismatch:
		run.sum.StatusMismatch++
	case ReconRefundMismatch:
		run.sum.RefundMismatch++
	}
	return run.items.add(ctx, d)
}

// findOrder reads an order by _id; ok is false when Banshi has none.
func (run *reconRun) findOrder(ctx context.Context, orderNo string) (o reconOrderRow, ok bool, err error) {
	err = run.r.orders.FindOne(ctx, bson.D{{Key: "_id", Value: orderNo}},
		options.FindOne().SetProjection(bson.M{"transitions": 0, "pay_params": 0})).Decode(&o)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("reconciliation: read order: %w", err)
	}
	return o, true, nil
}

// payment matches one payment row.
func (run *reconRun) payment(ctx context.Context, row BillRow) error {
	failed := reconPaymentFailed(row.Status)
	base := reconItemDoc{OrderNo: row.OrderNo, ChannelTradeNo: row.ChannelTradeNo, ChannelAmountFen: row.AmountFen}
	if o, ok := run.orders[row.OrderNo]; ok && !o.seen {
		o.seen = true
		run.orders[row.OrderNo] = o
		base.AmountFen, base.BanshiState, base.BanshiPaid = o.amount, o.state, true
		switch {
		case failed:
			base.Kind, base.ChannelAmountFen = ReconStatusMismatch, 0
			base.Detail = "账单中该笔交易状态为 " + row.Status + "，办事通记为已支付"
			return run.discrepancy(ctx, base)
		case o.amount != row.AmountFen:
			base.Kind = ReconAmountMismatch
			base.Detail = "金额不一致：办事通 " + Yuan(o.amount) + " 元，渠道 " + Yuan(row.AmountFen) + " 元"
			return run.discrepancy(ctx, base)
		}
		run.sum.Matched++
		return nil
	} else if ok {
		// A second success row of an order already matched: money twice.
		base.Kind, base.AmountFen, base.BanshiState, base.BanshiPaid = ReconChannelOnly, 0, o.state, true
		base.Detail = "账单中同一订单出现多笔成功交易，多出的一笔办事通未记账"
		return run.discrepancy(ctx, base)
	}
	if failed {
		return nil // a payment that did not happen, which Banshi does not count either
	}
	o, found, err := run.findOrder(ctx, row.OrderNo)
	if err != nil {
		return err
	}
	if !found {
		base.Kind = ReconChannelOnly
		base.Detail = "渠道有此笔成功交易，办事通没有该订单"
		return run.discrepancy(ctx, base)
	}
	// BanshiPaid: Banshi counts this channel's payment (an order paid
	// through another channel does not count this one: refundable).
	base.Kind, base.AmountFen, base.BanshiState = ReconStatusMismatch, o.received(), o.State
	base.BanshiPaid = o.paid() && o.Provider == run.channel
	switch {
	case o.Provider != run.channel:
		base.Detail = "办事通中该订单属于另一支付渠道（" + o.Provider + "）"
	case o.paid():
		base.Detail = "办事通记为 " + o.PaidDate + " 支付，渠道记在本日"
	default:
		base.Detail = "办事通中订单状态为 " + o.State + "，未记为已支付"
	}
	return run.discrepancy(ctx, base)
}

// refund matches one refund row.
func (run *reconRun) refund(ctx context.Context, row BillRow) error {
	base := reconItemDoc{Kind: ReconRefundMismatch, OrderNo: row.OrderNo, RefundNo: row.RefundNo,
		ChannelTradeNo: row.ChannelTradeNo, ChannelAmountFen: row.AmountFen}
	f, ok := run.refunds[row.RefundNo]
	if ok {
		f.seen = true
		run.refunds[row.RefundNo] = f
	} else {
		var d reconRefundRow
		err := run.r.refunds.FindOne(ctx, bson.D{{Key: "_id", Value: row.RefundNo}}).Decode(&d)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			base.Detail = "渠道有此笔退款，办事通没有"
			return run.discrepancy(ctx, base)
		case err != nil:
			return fmt.Errorf("reconciliation: read refund: %w", err)
		}
		f = reconRefund{orderNo: d.OrderNo, amount: d.AmountFen, state: d.State}
		if d.Provider != run.channel {
			f.orderNo = "" // another channel's refund number: never a match
		}
	}
	base.AmountFen, base.BanshiState = f.amount, f.state
	switch {
	case f.orderNo != row.OrderNo:
		base.Detail = "退款所属订单不一致：办事通 " + f.orderNo + "，渠道 " + row.OrderNo
	case f.amount != row.AmountFen:
		base.Detail = "退款金额不一致：办事通 " + Yuan(f.amount) + " 元，渠道 " + Yuan(row.AmountFen) + " 元"
	case reconRefundRowSucceeded(row.Status) && f.state == RefundFailed:
		base.Detail = "渠道退款成功，办事通记为退款失败"
	case reconRefundRowFailed(row.Status) && f.state == RefundSucceeded:
		base.Detail = "渠道退款状态为 " + row.Status + "，办事通记为退款成功"
	default:
		run.sum.Matched++
		return nil
	}
	return run.discrepancy(ctx, base)
}

// leftovers records what Banshi has for the day that the bill lacked.
func (run *reconRun) leftovers(ctx context.Context) error {
	for no, o := range run.orders {
		if o.seen {
			continue
		}
		d := reconItemDoc{Kind: ReconMissingAtChannel, OrderNo: no, AmountFen: o.amount, BanshiState: o.state,
			BanshiPaid: true, Detail: "办事通记为本日已支付，渠道账单中没有"}
		if full, ok, err := run.findOrder(ctx, no); err != nil {
			return err
		} else if ok {
			d.ChannelTradeNo = full.ChannelTradeNo
		}
		if err := run.discrepancy(ctx, d); err != nil {
			return err
		}
	}
	for no, f := range run.refunds {
		if f.seen || f.state == RefundFailed {
			continue
		}
		d := reconItemDoc{Kind: ReconRefundMismatch, OrderNo: f.orderNo, RefundNo: no, AmountFen: f.amount,
			BanshiState: f.state, Detail: "办事通有此笔退款（渠道已受理），渠道账单中没有"}
		if err := run.discrepancy(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
