package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/staff"
	"banshi/payments"
)

// fakeFinance is one order (refundable 5.00 yuan) and one reconciliation
// with one discrepancy; it records what it was asked.
type fakeFinance struct {
	mu         sync.Mutex
	calls      int
	refundErr  error
	refunds    []payments.RefundRequestBody
	actors     []string
	resolved   []string // "actor|date|channel|id|action|note"
	searches   []payments.OrderSearch
	runs       int
	refundable int64
}

var (
	_ FinanceOrders   = (*fakeFinance)(nil)
	_ Reconciliations = (*fakeFinance)(nil)
)

const fxOrder = "PO2026112300000001"

var fxCreated = time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC) // 09:02:03 in Shanghai

func (f *fakeFinance) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeFinance) SearchOrders(_ context.Context, q payments.OrderSearch) ([]payments.OrderRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.searches = append(f.searches, q)
	return []payments.OrderRow{{OrderNo: fxOrder, BillNo: "B1", Channel: "wechat_jsapi", Provider: payments.ProviderWeChatPay,
		AmountFen: 12345, Status: payments.OrderPaid, CreatedAt: fxCreated}}, nil
}

func (f *fakeFinance) FinanceOrder(_ context.Context, orderNo string) (payments.FinanceOrderView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if orderNo != fxOrder {
		return payments.FinanceOrderView{}, payments.ErrOrderNotFound
	}
	return payments.FinanceOrderView{
		OrderView: payments.OrderView{OrderNo: fxOrder, BillNo: "B1", Channel: "wechat_jsapi", Status: payments.OrderPaid,
			AmountFen: 500, CreatedAt: fxCreated},
		Provider: payments.ProviderWeChatPay, PaidFen: 500, RefundableFen: f.refundable, Refunds: []payments.RefundView{},
	}, nil
}

func (f *fakeFinance) Refund(_ context.Context, actor, orderNo string, r payments.RefundRequestBody) (payments.RefundView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.refunds = append(f.refunds, r)
	f.actors = append(f.actors, actor)
	if f.refundErr != nil {
		return payments.RefundView{}, f.refundErr
	}
	return payments.RefundView{RefundNo: "RF1", OrderNo: orderNo, AmountFen: r.AmountFen, State: payments.RefundRequested}, nil
}

var fxRecon = payments.Reconciliation{Date: "2026-11-22", Channel: payments.ProviderWeChatPay, Status: payments.ReconDone, Runs: 1,
	Summary: payments.ReconSummary{Matched: 7, AmountMismatch: 1},
	Items: []payments.ReconItem{{ID: "ri1", Kind: payments.ReconAmountMismatch, OrderNo: fxOrder, ChannelTradeNo: "4200001",
		AmountFen: 500, ChannelAmountFen: 450, Detail: "渠道金额少 0.50 元"}}}

func (f *fakeFinance) Run(_ context.Context, date, channel string) (payments.Reconciliation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.runs++
	return fxRecon, nil
}

func (f *fakeFinance) Get(_ context.Context, date, channel string) (payments.Reconciliation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if date == "bad" {
		return payments.Reconciliation{}, platform.Invalid("date", "format", "日期格式应为 YYYY-MM-DD")
	}
	if date != fxRecon.Date || channel != fxRecon.Channel {
		return payments.Reconciliation{}, payments.ErrReconNotFound
	}
	return fxRecon, nil
}

func (f *fakeFinance) WriteCSV(_ context.Context, w io.Writer, date, channel string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	_, err := io.WriteString(w, "id,kind\nri1,amount_mismatch\n")
	return err
}

func (f *fakeFinance) Resolve(_ context.Context, actor, date, channel, itemID, action, note string) (payments.ReconItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.resolved = append(f.resolved, strings.Join([]string{actor, date, channel, itemID, action, note}, "|"))
	return fxRecon.Items[0], nil
}

func newFinanceFixture(t *testing.T) (*fixture, *fakeFinance) {
	t.Helper()
	f := newFixture(t, false)
	fin := &fakeFinance{refundable: 500}
	c, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Finance: &Finance{Orders: fin, Recon: fin},
		Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	f.c, f.h = c, c.Handler()
	return f, fin
}

func (f *fixture) refundForm(tok, amount, reason string) url.Values {
	return url.Values{"csrf": {f.c.csrfFor(tok)}, "amount": {amount}, "reason": {reason}, "expected_refundable_fen": {"500"}}
}

func TestFinanceNotForHallStaff(t *testing.T) {
	f, fin := newFinanceFixture(t)
	for _, tc := range []struct{ method, target string }{
		{http.MethodGet, "/console/finance/orders"},
		{http.MethodGet, "/console/finance/orders/" + fxOrder},
		{http.MethodPost, "/console/finance/orders/" + fxOrder + "/refunds"},
		{http.MethodGet, "/console/finance/reconciliations?date=2026-11-22&channel=wechatpay"},
		{http.MethodGet, "/console/finance/reconciliations.csv?date=2026-11-22&channel=wechatpay"},
		{http.MethodPost, "/console/finance/reconciliations"},
		{http.MethodPost, "/console/finance/reconciliations/items/ri1/resolve"},
	} {
		var form url.Values
		if tc.method == http.MethodPost {
			form = url.Values{"csrf": {f.c.csrfFor(tokStaff)}, "amount": {"1"}, "reason": {"x"}, "expected_refundable_fen": {"500"},
				"date": {"2026-11-22"}, "channel": {"wechatpay"}, "action": {"explained"}, "note": {"n"}}
		}
		rec := f.do(tc.method, tc.target, tokStaff, form)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "仅财务人员和管理员") {
			t.Errorf("%s %s: %d %s", tc.method, tc.target, rec.Code, rec.Body.String())
		}
	}
	if fin.count() != 0 {
		t.Fatalf("called %d", fin.count())
	}
	// Each refusal is audited, as the API audits a wrong role.
	var got []string
	for _, e := range f.auth.audited() {
		got = append(got, e.Action+" "+e.Target+" "+e.Outcome)
	}
	want := "payments.order.search  forbidden,payments.order.read " + fxOrder + " forbidden,payments.refund " + fxOrder +
		" forbidden,reconciliation.get  forbidden,reconciliation.get  forbidden,reconciliation.run  forbidden,reconciliation.resolve ri1 forbidden"
	if strings.Join(got, ",") != want {
		t.Fatalf("audit %v", got)
	}
	// Without Deps.Finance there are no finance pages.
	g := newFixture(t, false)
	if rec := g.do(http.MethodGet, "/console/finance/orders", tokFinance, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("no finance: %d", rec.Code)
	}
}

func TestFinanceOrdersSearch(t *testing.T) {
	f, fin := newFinanceFixture(t)
	rec := f.do(http.MethodGet, "/console/finance/orders?bill_no=B1&status=paid&channel=wechatpay&from=2026-11-01&to=2026-11-23", tokFinance, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, want := range []string{">123.45<", "2026-11-23 09:02:03", `href="/console/finance/orders/` + fxOrder + `"`, "已支付",
		`<label for="bill_no">`, `<label for="from">`, `<label for="to">`, `<label for="channel">`, `<label for="status">`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if q := fin.searches[0]; q != (payments.OrderSearch{BillNo: "B1", Status: "paid", Channel: "wechatpay", From: "2026-11-01", To: "2026-11-23"}) {
		t.Fatalf("query %+v", q)
	}
	if e := f.auth.audited(); len(e) != 1 || e[0].Action != actionOrderSearch || e[0].Actor != "cw" {
		t.Fatalf("audit %+v", e)
	}
}

func TestFinanceOrderPage(t *testing.T) {
	f, fin := newFinanceFixture(t)
	rec := f.do(http.MethodGet, "/console/finance/orders/"+fxOrder, tokAdmin, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, want := range []string{`name="expected_refundable_fen" value="500"`, `<label for="amount">`, `<label for="reason">`,
		`id="refundable">5.00<`, `name="csrf" value="` + f.c.csrfFor(tokAdmin) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if e := f.auth.audited(); len(e) != 1 || e[0].Action != actionOrderRead || e[0].Target != fxOrder {
		t.Fatalf("audit %+v", e)
	}
	fin.refundable = 0
	if rec := f.do(http.MethodGet, "/console/finance/orders/"+fxOrder, tokAdmin, nil); rec.Code != http.StatusOK ||
		strings.Contains(rec.Body.String(), `id="refund-form"`) || !strings.Contains(rec.Body.String(), "没有可退金额") {
		t.Fatalf("nothing refundable: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.do(http.MethodGet, "/console/finance/orders/PO-nope", tokAdmin, nil); rec.Code != http.StatusNotFound ||
		!strings.Contains(rec.Body.String(), "未找到该订单") {
		t.Fatalf("unknown order: %d", rec.Code)
	}
}

func TestFinanceRefundWithoutCSRF(t *testing.T) {
	f, fin := newFinanceFixture(t)
	for _, csrf := range []string{"", "deadbeef"} {
		form := f.refundForm(tokFinance, "1.00", "重复缴费")
		form.Set("csrf", csrf)
		rec := f.do(http.MethodPost, "/console/finance/orders/"+fxOrder+"/refunds", tokFinance, form)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), msgCSRF) {
			t.Fatalf("%q: %d %s", csrf, rec.Code, rec.Body.String())
		}
	}
	if fin.count() != 0 || len(f.auth.audited()) != 0 {
		t.Fatalf("called %d, audited %v", fin.count(), f.auth.audited())
	}
}

func TestFinanceRefundAmountFormat(t *testing.T) {
	for _, amount := range []string{"1.234", "abc", "1.", "-1", "0", "0.00", "1e2", "１"} {
		t.Run(amount, func(t *testing.T) {
			f, fin := newFinanceFixture(t)
			rec := f.do(http.MethodPost, "/console/finance/orders/"+fxOrder+"/refunds", tokFinance, f.refundForm(tokFinance, amount, "重复缴费"))
			body := rec.Body.String()
			if rec.Code != http.StatusBadRequest || !strings.Contains(body, `id="amount-error"`) ||
				!strings.Contains(body, `value="`+amount+`"`) || !strings.Contains(body, `value="重复缴费"`) {
				t.Fatalf("%d %s", rec.Code, body)
			}
			fin.mu.Lock()
			defer fin.mu.Unlock()
			if len(fin.refunds) != 0 {
				t.Fatalf("refund asked: %+v", fin.refunds)
			}
			if e := f.auth.audited(); len(e) != 2 || e[0].Action != actionRefund || e[0].Outcome != "invalid_argument" || e[1].Action != actionOrderRead {
				t.Fatalf("audit %+v", e)
			}
		})
	}
}

func TestFinanceRefundRefused(t *testing.T) {
	f, fin := newFinanceFixture(t)
	fin.refundErr = payments.ErrRefundableChanged
	rec := f.do(http.MethodPost, "/console/finance/orders/"+fxOrder+"/refunds", tokFinance, f.refundForm(tokFinance, "2.50", "多缴"))
	body := rec.Body.String()
	if rec.Code != http.StatusConflict {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, want := range []string{`<span class="error" id="amount-error" role="alert">可退金额已变化，请刷新后再试</span>`,
		`aria-describedby="amount-error"`, `value="2.50"`, `value="多缴"`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in %s", want, body)
		}
	}
	var refund staff.Entry
	for _, e := range f.auth.audited() {
		if e.Action == actionRefund {
			refund = e
		}
	}
	if refund.Outcome != "refundable_changed" || refund.Target != fxOrder {
		t.Fatalf("audit %+v", f.auth.audited())
	}
}

func TestFinanceRefund(t *testing.T) {
	f, fin := newFinanceFixture(t)
	rec := f.do(http.MethodPost, "/console/finance/orders/"+fxOrder+"/refunds", tokFinance, f.refundForm(tokFinance, "1.23", " 重复缴费 "))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, "/console/finance/orders/"+fxOrder+"?notice=") || !strings.Contains(loc, url.QueryEscape("1.23")) {
		t.Fatalf("location %q", loc)
	}
	fin.mu.Lock()
	r, actor := fin.refunds[0], fin.actors[0]
	fin.mu.Unlock()
	if r.AmountFen != 123 || r.Reason != "重复缴费" || r.ExpectedRefundableFen == nil || *r.ExpectedRefundableFen != 500 || actor != "cw" {
		t.Fatalf("refund %+v by %q", r, actor)
	}
	if e := f.auth.audited(); len(e) != 1 || e[0].Action != actionRefund || e[0].Outcome != "ok" || e[0].Target != fxOrder {
		t.Fatalf("audit %+v", e)
	}
	for in, want := range map[string]int64{"1": 100, "1.2": 120, "0.01": 1, "100.05": 10005} {
		if got, err := parseYuan(in); err != nil || got != want {
			t.Errorf("parseYuan(%q) = %d, %v", in, got, err)
		}
	}
	for fen, want := range map[int64]string{12345: "123.45", 5: "0.05", 100: "1.00", 0: "0.00", -150: "-1.50"} {
		if got := yuan(fen); got != want {
			t.Errorf("yuan(%d) = %q", fen, got)
		}
	}
}

func TestFinanceReconciliationPage(t *testing.T) {
	f, _ := newFinanceFixture(t)
	rec := f.do(http.MethodGet, "/console/finance/reconciliations?date=2026-11-22&channel=wechatpay", tokFinance, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, want := range []string{"金额不符", "渠道金额少 0.50 元", ">5.00<", ">4.50<", `action="/console/finance/reconciliations/items/ri1/resolve"`,
		`<label for="action-ri1">`, `<label for="note-ri1">`, `<label for="run-date">`, `<label for="date">`,
		`href="/console/finance/reconciliations.csv?channel=wechatpay&amp;date=2026-11-22"`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if e := f.auth.audited(); len(e) != 1 || e[0].Action != actionReconGet || e[0].Target != "2026-11-22|wechatpay" {
		t.Fatalf("audit %+v", e)
	}
	rec = f.do(http.MethodGet, "/console/finance/reconciliations?date=2026-11-21&channel=wechatpay", tokFinance, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "尚未对账") || strings.Contains(rec.Body.String(), ".csv?") {
		t.Fatalf("not run: %d", rec.Code)
	}
	rec = f.do(http.MethodGet, "/console/finance/reconciliations?date=bad&channel=wechatpay", tokFinance, nil)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "日期格式应为") || !strings.Contains(rec.Body.String(), `value="bad"`) {
		t.Fatalf("bad date: %d", rec.Code)
	}
	rec = f.do(http.MethodGet, "/console/finance/reconciliations.csv?date=2026-11-22&channel=wechatpay", tokFinance, nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || !strings.Contains(rec.Body.String(), "ri1") {
		t.Fatalf("csv: %d %s", rec.Code, rec.Body.String())
	}
}

func TestFinanceReconciliationRunAndResolve(t *testing.T) {
	f, fin := newFinanceFixture(t)
	rec := f.do(http.MethodPost, "/console/finance/reconciliations", tokFinance,
		url.Values{"csrf": {f.c.csrfFor(tokFinance)}, "date": {"2026-11-22"}, "channel": {"wechatpay"}})
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "date=2026-11-22") || fin.runs != 1 {
		t.Fatalf("run: %d %q runs %d", rec.Code, rec.Header().Get("Location"), fin.runs)
	}
	rec = f.do(http.MethodPost, "/console/finance/reconciliations/items/ri1/resolve", tokFinance,
		url.Values{"csrf": {f.c.csrfFor(tokFinance)}, "date": {"2026-11-22"}, "channel": {"wechatpay"},
			"action": {payments.ReconExplained}, "note": {"渠道手续费"}})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/console/finance/reconciliations?") {
		t.Fatalf("resolve: %d %s", rec.Code, rec.Body.String())
	}
	fin.mu.Lock()
	got := fin.resolved
	fin.mu.Unlock()
	if len(got) != 1 || got[0] != "cw|2026-11-22|wechatpay|ri1|explained|渠道手续费" {
		t.Fatalf("resolved %v", got)
	}
	var actions []string
	for _, e := range f.auth.audited() {
		actions = append(actions, e.Action+" "+e.Target)
	}
	if strings.Join(actions, ",") != "reconciliation.run 2026-11-22|wechatpay,reconciliation.resolve 2026-11-22|wechatpay|ri1" {
		t.Fatalf("audit %v", actions)
	}
	// A note is required; nothing is asked without it and the page says so by the item.
	rec = f.do(http.MethodPost, "/console/finance/reconciliations/items/ri1/resolve", tokFinance,
		url.Values{"csrf": {f.c.csrfFor(tokFinance)}, "date": {"2026-11-22"}, "channel": {"wechatpay"}, "action": {payments.ReconExplained}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `id="item-error-ri1"`) || len(fin.resolved) != 1 {
		t.Fatalf("no note: %d", rec.Code)
	}
}
