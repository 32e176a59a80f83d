package payments_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

// End to end: orders paid and refunded at the WeChat Pay simulator through
// the real adapter, the day's bill downloaded (signed request, SHA-1
// checked) and parsed by the real bill reader, reconciled with Banshi's
// orders in the embedded database.

const (
	reconE2EMchID  = "1900000109"
	reconE2ESerial = "3775B6A45ACD588826D15E583A95F5DD00000001"
	reconE2EAPIv3  = "banshi-test-apiv3-key-0123456789"
	reconE2EApp    = "wxminiprogram0001"
	reconE2EPubID  = "PUB_KEY_ID_0119000001092024000000000001"
)

// reconE2EActions records what resolutions asked for.
type reconE2EActions struct {
	mu    sync.Mutex
	calls []string
}

var _ payments.ReconActions = (*reconE2EActions)(nil)

func (a *reconE2EActions) TakeChannel(_ context.Context, provider, orderNo string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "take "+provider+" "+orderNo)
	return nil
}

func (a *reconE2EActions) RefundChannelOnly(_ context.Context, provider, orderNo, tradeNo string, amount int64, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "refund "+provider+" "+orderNo+" "+tradeNo+" "+time.Duration(amount).String())
	return nil
}

func reconE2EKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// reconE2EWeChat returns the simulator and an adapter pointed at it.
func reconE2EWeChat(t *testing.T, clock platform.Clock) (*wechatpay.Provider, string) {
	t.Helper()
	merchant, wxKey, certKey := reconE2EKey(t), reconE2EKey(t), reconE2EKey(t)
	w, err := sim.NewWeChatPay(sim.WeChatPayOptions{
		Clock: clock,
		Merchants: []sim.WeChatPayMerchant{{MchID: reconE2EMchID, SerialNo: reconE2ESerial, PublicKey: &merchant.PublicKey,
			APIv3Key: reconE2EAPIv3, AppIDs: []string{reconE2EApp}}},
		PublicKey: wxKey, PublicKeyID: reconE2EPubID, CertificateKey: certKey,
		RetrySchedule: []time.Duration{10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	notify := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.WriteHeader(http.StatusNoContent) // callbacks are not what this test is about
	}))
	t.Cleanup(notify.Close)
	t.Cleanup(w.Close)
	der, _ := x509.MarshalPKCS8PrivateKey(merchant)
	pub, _ := x509.MarshalPKIXPublicKey(&wxKey.PublicKey)
	p, err := wechatpay.New(wechatpay.Config{
		MchID: reconE2EMchID, MiniProgramAppID: reconE2EApp, SerialNo: reconE2ESerial,
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		APIv3Key:      reconE2EAPIv3, PublicKeyID: reconE2EPubID,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		BaseURL:      srv.URL + "/sim/wechatpay", NotifyURL: notify.URL, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, srv.URL + "/sim/wechatpay"
}

// reconE2EPay creates order no of amount at the simulator and pays it.
func reconE2EPay(t *testing.T, ctx context.Context, p *wechatpay.Provider, simURL string, clock platform.Clock, no string, amount int64) payments.Trade {
	t.Helper()
	if _, err := p.Prepay(ctx, payments.PrepayRequest{OrderNo: no, Method: payments.WeChatJSAPI, AmountFen: amount,
		Subject: "非税缴款", PayerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", ExpiresAt: clock.Now().Add(15 * time.Minute)}); err != nil {
		t.Fatalf("prepay %s: %v", no, err)
	}
	body, _ := json.Marshal(map[string]string{"out_trade_no": no})
	res, err := http.Post(simURL+"/control/pay", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("pay %s: %d", no, res.StatusCode)
	}
	tr, err := p.Query(ctx, no)
	if err != nil || tr.State != payments.TradePaid {
		t.Fatalf("query %s: %+v %v", no, tr, err)
	}
	return tr
}

// reconE2EOrder stores Banshi's order as paid by tr (amount: what Banshi
// recorded).
func reconE2EOrder(t *testing.T, ctx context.Context, db *mongo.Database, no string, amount int64, tradeNo string, paidAt time.Time) {
	t.Helper()
	_, err := db.Collection(payments.CollOrders).InsertOne(ctx, bson.M{
		"_id": no, "bill_no": "B-" + no, "provider": payments.ProviderWeChatPay, "method": "wechat_jsapi",
		"amount_fen": amount, "paid_fen": amount, "state": payments.OrderHandled, "channel_trade_no": tradeNo,
		"paid_at": paidAt, "paid_date": paidAt.In(platform.Shanghai()).Format(time.DateOnly),
		"refunded_fen": int64(0), "refunding_fen": int64(0), "version": int64(1),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReconWeChatPaySimulatorEndToEnd(t *testing.T) {
	ctx := context.Background()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(time.Date(2026, 3, 15, 4, 0, 0, 0, time.UTC)) // 12:00 in Shanghai
	p, simURL := reconE2EWeChat(t, clock)

	o1 := reconE2EPay(t, ctx, p, simURL, clock, "E2E0001", 1000)
	o2 := reconE2EPay(t, ctx, p, simURL, clock, "E2E0002", 2500)
	o3 := reconE2EPay(t, ctx, p, simURL, clock, "E2E0003", 3000)
	o5 := reconE2EPay(t, ctx, p, simURL, clock, "E2E0005", 4200) // Banshi never recorded it: 长款
	clock.Advance(time.Hour)
	ref, err := p.Refund(ctx, payments.RefundRequest{OrderNo: "E2E0002", RefundNo: "E2ER0002", AmountFen: 500,
		TotalFen: 2500, Reason: "部分退款", ChannelTradeNo: o2.ChannelTradeNo})
	if err != nil {
		t.Fatal(err)
	}
	accepted := clock.Now()

	reconE2EOrder(t, ctx, db, "E2E0001", 1000, o1.ChannelTradeNo, o1.PaidAt)
	reconE2EOrder(t, ctx, db, "E2E0002", 2500, o2.ChannelTradeNo, o2.PaidAt)
	reconE2EOrder(t, ctx, db, "E2E0003", 2900, o3.ChannelTradeNo, o3.PaidAt)    // amount differs
	reconE2EOrder(t, ctx, db, "E2E0004", 800, "4200000000000000004", o1.PaidAt) // the channel has no such payment: 短款
	if _, err := db.Collection(payments.CollRefunds).InsertOne(ctx, bson.M{
		"_id": "E2ER0002", "order_no": "E2E0002", "provider": payments.ProviderWeChatPay, "amount_fen": int64(500),
		"reason": "部分退款", "by": "fin.zhao", "state": ref.State, "created_at": accepted,
	}); err != nil {
		t.Fatal(err)
	}

	actions := &reconE2EActions{}
	r, err := payments.NewReconciler(payments.ReconcilerDeps{DB: db, Clock: clock, Log: platformtest.Logger(),
		Providers: map[string]payments.Provider{payments.ProviderWeChatPay: p}, Actions: actions})
	if err != nil {
		t.Fatal(err)
	}
	// The bill of the 15th is there from 10:00 on the 16th.
	clock.Set(time.Date(2026, 3, 16, 3, 0, 0, 0, time.UTC))
	rec, err := r.Run(ctx, "2026-03-15", payments.ProviderWeChatPay)
	if err != nil {
		t.Fatal(err)
	}
	s := rec.Summary
	if s.Matched != 3 || s.AmountMismatch != 1 || s.MissingAtChannel != 1 || s.ChannelOnly != 1 || s.StatusMismatch != 0 || s.RefundMismatch != 0 {
		t.Fatalf("summary %+v", s)
	}
	if !s.TotalsAgree || s.ChannelTrades != 5 || s.ChannelPaidFen != 1000+2500+3000+4200 || s.ChannelRefundedFen != 500 ||
		s.BanshiPaidFen != 1000+2500+2900+800 || s.BanshiRefundedFen != 500 || s.ChannelFeeMilliFen == 0 {
		t.Fatalf("totals %+v", s)
	}
	got, err := r.Get(ctx, "2026-03-15", payments.ProviderWeChatPay)
	if err != nil {
		t.Fatal(err)
	}
	var only payments.ReconItem
	for _, it := range got.Items {
		if it.Kind == payments.ReconChannelOnly {
			only = it
		}
	}
	if only.OrderNo != "E2E0005" || only.ChannelTradeNo != o5.ChannelTradeNo || only.ChannelAmountFen != 4200 {
		t.Fatalf("channel-only item %+v", only)
	}
	if _, err := r.Resolve(ctx, "fin.zhao", "2026-03-15", payments.ProviderWeChatPay, only.ID, payments.ReconRefund, "退回长款"); err != nil {
		t.Fatal(err)
	}
	if len(actions.calls) != 1 || actions.calls[0] != "refund wechatpay E2E0005 "+o5.ChannelTradeNo+" "+time.Duration(4200).String() {
		t.Fatalf("actions %v", actions.calls)
	}

	// Before 10:00 the next day the bill is not ready: the run fails and says so.
	clock.Set(time.Date(2026, 3, 16, 1, 0, 0, 0, time.UTC)) // 09:00
	if _, err := r.Run(ctx, "2026-03-16", payments.ProviderWeChatPay); platform.CodeOf(err) != "reconciliation_bill_unusable" {
		t.Fatalf("today before the bill exists: %v", err)
	}
}
