package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Reconciliation (对账): a day's trade bill of one channel against Banshi's
// orders and refunds of that day. This file holds the types, the errors and
// the constructor; matching is in reconcile_match.go, storage in
// reconcile_store.go, resolutions in reconcile_resolve.go, the CSV in
// reconcile_csv.go and the daily duty in reconcile_daily.go.

// Collections of reconciliation.
const (
	CollReconciliations    = "reconciliations"      // reconDoc, _id "<date>|<channel>"
	CollReconciliationItem = "reconciliation_items" // reconItemDoc, _id reconItemID(date, channel, kind, order_no, refund_no)
)

// Reconciliation states.
const (
	ReconRunning = "running"
	ReconDone    = "done"
	ReconFailed  = "failed"
)

// Discrepancy kinds (an item's Kind), named as the summary names them.
const (
	ReconChannelOnly      = "channel_only"       // 长款: a success at the channel Banshi does not have at all
	ReconMissingAtChannel = "missing_at_channel" // 短款: Banshi paid on the day, the bill does not have it
	ReconAmountMismatch   = "amount_mismatch"    // both have the payment, for different amounts
	ReconStatusMismatch   = "status_mismatch"    // Banshi knows the order but not as paid that day
	ReconRefundMismatch   = "refund_mismatch"    // a refund one side lacks, or of another amount or outcome
)

// Resolution actions.
const (
	ReconTakeChannel = "take_channel" // make Banshi agree with the channel (ReconActions.TakeChannel)
	ReconRefund      = "refund"       // give back money only the channel has (ReconActions.RefundChannelOnly)
	ReconExplained   = "explained"    // nothing to do; the note says why
)

// ReconNoteMax is the longest resolution note, in characters.
const ReconNoteMax = 500

// Errors of reconciliation, for people.
var (
	// ErrReconRunning: a reconciliation of the same date and channel is
	// running (409).
	ErrReconRunning = platform.NewError("reconciliation_running", "该日期和渠道的对账正在进行，请稍后再试")
	// ErrReconNotFound: the date and channel were never reconciled (404).
	ErrReconNotFound = platform.NewError("reconciliation_not_found", "该日期和渠道尚未对账")
	// ErrReconItemNotFound: no such discrepancy in that reconciliation (404).
	ErrReconItemNotFound = platform.NewError("reconciliation_item_not_found", "对账差错项不存在")
	// ErrReconItemResolved: the discrepancy was resolved already, or is
	// being resolved (409).
	ErrReconItemResolved = platform.NewError("reconciliation_item_resolved", "该差错项已处理，不能重复处理")
	// ErrReconActionNotAllowed: the action does not fit the discrepancy's
	// kind, e.g. a refund of a payment the channel does not have (422).
	ErrReconActionNotAllowed = platform.NewError("reconciliation_action_not_allowed", "该差错项不能这样处理")
	// ErrReconBillUnusable: the channel refused the bill (not yet
	// generated, too old, …) or sent one that cannot be trusted (its hash or
	// totals disagree with its rows). The run is recorded as failed (502).
	ErrReconBillUnusable = platform.NewError("reconciliation_bill_unusable", "未能取得可用的渠道对账单，请稍后重试")
	// ErrReconChannelUnavailable: the channel could not be reached (503).
	ErrReconChannelUnavailable = platform.NewError("upstream_unavailable", "支付渠道暂时无法访问，请稍后再试")
)

// ReconActions is what a resolution does to orders: the lead implements it
// on the order service. Both calls must be idempotent — a resolution whose
// process died midway is retried with the same arguments — and return
// platform.Errors for refusals people must read (they reach the client as
// they are).
type ReconActions interface {
	// TakeChannel makes Banshi's order orderNo agree with what the channel
	// says of it now (it queries the channel): paid when the channel says
	// paid (with the channel's amount, trade number and success time, and
	// what follows a payment), its refunds settled as the channel says.
	TakeChannel(ctx context.Context, provider, orderNo string) error
	// RefundChannelOnly gives back amountFen of channel trade
	// channelTradeNo (out_trade_no orderNo) that only the channel counts as
	// received: a payment Banshi does not have, or of an order Banshi does
	// not count as paid. reason is the finance clerk's note.
	RefundChannelOnly(ctx context.Context, provider, orderNo, channelTradeNo string, amountFen int64, reason string) error
}

// ReconcilerDeps are what a Reconciler needs.
type ReconcilerDeps struct {
	DB    *mongo.Database
	Clock platform.Clock // nil: platform.SystemClock{}
	Log   *slog.Logger   // nil: discard
	// Providers are the channels by name (ProviderWeChatPay,
	// ProviderAlipay); a channel without one cannot be reconciled.
	Providers map[string]Provider
	Actions   ReconActions
	Metrics   *Metrics // nil: runs and discrepancies are not counted (metrics.go)
	// Lease is how long a run's lease (per date and channel) holds without
	// a renewal; the daily schedule's lease holds twice as long, so that
	// whoever takes the schedule over from a process that died finds the
	// dead run's lease lapsed and runs the day again at once [30 s].
	Lease time.Duration
}

// Reconciler reconciles the channels' trade bills with Banshi's orders and
// refunds. Safe for concurrent use; runs of one date and channel exclude
// each other across processes (a lease per date and channel).
type Reconciler struct {
	db        *mongo.Database
	recons    *mongo.Collection
	items     *mongo.Collection
	orders    *mongo.Collection
	refunds   *mongo.Collection
	leases    *platform.Leases
	clock     platform.Clock
	log       *slog.Logger
	providers map[string]Provider
	actions   ReconActions
	metrics   *Metrics
	lease     time.Duration // the daily schedule's lease: 2 × runLease
	runLease  time.Duration // a run's lease (ReconcilerDeps.Lease)
}

// NewReconciler returns a Reconciler. DB and Actions are required.
func NewReconciler(d ReconcilerDeps) (*Reconciler, error) {
	if d.DB == nil || d.Actions == nil {
		return nil, errors.New("payments: reconciler: DB and Actions are required")
	}
	if d.Clock == nil {
		d.Clock = platform.SystemClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Lease <= 0 {
		d.Lease = 30 * time.Second
	}
	providers := make(map[string]Provider, len(d.Providers))
	for name, p := range d.Providers {
		if p == nil {
			continue
		}
		if name != ProviderWeChatPay && name != ProviderAlipay {
			return nil, fmt.Errorf("payments: reconciler: unknown channel %q", name)
		}
		providers[name] = p
	}
	return &Reconciler{
		db: d.DB, recons: d.DB.Collection(CollReconciliations), items: d.DB.Collection(CollReconciliationItem),
		orders: d.DB.Collection(CollOrders), refunds: d.DB.Collection(CollRefunds),
		leases: platform.NewLeases(d.DB, d.Clock), clock: d.Clock, log: d.Log,
		providers: providers, actions: d.Actions, metrics: d.Metrics, lease: 2 * d.Lease, runLease: d.Lease,
	}, nil
}

// Reconciliation is one date and channel as reconciled, with its
// discrepancies (Get) or without them (Run answers only the summary; Items
// is then nil).
type Reconciliation struct {
	Date       string       `json:"date"`
	Channel    string       `json:"channel"`
	Status     string       `json:"status"`          // ReconRunning, ReconDone, ReconFailed
	Error      string       `json:"error,omitempty"` // failed: why, for people
	Runs       int64        `json:"runs"`            // how many times it was run (1 after the first)
	Summary    ReconSummary `json:"summary"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt time.Time    `json:"finished_at,omitzero"`
	Items      []ReconItem  `json:"items"`
}

// ReconSummary counts a run's outcome. Matched counts bill rows (payments
// and refunds) that agree with Banshi; the other counts are discrepancy
// items of this run by kind. Channel* are the bill's totals row, Bill* the
// sums of its rows as read, Banshi* Banshi's side of the day: its orders
// paid that day (paid_date) and its refunds the channel accepted that day
// that did not fail. Fees are in milli-fen.
type ReconSummary struct {
	Matched          int64 `json:"matched" bson:"matched"`
	ChannelOnly      int64 `json:"channel_only" bson:"channel_only"`
	MissingAtChannel int64 `json:"missing_at_channel" bson:"missing_at_channel"`
	AmountMismatch   int64 `json:"amount_mismatch" bson:"amount_mismatch"`
	StatusMismatch   int64 `json:"status_mismatch" bson:"status_mismatch"`
	RefundMismatch   int64 `json:"refund_mismatch" bson:"refund_mismatch"`

	ChannelTrades      int64 `json:"channel_trades" bson:"channel_trades"`
	ChannelPaidFen     int64 `json:"channel_paid_fen" bson:"channel_paid_fen"`
	ChannelRefundedFen int64 `json:"channel_refunded_fen" bson:"channel_refunded_fen"`
	ChannelFeeMilliFen int64 `json:"channel_fee_milli_fen" bson:"channel_fee_milli_fen"`

	BillRows        int64 `json:"bill_rows" bson:"bill_rows"`
	BillPaidFen     int64 `json:"bill_paid_fen" bson:"bill_paid_fen"`
	BillRefundedFen int64 `json:"bill_refunded_fen" bson:"bill_refunded_fen"`
	BillFeeMilliFen int64 `json:"bill_fee_milli_fen" bson:"bill_fee_milli_fen"`
	// TotalsAgree: the rows' count, refunds and fees sum to the totals row
	// (payments too for WeChat Pay; Alipay's totals count what the merchant
	// received, which discounts may make less than the orders' amounts).
	TotalsAgree bool `json:"totals_agree" bson:"totals_agree"`

	BanshiOrders      int64 `json:"banshi_orders" bson:"banshi_orders"`
	BanshiPaidFen     int64 `json:"banshi_paid_fen" bson:"banshi_paid_fen"`
	BanshiRefunds     int64 `json:"banshi_refunds" bson:"banshi_refunds"`
	BanshiRefundedFen int64 `json:"banshi_refunded_fen" bson:"banshi_refunded_fen"`
}

// ReconItem is one discrepancy. AmountFen is Banshi's amount (0 when Banshi
// has no such payment or refund), ChannelAmountFen the bill's (0 when the
// bill lacks it). Gone is set when a later run of the same day no longer
// found it (it is kept, with its resolution). Resolution is nil until
// resolved.
type ReconItem struct {
	ID               string           `json:"id"`
	Kind             string           `json:"kind"`
	OrderNo          string           `json:"order_no"`
	RefundNo         string           `json:"refund_no,omitempty"`
	ChannelTradeNo   string           `json:"channel_trade_no"`
	AmountFen        int64            `json:"amount_fen"`
	ChannelAmountFen int64            `json:"channel_amount_fen"`
	BanshiState      string           `json:"banshi_state,omitempty"` // the order's state in Banshi, "" when unknown
	Detail           string           `json:"detail"`                 // what differs, for people
	Gone             bool             `json:"gone"`
	Resolution       *ReconResolution `json:"resolution"`
}

// ReconResolution is how finance resolved an item. Done is false while its
// action runs (or when the process running it died; Resolve may then be
// called again after ReconPendingTimeout).
type ReconResolution struct {
	Action string    `json:"action"`
	Note   string    `json:"note"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Done   bool      `json:"done"`
}
