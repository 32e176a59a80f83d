package payments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
)

// reconWant is an expected discrepancy.
type reconWant struct {
	kind, order, refund string
	amount, channel     int64
}

func (w reconWant) String() string {
	return fmt.Sprintf("%s %s/%s %d≠%d", w.kind, w.order, w.refund, w.amount, w.channel)
}

// TestReconMatching runs one reconciliation per case on a fake bill against
// orders and refunds in the embedded database, and checks the counts and
// the discrepancy items exactly.
func TestReconMatching(t *testing.T) {
	noon := reconDayStart.Add(12 * time.Hour)
	cases := []struct {
		name    string
		banshi  func(f *reconFixture)
		rows    []BillRow
		matched int64
		want    []reconWant
	}{
		{
			name: "all agree",
			banshi: func(f *reconFixture) {
				f.paid("O1", ProviderWeChatPay, 1000)
				f.paid("O2", ProviderWeChatPay, 2500)
				f.refund("R1", "O2", ProviderWeChatPay, RefundSucceeded, 500, noon.Add(time.Hour))
				f.paid("A1", ProviderAlipay, 700)                                                     // another channel: not in this bill
				f.order("O3", ProviderWeChatPay, OrderClosed, 900, time.Time{}, "")                   // never paid
				f.refund("R9", "O1", ProviderWeChatPay, RefundFailed, 100, noon)                      // failed, not in the bill: fine
				f.refund("R8", "O1", ProviderWeChatPay, RefundSucceeded, 100, noon.AddDate(0, 0, -1)) // another day
			},
			rows:    []BillRow{reconPay("O1", 1000), reconPay("O2", 2500), reconRef("O2", "R1", 500, "SUCCESS")},
			matched: 3,
		},
		{
			name:   "channel only (长款)",
			banshi: func(f *reconFixture) { f.paid("O1", ProviderWeChatPay, 1000) },
			rows:   []BillRow{reconPay("O1", 1000), reconPay("X9", 4200)},
			want:   []reconWant{{ReconChannelOnly, "X9", "", 0, 4200}}, matched: 1,
		},
		{
			name: "missing at channel (短款)",
			banshi: func(f *reconFixture) {
				f.paid("O1", ProviderWeChatPay, 1000)
				f.paid("O2", ProviderWeChatPay, 3000)
			},
			rows: []BillRow{reconPay("O1", 1000)},
			want: []reconWant{{ReconMissingAtChannel, "O2", "", 3000, 0}}, matched: 1,
		},
		{
			name:   "amount mismatch",
			banshi: func(f *reconFixture) { f.paid("O1", ProviderWeChatPay, 1000) },
			rows:   []BillRow{reconPay("O1", 1100)},
			want:   []reconWant{{ReconAmountMismatch, "O1", "", 1000, 1100}},
		},
		{
			name: "status mismatch: closed in Banshi, paid at the channel",
			banshi: func(f *reconFixture) {
				f.order("O1", ProviderWeChatPay, OrderClosed, 1000, time.Time{}, "")
			},
			rows: []BillRow{reconPay("O1", 1000)},
			want: []reconWant{{ReconStatusMismatch, "O1", "", 1000, 1000}},
		},
		{
			name: "status mismatch: paid on another day, and of another channel",
			banshi: func(f *reconFixture) {
				f.order("O1", ProviderWeChatPay, OrderPaid, 1000, noon.AddDate(0, 0, -1), "TO1")
				f.paid("O2", ProviderAlipay, 500)
			},
			rows: []BillRow{reconPay("O1", 1000), reconPay("O2", 500)},
			want: []reconWant{{ReconStatusMismatch, "O1", "", 1000, 1000}, {ReconStatusMismatch, "O2", "", 500, 500}},
		},
		{
			name:   "status mismatch: the bill says revoked, Banshi paid",
			banshi: func(f *reconFixture) { f.paid("O1", ProviderWeChatPay, 1000) },
			rows:   []BillRow{func() BillRow { r := reconPay("O1", 1000); r.Status = "REVOKED"; return r }()},
			want:   []reconWant{{ReconStatusMismatch, "O1", "", 1000, 0}},
		},
		{
			name:   "a second success of one order is money only the channel has",
			banshi: func(f *reconFixture) { f.paid("O1", ProviderWeChatPay, 1000) },
			rows:   []BillRow{reconPay("O1", 1000), func() BillRow { r := reconPay("O1", 1000); r.ChannelTradeNo = "T2"; return r }()},
			want:   []reconWant{{ReconChannelOnly, "O1", "", 0, 1000}}, matched: 1,
		},
		{
			name: "refunds out of step",
			banshi: func(f *reconFixture) {
				for _, o := range []string{"O1", "O2", "O3", "O4", "O5"} {
					f.order(o, ProviderWeChatPay, OrderRefunded, 1000, noon.AddDate(0, 0, -2), "T"+o)
				}
				f.refund("R2", "O2", ProviderWeChatPay, RefundSucceeded, 1000, noon) // not in the bill
				f.refund("R3", "O3", ProviderWeChatPay, RefundSucceeded, 1000, noon) // other amount in the bill
				f.refund("R4", "O4", ProviderWeChatPay, RefundFailed, 1000, noon)    // the bill says SUCCESS
				f.refund("R5", "O5", ProviderWeChatPay, RefundSucceeded, 1000, noon) // the bill says CLOSED
				f.refund("R6", "O5", ProviderWeChatPay, RefundProcessing, 300, noon) // agrees (snapshot)
			},
			rows: []BillRow{
				reconRef("O1", "R1", 1000, "SUCCESS"), // Banshi has no such refund
				reconRef("O3", "R3", 900, "SUCCESS"),
				reconRef("O4", "R4", 1000, "SUCCESS"),
				reconRef("O5", "R5", 1000, "CLOSED"),
				reconRef("O5", "R6", 300, "PROCESSING"),
			},
			want: []reconWant{
				{ReconRefundMismatch, "O1", "R1", 0, 1000},
				{ReconRefundMismatch, "O2", "R2", 1000, 0},
				{ReconRefundMismatch, "O3", "R3", 1000, 900},
				{ReconRefundMismatch, "O4", "R4", 1000, 1000},
				{ReconRefundMismatch, "O5", "R5", 1000, 1000},
			},
			matched: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newReconFixture(t)
			if tc.banshi != nil {
				tc.banshi(f)
			}
			f.wx.serve(tc.rows...)
			rec := f.run(ProviderWeChatPay)
			if rec.Status != ReconDone || rec.Runs != 1 || rec.Date != reconDate || rec.Channel != ProviderWeChatPay {
				t.Fatalf("reconciliation %+v", rec)
			}
			if rec.Summary.Matched != tc.matched {
				t.Errorf("matched %d, want %d", rec.Summary.Matched, tc.matched)
			}
			got := f.get(ProviderWeChatPay)
			var gotW []string
			counts := map[string]int64{}
			for _, it := range got.Items {
				if it.Gone || it.Resolution != nil || it.ID == "" || it.Detail == "" {
					t.Errorf("item %+v", it)
				}
				gotW = append(gotW, reconWant{it.Kind, it.OrderNo, it.RefundNo, it.AmountFen, it.ChannelAmountFen}.String())
				counts[it.Kind]++
			}
			var wantW []string
			for _, w := range tc.want {
				wantW = append(wantW, w.String())
			}
			sort.Strings(gotW)
			sort.Strings(wantW)
			if !reflect.DeepEqual(gotW, wantW) {
				t.Errorf("items\n got %v\nwant %v", gotW, wantW)
			}
			s := got.Summary
			if s.ChannelOnly != counts[ReconChannelOnly] || s.MissingAtChannel != counts[ReconMissingAtChannel] ||
				s.AmountMismatch != counts[ReconAmountMismatch] || s.StatusMismatch != counts[ReconStatusMismatch] ||
				s.RefundMismatch != counts[ReconRefundMismatch] {
				t.Errorf("summary %+v does not count the items %v", s, counts)
			}
			if !s.TotalsAgree || s.BillRows != int64(len(tc.rows)) {
				t.Errorf("totals: %+v", s)
			}
		})
	}
}

// TestReconSummaryTotals checks the three sides of the totals: the bill's
// totals row, the sums of its rows, and Banshi's day.
func TestReconSummaryTotals(t *testing.T) {
	f := newReconFixture(t)
	noon := reconDayStart.Add(12 * time.Hour)
	f.paid("O1", ProviderWeChatPay, 1000)
	f.paid("O2", ProviderWeChatPay, 2500)
	f.refund("R1", "O2", ProviderWeChatPay, RefundSucceeded, 500, noon)
	f.refund("R2", "O2", ProviderWeChatPay, RefundFailed, 200, noon)
	rows := []BillRow{reconPay("O1", 1000), reconPay("O2", 2500), reconRef("O2", "R1", 500, "SUCCESS")}
	// A totals row that disagrees with the rows is recorded, not hidden.
	f.wx.next = func() (*reconBill, error) {
		return &reconBill{rows: rows, totals: &BillTotals{Trades: 3, PaidFen: 3500, RefundedFen: 500, FeeMilliFen: 1}}, nil
	}
	s := f.run(ProviderWeChatPay).Summary
	want := ReconSummary{Matched: 3,
		ChannelTrades: 3, ChannelPaidFen: 3500, ChannelRefundedFen: 500, ChannelFeeMilliFen: 1,
		BillRows: 3, BillPaidFen: 3500, BillRefundedFen: 500, BillFeeMilliFen: 1000*6 + 2500*6 - 500*6,
		TotalsAgree:  false, // the fee total disagrees
		BanshiOrders: 2, BanshiPaidFen: 3500, BanshiRefunds: 1, BanshiRefundedFen: 500}
	if s != want {
		t.Fatalf("summary\n got %+v\nwant %+v", s, want)
	}
}

// TestReconRerunKeepsResolutions: a re-run of the same day keeps the
// resolutions of the items it finds again, marks those it no longer finds
// gone (kept, with their resolution), and adds new ones.
func TestReconRerunKeepsResolutions(t *testing.T) {
	f := newReconFixture(t)
	f.paid("O1", ProviderWeChatPay, 1000)
	f.paid("O2", ProviderWeChatPay, 2000)
	f.wx.serve(reconPay("O1", 1100), reconPay("X1", 300))
	rec := f.run(ProviderWeChatPay)
	if rec.Runs != 1 || rec.Summary.AmountMismatch != 1 || rec.Summary.ChannelOnly != 1 || rec.Summary.MissingAtChannel != 1 {
		t.Fatalf("first run %+v", rec.Summary)
	}
	got := f.get(ProviderWeChatPay)
	amount, _ := reconFind(got, ReconAmountMismatch, "O1", "")
	missing, _ := reconFind(got, ReconMissingAtChannel, "O2", "")
	if _, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, amount.ID, ReconExplained, "渠道优惠，已核实"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, missing.ID, ReconTakeChannel, "以渠道为准"); err != nil {
		t.Fatal(err)
	}

	// The channel's bill changed: O2 is there now; a new channel-only X2.
	f.clock.Advance(time.Hour)
	f.wx.serve(reconPay("O1", 1100), reconPay("X1", 300), reconPay("O2", 2000), reconPay("X2", 50))
	rec = f.run(ProviderWeChatPay)
	if rec.Runs != 2 || rec.Summary.AmountMismatch != 1 || rec.Summary.ChannelOnly != 2 || rec.Summary.MissingAtChannel != 0 || rec.Summary.Matched != 1 {
		t.Fatalf("second run %+v", rec.Summary)
	}
	got = f.get(ProviderWeChatPay)
	if len(got.Items) != 4 {
		t.Fatalf("items %+v", got.Items)
	}
	a2, _ := reconFind(got, ReconAmountMismatch, "O1", "")
	if a2.ID != amount.ID || a2.Gone || a2.Resolution == nil || a2.Resolution.Action != ReconExplained || a2.Resolution.Note != "渠道优惠，已核实" || a2.Resolution.By != "fin.zhao" {
		t.Fatalf("resolution not kept: %+v", a2)
	}
	m2, _ := reconFind(got, ReconMissingAtChannel, "O2", "")
	if m2.ID != missing.ID || !m2.Gone || m2.Resolution == nil || m2.Resolution.Action != ReconTakeChannel || !m2.Resolution.Done {
		t.Fatalf("the gone item: %+v", m2)
	}
	if x2, ok := reconFind(got, ReconChannelOnly, "X2", ""); !ok || x2.Gone || x2.Resolution != nil {
		t.Fatalf("new item: %+v", x2)
	}
	if got.Items[len(got.Items)-1].ID != missing.ID {
		t.Errorf("gone items are listed last: %+v", got.Items)
	}
	// A resolved item cannot be resolved again, even after a re-run.
	if _, err := f.r.Resolve(f.ctx, "fin.qian", reconDate, ProviderWeChatPay, amount.ID, ReconExplained, "again"); !errors.Is(err, ErrReconItemResolved) {
		t.Fatalf("resolve again: %v", err)
	}
	if calls := f.actions.got(); !reflect.DeepEqual(calls, []string{"take|wechatpay|O2"}) {
		t.Fatalf("actions %v", calls)
	}
}

// TestReconRunBadInput: malformed or future dates and unknown or
// unconfigured channels are refused before anything is recorded or asked.
func TestReconRunBadInput(t *testing.T) {
	f := newReconFixture(t)
	r, err := NewReconciler(ReconcilerDeps{DB: f.db, Clock: f.clock, Actions: f.actions,
		Providers: map[string]Provider{ProviderWeChatPay: f.wx}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ date, channel, field, check string }{
		{"2026-3-15", ProviderWeChatPay, "date", "format"},
		{"2026-02-30", ProviderWeChatPay, "date", "format"},
		{"", ProviderWeChatPay, "date", "format"},
		{"2026-03-15T00:00:00", ProviderWeChatPay, "date", "format"},
		{"2026-03-17", ProviderWeChatPay, "date", "range"}, // tomorrow in Shanghai
		{"2027-01-01", ProviderWeChatPay, "date", "range"},
		{reconDate, "unionpay", "channel", "enum"},
		{reconDate, "", "channel", "enum"},
		{reconDate, ProviderAlipay, "channel", "configured"},
	} {
		_, err := r.Run(f.ctx, tc.date, tc.channel)
		pe, ok := platform.AsError(err)
		if !ok || pe.Code != platform.CodeInvalid || pe.Field != tc.field || pe.Check != tc.check {
			t.Errorf("Run(%q, %q) = %v, want invalid %s/%s", tc.date, tc.channel, err, tc.field, tc.check)
		}
	}
	if f.wx.callCount() != 0 || f.count(CollReconciliations) != 0 || f.count(CollReconciliationItem) != 0 || f.count("leases") != 0 {
		t.Fatal("a refused run changed something")
	}
	// Today (Asia/Shanghai) is allowed: 2026-03-16 11:00 there.
	if _, err := r.Run(f.ctx, "2026-03-16", ProviderWeChatPay); err != nil {
		t.Fatalf("today: %v", err)
	}
	if _, err := f.r.Get(f.ctx, "2026-03-14", ProviderWeChatPay); !errors.Is(err, ErrReconNotFound) {
		t.Fatalf("get of a day never run: %v", err)
	}
	if _, err := f.r.Get(f.ctx, "14/03/2026", ProviderWeChatPay); platform.CodeOf(err) != platform.CodeInvalid {
		t.Fatalf("get of a malformed day: %v", err)
	}
}

// TestReconResolveBadInput: every refused resolution leaves the item as it
// was and calls no action.
func TestReconResolveBadInput(t *testing.T) {
	f := newReconFixture(t)
	f.paid("O1", ProviderWeChatPay, 1000)                                                  // missing at channel
	f.order("O2", ProviderWeChatPay, OrderPaid, 800, reconDayStart.Add(-time.Hour), "TO2") // paid the day before: status mismatch, paid
	f.wx.serve(reconPay("X1", 500), reconPay("O2", 800))
	f.run(ProviderWeChatPay)
	rec := f.get(ProviderWeChatPay)
	missing, _ := reconFind(rec, ReconMissingAtChannel, "O1", "")
	only, _ := reconFind(rec, ReconChannelOnly, "X1", "")
	status, _ := reconFind(rec, ReconStatusMismatch, "O2", "")
	if missing.ID == "" || only.ID == "" || status.ID == "" {
		t.Fatalf("items %+v", rec.Items)
	}
	before := map[string]any{}
	for _, id := range []string{missing.ID, only.ID, status.ID} {
		before[id] = f.rawItem(id)
	}
	long := strings.Repeat("说", ReconNoteMax+1)
	for _, tc := range []struct {
		name                         string
		date, channel, id, act, note string
		want                         error
		field                        string
	}{
		{"bad action", reconDate, ProviderWeChatPay, missing.ID, "ignore", "x", platform.Invalid("", "", ""), "action"},
		{"no note", reconDate, ProviderWeChatPay, missing.ID, ReconExplained, "  ", platform.Invalid("", "", ""), "note"},
		{"long note", reconDate, ProviderWeChatPay, missing.ID, ReconExplained, long, platform.Invalid("", "", ""), "note"},
		{"bad date", "2026-13-01", ProviderWeChatPay, missing.ID, ReconExplained, "x", platform.Invalid("", "", ""), "date"},
		{"bad channel", reconDate, "paypal", missing.ID, ReconExplained, "x", platform.Invalid("", "", ""), "channel"},
		{"unknown item", reconDate, ProviderWeChatPay, "nope", ReconExplained, "x", ErrReconItemNotFound, ""},
		{"another day's item", "2026-03-14", ProviderWeChatPay, missing.ID, ReconExplained, "x", ErrReconItemNotFound, ""},
		{"another channel's item", reconDate, ProviderAlipay, missing.ID, ReconExplained, "x", ErrReconItemNotFound, ""},
		{"refund of money the channel lacks", reconDate, ProviderWeChatPay, missing.ID, ReconRefund, "x", ErrReconActionNotAllowed, ""},
		{"take channel of an order Banshi lacks", reconDate, ProviderWeChatPay, only.ID, ReconTakeChannel, "x", ErrReconActionNotAllowed, ""},
		{"refund of an order Banshi counts as paid", reconDate, ProviderWeChatPay, status.ID, ReconRefund, "x", ErrReconActionNotAllowed, ""},
	} {
		_, err := f.r.Resolve(f.ctx, "fin.zhao", tc.date, tc.channel, tc.id, tc.act, tc.note)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if pe, _ := platform.AsError(err); tc.field != "" && (pe == nil || pe.Field != tc.field) {
			t.Errorf("%s: field of %v, want %s", tc.name, err, tc.field)
		}
	}
	for id, b := range before {
		if after := f.rawItem(id); !reflect.DeepEqual(b, after) {
			t.Errorf("item %s changed:\n%v\n%v", id, b, after)
		}
	}
	if calls := f.actions.got(); len(calls) != 0 {
		t.Fatalf("actions called: %v", calls)
	}
	// A note of exactly the limit is fine; the refund goes with the
	// channel's amount and trade number.
	it, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, only.ID, ReconRefund, strings.Repeat("说", ReconNoteMax))
	if err != nil || it.Resolution == nil || !it.Resolution.Done {
		t.Fatalf("refund: %+v %v", it, err)
	}
	if calls := f.actions.got(); len(calls) != 1 || !strings.HasPrefix(calls[0], "refund|wechatpay|X1|TX1|5.00|") {
		t.Fatalf("actions %v", calls)
	}
}

// TestReconActionFailureWithdrawsResolution: when the action fails, the item
// is unresolved again (and can be resolved later); a pending resolution
// whose process died blocks only until ReconPendingTimeout.
func TestReconActionFailureWithdrawsResolution(t *testing.T) {
	f := newReconFixture(t)
	f.paid("O1", ProviderWeChatPay, 1000)
	f.run(ProviderWeChatPay)
	item, _ := reconFind(f.get(ProviderWeChatPay), ReconMissingAtChannel, "O1", "")
	boom := platform.NewError("upstream_unavailable", "支付渠道暂时无法访问")
	f.actions.err = boom
	if _, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, item.ID, ReconTakeChannel, "以渠道为准"); !errors.Is(err, boom) {
		t.Fatalf("failed action: %v", err)
	}
	if it, _ := reconFind(f.get(ProviderWeChatPay), ReconMissingAtChannel, "O1", ""); it.Resolution != nil {
		t.Fatalf("resolution kept after the action failed: %+v", it.Resolution)
	}
	f.actions.err = nil
	if _, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, item.ID, ReconTakeChannel, "以渠道为准"); err != nil {
		t.Fatal(err)
	}

	// A resolution left pending (its process died): refused until it is stale.
	f.paid("O2", ProviderWeChatPay, 200)
	f.run(ProviderWeChatPay)
	item2, _ := reconFind(f.get(ProviderWeChatPay), ReconMissingAtChannel, "O2", "")
	if _, err := f.r.items.UpdateOne(f.ctx, map[string]any{"_id": item2.ID}, map[string]any{"$set": map[string]any{
		"resolution": reconResolutionDoc{Action: ReconTakeChannel, Note: "crashed", By: "fin.qian", At: f.clock.Now(), Token: "dead"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, item2.ID, ReconExplained, "x"); !errors.Is(err, ErrReconItemResolved) {
		t.Fatalf("pending: %v", err)
	}
	f.clock.Advance(ReconPendingTimeout)
	it, err := f.r.Resolve(f.ctx, "fin.zhao", reconDate, ProviderWeChatPay, item2.ID, ReconTakeChannel, "retry")
	if err != nil || it.Resolution.By != "fin.zhao" || !it.Resolution.Done {
		t.Fatalf("stale pending: %+v %v", it, err)
	}
}

// TestReconConcurrentResolve: of many clerks resolving one item at once,
// exactly one succeeds and the action runs once.
func TestReconConcurrentResolve(t *testing.T) {
	f := newReconFixture(t)
	f.wx.serve(reconPay("X1", 500))
	f.run(ProviderWeChatPay)
	item, _ := reconFind(f.get(ProviderWeChatPay), ReconChannelOnly, "X1", "")
	f.actions.delay = 20 * time.Millisecond
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.r.Resolve(f.ctx, fmt.Sprintf("fin.%d", i), reconDate, ProviderWeChatPay, item.ID, ReconRefund, "退回长款")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrReconItemResolved):
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 || len(f.actions.got()) != 1 {
		t.Fatalf("%d succeeded, actions %v", ok, f.actions.got())
	}
}

// TestReconRunExcludesItself: while a run of a date and channel is under
// way, another (from any goroutine) is refused with ErrReconRunning and
// changes nothing; another channel or date runs meanwhile.
func TestReconRunExcludesItself(t *testing.T) {
	f := newReconFixture(t)
	gate, entered := make(chan struct{}), make(chan struct{})
	f.wx.next = func() (*reconBill, error) {
		return &reconBill{rows: []BillRow{reconPay("X1", 100)}, gate: gate, entered: entered}, nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.r.Run(f.ctx, reconDate, ProviderWeChatPay)
		done <- err
	}()
	<-entered
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.r.Run(f.ctx, reconDate, ProviderWeChatPay)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if !errors.Is(err, ErrReconRunning) {
			t.Fatalf("concurrent run: %v", err)
		}
	}
	if rec := f.get(ProviderWeChatPay); rec.Status != ReconRunning || rec.Runs != 1 {
		t.Fatalf("while running: %+v", rec)
	}
	f.ali.serve()
	if _, err := f.r.Run(f.ctx, reconDate, ProviderAlipay); err != nil {
		t.Fatalf("another channel: %v", err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec := f.get(ProviderWeChatPay)
	if rec.Status != ReconDone || rec.Runs != 1 || rec.Summary.ChannelOnly != 1 || f.wx.callCount() != 1 {
		t.Fatalf("after: %+v, %d bills", rec, f.wx.callCount())
	}
	// Free again.
	f.wx.serve()
	if rec := f.run(ProviderWeChatPay); rec.Runs != 2 {
		t.Fatalf("re-run: %+v", rec)
	}
}

// TestReconFailedBill: a bill the channel refuses or that fails its checks
// ends the run as failed with a reason for people, keeps the earlier
// summary, and answers the mapped error.
func TestReconFailedBill(t *testing.T) {
	f := newReconFixture(t)
	f.paid("O1", ProviderWeChatPay, 1000)
	f.wx.serve(reconPay("O1", 1000))
	first := f.run(ProviderWeChatPay)
	for _, tc := range []struct {
		name string
		next func() (*reconBill, error)
		code string
	}{
		{"hash differs at the end", func() (*reconBill, error) {
			return &reconBill{rows: []BillRow{reconPay("O1", 1000)}, endErr: fmt.Errorf("wechatpay bill: SHA-1 differs: %w", ErrMalformed)}, nil
		}, "reconciliation_bill_unusable"},
		{"not yet generated", func() (*reconBill, error) {
			return nil, &ChannelError{Provider: ProviderWeChatPay, Code: "STATEMENT_CREATING", Message: "账单生成中"}
		}, "reconciliation_bill_unusable"},
		{"channel down", func() (*reconBill, error) {
			return nil, fmt.Errorf("wechatpay bill: %w: dial tcp", ErrChannelUnavailable)
		}, "upstream_unavailable"},
		{"a row of unknown kind", func() (*reconBill, error) {
			return &reconBill{rows: []BillRow{{Kind: "fee", OrderNo: "O1"}}}, nil
		}, "reconciliation_bill_unusable"},
	} {
		f.wx.next = tc.next
		_, err := f.r.Run(f.ctx, reconDate, ProviderWeChatPay)
		if platform.CodeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
		rec := f.get(ProviderWeChatPay)
		if rec.Status != ReconFailed || rec.Error == "" || strings.Contains(rec.Error, "SHA") || rec.Summary != first.Summary || rec.FinishedAt.IsZero() {
			t.Errorf("%s: recorded %+v", tc.name, rec)
		}
	}
	if n := f.count("leases"); n != 1 {
		t.Fatalf("leases %d", n)
	}
	var l struct {
		Holder string `bson:"holder"`
	}
	_ = f.db.Collection("leases").FindOne(f.ctx, map[string]any{}).Decode(&l)
	if l.Holder != "" {
		t.Fatal("the run's lease was not released")
	}
}

// TestReconDaily: the daily duty reconciles the day before from 10:30
// Asia/Shanghai, each channel once, tries a failed one again after half an
// hour, and catches up on the latest due day.
func TestReconDaily(t *testing.T) {
	if got := reconDueDate(time.Date(2026, 3, 16, 2, 29, 0, 0, time.UTC)); got != "2026-03-14" { // 10:29
		t.Fatalf("due at 10:29: %s", got)
	}
	if got := reconDueDate(time.Date(2026, 3, 16, 2, 30, 0, 0, time.UTC)); got != "2026-03-15" { // 10:30
		t.Fatalf("due at 10:30: %s", got)
	}
	if got := reconDueDate(time.Date(2026, 3, 15, 17, 0, 0, 0, time.UTC)); got != "2026-03-14" { // 01:00 on the 16th
		t.Fatalf("due at 01:00: %s", got)
	}
	f := newReconFixture(t)
	f.clock.Set(time.Date(2026, 3, 16, 2, 31, 0, 0, time.UTC))
	f.ali.next = func() (*reconBill, error) { return nil, fmt.Errorf("alipay: %w", ErrChannelUnavailable) }
	if err := f.r.reconDailyTick(f.ctx); err == nil {
		t.Fatal("a failed channel is reported")
	}
	if f.wx.callCount() != 1 || f.ali.callCount() != 1 || f.wx.dates[0] != reconDate {
		t.Fatalf("bills asked: %v %v", f.wx.dates, f.ali.dates)
	}
	f.clock.Advance(10 * time.Minute)
	_ = f.r.reconDailyTick(f.ctx)
	if f.wx.callCount() != 1 || f.ali.callCount() != 1 {
		t.Fatal("a done or recently failed day was run again")
	}
	f.ali.serve()
	f.clock.Advance(reconRetryAfter)
	if err := f.r.reconDailyTick(f.ctx); err != nil {
		t.Fatal(err)
	}
	if f.wx.callCount() != 1 || f.ali.callCount() != 2 {
		t.Fatal("the failed day was not tried again")
	}
	if rec := f.get(ProviderAlipay); rec.Status != ReconDone {
		t.Fatalf("alipay: %+v", rec)
	}
}

// TestReconDailyUnderLease: RunDaily runs under its lease and stops with
// its context.
func TestReconDailyUnderLease(t *testing.T) {
	f := newReconFixture(t)
	leases := platform.NewLeases(f.db, f.clock)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { f.r.RunDaily(ctx, leases); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for f.wx.callCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	l, err := leases.Get(f.ctx, reconDailyLease)
	if err != nil || l.Holder == "" {
		t.Fatalf("lease %+v %v", l, err)
	}
	cancel()
	<-done
	if f.wx.callCount() != 1 || f.ali.callCount() != 1 {
		t.Fatalf("bills asked %d %d", f.wx.callCount(), f.ali.callCount())
	}
}

// TestReconCSV: UTF-8 with a BOM, a Chinese header, formula-like cells from
// a bill defused.
func TestReconCSV(t *testing.T) {
	f := newReconFixture(t)
	f.paid("O1", ProviderWeChatPay, 1234)
	f.wx.serve(reconPay("=HYPERLINK(1)", 500))
	f.run(ProviderWeChatPay)
	var buf bytes.Buffer
	if err := f.r.WriteCSV(f.ctx, &buf, reconDate, ProviderWeChatPay); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	if !strings.HasPrefix(out, "\ufeff差错编号,") || len(lines) != 3 {
		t.Fatalf("csv:\n%s", out)
	}
	if !strings.Contains(out, ",'=HYPERLINK(1),") || !strings.Contains(out, ",12.34,0.00,") || !strings.Contains(out, "长款") {
		t.Fatalf("csv:\n%s", out)
	}
	var none bytes.Buffer
	if err := f.r.WriteCSV(f.ctx, &none, "2026-03-01", ProviderWeChatPay); !errors.Is(err, ErrReconNotFound) || none.Len() != 0 {
		t.Fatalf("csv of a day never run: %v, %q", err, none.String())
	}
}
