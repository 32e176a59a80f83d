package payments

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// Test doubles and fixture of the reconciliation tests (names prefixed with
// recon: other files of the package are written alongside).

// reconBill is a fake BillReader over fixed rows. Its totals are the rows'
// sums unless totals is set; endErr, when set, is returned instead of io.EOF
// (a bill whose hash or totals fail); gate, when set, is waited on before the
// first row (a run held mid-way).
type reconBill struct {
	rows    []BillRow
	totals  *BillTotals
	endErr  error
	gate    chan struct{}
	entered chan struct{}
	i       int
	closed  bool
}

func (b *reconBill) Next() (BillRow, error) {
	if b.i == 0 && b.gate != nil {
		if b.entered != nil {
			close(b.entered)
			b.entered = nil
		}
		<-b.gate
		b.gate = nil
	}
	if b.i < len(b.rows) {
		b.i++
		return b.rows[b.i-1], nil
	}
	if b.endErr != nil {
		return BillRow{}, b.endErr
	}
	return BillRow{}, io.EOF
}

func (b *reconBill) Totals() BillTotals {
	if b.totals != nil {
		return *b.totals
	}
	var t BillTotals
	for _, r := range b.rows {
		t.Trades++
		t.FeeMilliFen += r.FeeMilliFen
		if r.Kind == BillPayment {
			t.PaidFen += r.AmountFen
		} else {
			t.RefundedFen += r.AmountFen
		}
	}
	return t
}

func (b *reconBill) Close() error { b.closed = true; return nil }

// reconProvider is a fake Provider that only serves bills: next() makes
// the bill each TradeBill call returns.
type reconProvider struct {
	name  string
	mu    sync.Mutex
	next  func() (*reconBill, error)
	calls int
	dates []string
}

var _ Provider = (*reconProvider)(nil)

func (p *reconProvider) Name() string { return p.name }
func (p *reconProvider) Prepay(context.Context, PrepayRequest) (map[string]any, error) {
	return nil, errors.New("not in reconciliation")
}
func (p *reconProvider) Query(context.Context, string) (Trade, error) {
	return Trade{}, errors.New("not in reconciliation")
}
func (p *reconProvider) Close(context.Context, string) error {
	return errors.New("not in reconciliation")
}
func (p *reconProvider) Refund(context.Context, RefundRequest) (Refund, error) {
	return Refund{}, errors.New("not in reconciliation")
}
func (p *reconProvider) QueryRefund(context.Context, string, string) (Refund, error) {
	return Refund{}, errors.New("not in reconciliation")
}
func (p *reconProvider) ParseNotification(context.Context, http.Header, []byte) (Notification, error) {
	return Notification{}, ErrNotVerified
}
func (p *reconProvider) AckNotification(http.ResponseWriter) {}
func (p *reconProvider) TradeBill(_ context.Context, date string) (BillReader, error) {
	p.mu.Lock()
	p.calls++
	p.dates = append(p.dates, date)
	next := p.next
	p.mu.Unlock()
	if next == nil {
		return &reconBill{}, nil
	}
	b, err := next()
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (p *reconProvider) serve(rows ...BillRow) {
	p.mu.Lock()
	p.next = func() (*reconBill, error) { return &reconBill{rows: rows}, nil }
	p.mu.Unlock()
}

func (p *reconProvider) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// reconActions is a fake ReconActions that records its calls.
type reconActions struct {
	mu    sync.Mutex
	calls []string
	err   error
	delay time.Duration
}

var _ ReconActions = (*reconActions)(nil)

func (a *reconActions) TakeChannel(_ context.Context, provider, orderNo string) error {
	time.Sleep(a.delay)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "take|"+provider+"|"+orderNo)
	return a.err
}

func (a *reconActions) RefundChannelOnly(_ context.Context, provider, orderNo, tradeNo string, amount int64, reason string) error {
	time.Sleep(a.delay)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "refund|"+provider+"|"+orderNo+"|"+tradeNo+"|"+Yuan(amount)+"|"+reason)
	return a.err
}

func (a *reconActions) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

// The fixture's day: reconciled on 2026-03-16 at 11:00 Asia/Shanghai.
const reconDate = "2026-03-15"

var (
	reconNow      = time.Date(2026, 3, 16, 3, 0, 0, 0, time.UTC)
	reconDayStart = time.Date(2026, 3, 14, 16, 0, 0, 0, time.UTC) // 2026-03-15 00:00 +08:00
)

type reconFixture struct {
	t       *testing.T
	ctx     context.Context
	db      *mongo.Database
	clock   *platform.ManualClock
	wx, ali *reconProvider
	actions *reconActions
	r       *Reconciler
}

func newReconFixture(t *testing.T) *reconFixture {
	t.Helper()
	f := &reconFixture{t: t, ctx: context.Background(), db: platformtest.Mongo(t),
		clock: platform.NewManualClock(reconNow), wx: &reconProvider{name: ProviderWeChatPay},
		ali: &reconProvider{name: ProviderAlipay}, actions: &reconActions{}}
	var err error
	f.r, err = NewReconciler(ReconcilerDeps{DB: f.db, Clock: f.clock, Log: platformtest.Logger(),
		Providers: map[string]Provider{ProviderWeChatPay: f.wx, ProviderAlipay: f.ali}, Actions: f.actions})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.r.EnsureIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// order inserts an order of provider. paidAt zero: not paid.
func (f *reconFixture) order(no, provider, state string, amount int64, paidAt time.Time, tradeNo string) {
	f.t.Helper()
	d := orderDoc{ID: no, BillNo: "B-" + no, Provider: provider, Method: string(WeChatJSAPI), AmountFen: amount,
		State: state, ChannelTradeNo: tradeNo, CreatedAt: reconDayStart, UpdatedAt: reconDayStart, Transitions: []transitionDoc{}}
	if !paidAt.IsZero() {
		d.PaidFen, d.PaidAt, d.PaidDate = amount, paidAt, paidAt.In(platform.Shanghai()).Format(time.DateOnly)
	}
	if _, err := f.db.Collection(CollOrders).InsertOne(f.ctx, d); err != nil {
		f.t.Fatal(err)
	}
}

// paid inserts an order of provider paid on the fixture's day at noon.
func (f *reconFixture) paid(no, provider string, amount int64) {
	f.t.Helper()
	f.order(no, provider, OrderHandled, amount, reconDayStart.Add(12*time.Hour), "T"+no)
}

// refund inserts a refund the channel accepted at acceptedAt.
func (f *reconFixture) refund(no, orderNo, provider, state string, amount int64, acceptedAt time.Time) {
	f.t.Helper()
	d := refundDoc{ID: no, OrderNo: orderNo, Provider: provider, AmountFen: amount, Reason: "test", By: "auto:test",
		State: state, CreatedAt: acceptedAt}
	if _, err := f.db.Collection(CollRefunds).InsertOne(f.ctx, d); err != nil {
		f.t.Fatal(err)
	}
}

// pay is a payment row; ref a refund row.
func reconPay(orderNo string, amount int64) BillRow {
	return BillRow{Kind: BillPayment, TradeTime: reconDayStart.Add(12 * time.Hour), OrderNo: orderNo,
		ChannelTradeNo: "T" + orderNo, Status: "SUCCESS", AmountFen: amount, FeeMilliFen: amount * 6}
}

func reconRef(orderNo, refundNo string, amount int64, status string) BillRow {
	return BillRow{Kind: BillRefund, TradeTime: reconDayStart.Add(14 * time.Hour), OrderNo: orderNo,
		ChannelTradeNo: "T" + orderNo, RefundNo: refundNo, Status: status, AmountFen: amount, FeeMilliFen: -amount * 6}
}

func (f *reconFixture) run(channel string) Reconciliation {
	f.t.Helper()
	rec, err := f.r.Run(f.ctx, reconDate, channel)
	if err != nil {
		f.t.Fatalf("run %s: %v", channel, err)
	}
	return rec
}

func (f *reconFixture) get(channel string) Reconciliation {
	f.t.Helper()
	rec, err := f.r.Get(f.ctx, reconDate, channel)
	if err != nil {
		f.t.Fatalf("get %s: %v", channel, err)
	}
	return rec
}

// count counts documents of a collection.
func (f *reconFixture) count(coll string) int64 {
	f.t.Helper()
	n, err := f.db.Collection(coll).CountDocuments(f.ctx, bson.D{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// item returns the item of kind and order (and refund) number.
func reconFind(rec Reconciliation, kind, orderNo, refundNo string) (ReconItem, bool) {
	for _, it := range rec.Items {
		if it.Kind == kind && it.OrderNo == orderNo && it.RefundNo == refundNo {
			return it, true
		}
	}
	return ReconItem{}, false
}

// rawItem reads an item document as stored.
func (f *reconFixture) rawItem(id string) bson.M {
	f.t.Helper()
	var m bson.M
	if err := f.db.Collection(CollReconciliationItem).FindOne(f.ctx, bson.D{{Key: "_id", Value: id}}).Decode(&m); err != nil {
		f.t.Fatal(err)
	}
	delete(m, "last_seen")
	return m
}
