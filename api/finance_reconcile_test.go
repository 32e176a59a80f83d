package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/crypto/bcrypt"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
	"banshi/payments"
)

// reconTestBill is a bill of fixed rows.
type reconTestBill struct {
	rows []payments.BillRow
	i    int
}

func (b *reconTestBill) Next() (payments.BillRow, error) {
	if b.i == len(b.rows) {
		return payments.BillRow{}, io.EOF
	}
	b.i++
	return b.rows[b.i-1], nil
}

func (b *reconTestBill) Totals() payments.BillTotals {
	var t payments.BillTotals
	for _, r := range b.rows {
		t.Trades++
		t.PaidFen += r.AmountFen
	}
	return t
}

func (b *reconTestBill) Close() error { return nil }

// reconTestProvider serves one bill of payments; nothing else is called.
type reconTestProvider struct {
	payments.Provider
	rows []payments.BillRow
}

func (p reconTestProvider) Name() string { return payments.ProviderWeChatPay }
func (p reconTestProvider) TradeBill(context.Context, string) (payments.BillReader, error) {
	return &reconTestBill{rows: p.rows}, nil
}

// reconTestActions records resolutions' actions.
type reconTestActions struct {
	mu    sync.Mutex
	calls []string
}

var _ payments.ReconActions = (*reconTestActions)(nil)

func (a *reconTestActions) TakeChannel(_ context.Context, provider, orderNo string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "take "+orderNo)
	return nil
}

func (a *reconTestActions) RefundChannelOnly(_ context.Context, _, orderNo, _ string, _ int64, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, "refund "+orderNo)
	return nil
}

type reconAPIFixture struct {
	db      *mongo.Database
	svc     *staff.Service
	srv     *Server
	actions *reconTestActions
	tokens  map[string]string
}

func newReconAPIFixture(t *testing.T) *reconAPIFixture {
	t.Helper()
	ctx := context.Background()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	svc, err := staff.NewService(staff.Deps{DB: db, Redis: rdb, RedisPrefix: prefix, Clock: platform.SystemClock{},
		Log: platformtest.Logger(), SessionSecret: []byte("session-secret-0123456789"), BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SeedDemo(ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	f := &reconAPIFixture{db: db, svc: svc, actions: &reconTestActions{}, tokens: map[string]string{}}
	for _, u := range []string{staff.DemoFinance, staff.DemoAdmin, staff.DemoStaff} {
		sess, err := svc.Login(ctx, u, staff.DemoPassword, "203.0.113.1")
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u] = sess.Token
	}
	// Banshi paid O1 on the 15th; the bill also has X1, which Banshi lacks.
	paidAt := time.Date(2026, 3, 15, 4, 0, 0, 0, time.UTC)
	if _, err := db.Collection(payments.CollOrders).InsertOne(ctx, bson.M{"_id": "O1", "provider": payments.ProviderWeChatPay,
		"state": payments.OrderHandled, "amount_fen": int64(1000), "paid_fen": int64(1000), "paid_at": paidAt, "paid_date": "2026-03-15"}); err != nil {
		t.Fatal(err)
	}
	rows := []payments.BillRow{
		{Kind: payments.BillPayment, OrderNo: "O1", ChannelTradeNo: "T1", Status: "SUCCESS", AmountFen: 1000, TradeTime: paidAt},
		{Kind: payments.BillPayment, OrderNo: "X1", ChannelTradeNo: "TX1", Status: "SUCCESS", AmountFen: 4200, TradeTime: paidAt},
	}
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 3, 0, 0, 0, time.UTC)) // 11:00 in Shanghai
	rc, err := payments.NewReconciler(payments.ReconcilerDeps{DB: db, Clock: clock, Log: platformtest.Logger(),
		Providers: map[string]payments.Provider{payments.ProviderWeChatPay: reconTestProvider{rows: rows}}, Actions: f.actions})
	if err != nil {
		t.Fatal(err)
	}
	staffRoutes := StaffRoutes{Auth: svc, Desk: fakeDesk{}}
	f.srv = New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakePinger{}, RedisPing: fakePinger{},
		Features: []Feature{staffRoutes, ReconcileRoutes{Staff: staffRoutes, Recon: rc}}})
	return f
}

func (f *reconAPIFixture) do(t *testing.T, user, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func (f *reconAPIFixture) count(t *testing.T, coll string) int64 {
	t.Helper()
	n, err := f.db.Collection(coll).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func reconCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return e.Error.Code + "/" + e.Error.Field
}

// TestReconcileRoutes: finance and admins run, read (JSON and CSV) and
// resolve; bad input answers 4xx and changes nothing; hall staff get 403,
// strangers 401; every call is audited.
func TestReconcileRoutes(t *testing.T) {
	f := newReconAPIFixture(t)
	const base = "/api/v1/finance/reconciliations"

	// Refused runs record nothing.
	for _, tc := range []struct {
		user, body string
		status     int
		code       string
	}{
		{"", `{"date":"2026-03-15","channel":"wechatpay"}`, 401, "unauthenticated/"},
		{staff.DemoStaff, `{"date":"2026-03-15","channel":"wechatpay"}`, 403, "forbidden/"},
		{staff.DemoFinance, `{"date":"2026-03-17","channel":"wechatpay"}`, 400, "invalid_argument/date"},
		{staff.DemoFinance, `{"date":"15.03.2026","channel":"wechatpay"}`, 400, "invalid_argument/date"},
		{staff.DemoFinance, `{"date":"2026-03-15","channel":"paypal"}`, 400, "invalid_argument/channel"},
		{staff.DemoFinance, `{"date":"2026-03-15","channel":"alipay"}`, 400, "invalid_argument/channel"}, // not configured
		{staff.DemoFinance, `{"date":"2026-03-15"}`, 400, "invalid_argument/channel"},
		{staff.DemoFinance, `{"date":"2026-03-15","channel":"wechatpay","force":true}`, 400, "invalid_argument/"},
		{staff.DemoFinance, `[1]`, 400, "invalid_argument/"},
	} {
		rec := f.do(t, tc.user, "POST", base, tc.body)
		if rec.Code != tc.status || !strings.HasPrefix(reconCode(t, rec), tc.code) {
			t.Errorf("POST %s as %q: %d %s", tc.body, tc.user, rec.Code, rec.Body)
		}
	}
	if f.count(t, payments.CollReconciliations) != 0 || f.count(t, payments.CollReconciliationItem) != 0 {
		t.Fatal("a refused run recorded something")
	}

	rec := f.do(t, staff.DemoFinance, "POST", base, `{"date":"2026-03-15","channel":"wechatpay"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("first run: %d %s", rec.Code, rec.Body)
	}
	var got payments.Reconciliation
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != payments.ReconDone || got.Summary.Matched != 1 || got.Summary.ChannelOnly != 1 || len(got.Items) != 1 ||
		got.Items[0].Kind != payments.ReconChannelOnly || got.Items[0].OrderNo != "X1" || got.Items[0].ChannelAmountFen != 4200 {
		t.Fatalf("first run: %s", rec.Body)
	}
	for _, key := range []string{`"summary":{"matched":1,"channel_only":1,"missing_at_channel":0,"amount_mismatch":0,"status_mismatch":0,"refund_mismatch":0`,
		`"channel_trade_no":"TX1","amount_fen":0,"channel_amount_fen":4200`, `"resolution":null`, `+08:00"`} {
		if !strings.Contains(rec.Body.String(), key) {
			t.Errorf("answer lacks %s: %s", key, rec.Body)
		}
	}
	item := got.Items[0].ID
	if rec := f.do(t, staff.DemoAdmin, "POST", base, `{"date":"2026-03-15","channel":"wechatpay"}`); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"runs":2`) {
		t.Fatalf("re-run: %d %s", rec.Code, rec.Body)
	}

	// Reading.
	day := base + "/2026-03-15"
	if rec := f.do(t, staff.DemoFinance, "GET", day+"?channel=wechatpay", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), item) {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(t, staff.DemoFinance, "GET", day+"?channel=wechatpay&format=csv", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(rec.Body.String(), "\ufeff差错编号") || !strings.Contains(rec.Body.String(), item) ||
		!strings.Contains(rec.Header().Get("Content-Disposition"), "reconciliation-2026-03-15-wechatpay.csv") {
		t.Fatalf("csv: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{day, 400, "invalid_argument/channel"},
		{day + "?channel=wechatpay&format=xml", 400, "invalid_argument/format"},
		{base + "/2026-3-15?channel=wechatpay", 400, "invalid_argument/date"},
		{base + "/2026-03-14?channel=wechatpay", 404, "reconciliation_not_found/"},
		{base + "/2026-03-14?channel=wechatpay&format=csv", 404, "reconciliation_not_found/"},
	} {
		if rec := f.do(t, staff.DemoFinance, "GET", tc.path, ""); rec.Code != tc.status || reconCode(t, rec) != tc.code {
			t.Errorf("GET %s: %d %s", tc.path, rec.Code, rec.Body)
		}
	}
	if rec := f.do(t, staff.DemoStaff, "GET", day+"?channel=wechatpay", ""); rec.Code != 403 {
		t.Errorf("hall staff read: %d", rec.Code)
	}

	// Resolving: refusals change nothing.
	resolve := day + "/items/" + item + "/resolve"
	before := f.do(t, staff.DemoFinance, "GET", day+"?channel=wechatpay", "").Body.String()
	for _, tc := range []struct {
		user, path, body string
		status           int
		code             string
	}{
		{staff.DemoStaff, resolve, `{"action":"refund","note":"x"}`, 403, "forbidden/"},
		{staff.DemoFinance, resolve, `{"action":"refund"}`, 400, "invalid_argument/note"},
		{staff.DemoFinance, resolve, `{"action":"refund","note":"` + strings.Repeat("长", 501) + `"}`, 400, "invalid_argument/note"},
		{staff.DemoFinance, resolve, `{"action":"ignore","note":"x"}`, 400, "invalid_argument/action"},
		{staff.DemoFinance, resolve, `{"action":"refund","note":"x","amount_fen":1}`, 400, "invalid_argument/amount_fen"},
		{staff.DemoFinance, resolve, `{"action":"take_channel","note":"x"}`, 422, "reconciliation_action_not_allowed/"},
		{staff.DemoFinance, day + "/items/nope/resolve", `{"action":"explained","note":"x"}`, 404, "reconciliation_item_not_found/"},
		{staff.DemoFinance, base + "/2026-03-14/items/" + item + "/resolve", `{"action":"explained","note":"x"}`, 404, "reconciliation_item_not_found/"},
		{staff.DemoFinance, resolve + "?channel=alipay", `{"action":"explained","note":"x"}`, 404, "reconciliation_item_not_found/"},
	} {
		if rec := f.do(t, tc.user, "POST", tc.path, tc.body); rec.Code != tc.status || reconCode(t, rec) != tc.code {
			t.Errorf("resolve %s %s: %d %s", tc.path, tc.body, rec.Code, rec.Body)
		}
	}
	if after := f.do(t, staff.DemoFinance, "GET", day+"?channel=wechatpay", "").Body.String(); after != before || len(f.actions.calls) != 0 {
		t.Fatalf("a refused resolution changed something:\n%s\n%s\n%v", before, after, f.actions.calls)
	}
	rec = f.do(t, staff.DemoFinance, "POST", resolve, `{"action":"refund","note":"渠道重复扣款，原路退回"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"by":"demo-finance"`) || !strings.Contains(rec.Body.String(), `"done":true`) {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, staff.DemoAdmin, "POST", resolve, `{"action":"explained","note":"again"}`); rec.Code != 409 || reconCode(t, rec) != "reconciliation_item_resolved/" {
		t.Fatalf("resolve again: %d %s", rec.Code, rec.Body)
	}
	if len(f.actions.calls) != 1 || f.actions.calls[0] != "refund X1" {
		t.Fatalf("actions %v", f.actions.calls)
	}

	// Audited, with the day, channel and item as target.
	deadline := time.Now().Add(3 * time.Second)
	for {
		runs, _ := f.svc.ListAudit(context.Background(), staff.AuditQuery{Action: "reconciliation.run"})
		res, _ := f.svc.ListAudit(context.Background(), staff.AuditQuery{Action: "reconciliation.resolve"})
		okRun, okRes := false, false
		for _, e := range runs {
			okRun = okRun || (e.Actor == staff.DemoFinance && e.Target == "2026-03-15|wechatpay" && e.Outcome == "ok")
		}
		for _, e := range res {
			okRes = okRes || (e.Target == "2026-03-15||"+item && e.Outcome == "ok")
		}
		if okRun && okRes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit: %+v %+v", runs, res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
