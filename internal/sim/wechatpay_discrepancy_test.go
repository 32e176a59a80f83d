package sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"banshi/payments"
)

// readBill downloads and reads a trade bill through an adapter; the reader
// checks the totals against the rows (else ErrMalformed).
func readBill(t *testing.T, bill func(ctx context.Context, date string) (payments.BillReader, error), date string) (map[string][]payments.BillRow, payments.BillTotals) {
	t.Helper()
	r, err := bill(context.Background(), date)
	if err != nil {
		t.Fatalf("bill %s: %v", date, err)
	}
	defer r.Close()
	rows := map[string][]payments.BillRow{}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, r.Totals()
		}
		if err != nil {
			t.Fatalf("bill %s: %v", date, err)
		}
		rows[row.OrderNo] = append(rows[row.OrderNo], row)
	}
}

// TestWeChatPayBillDiscrepancies: each kind shows in the bill the real
// adapter downloads and parses, with totals that agree with the rows; bad
// requests are 4xx and change no bill.
func TestWeChatPayBillDiscrepancies(t *testing.T) {
	f := newWxpPhone(t) // 2026-03-16 10:00 Asia/Shanghai
	const date = "2026-03-16"
	for _, no := range []string{"ORD0000000201", "ORD0000000202", "ORD0000000203"} {
		params := f.prepay(no, payments.WeChatJSAPI, 1000)
		if st, _ := f.post("/sim/wechatpay/pay", map[string]any{"pay_params": params, "outcome": "success"}); st != http.StatusOK {
			t.Fatalf("pay %s", no)
		}
	}
	f.prepay("ORD0000000204", payments.WeChatJSAPI, 777) // unpaid: Banshi closed it, say
	f.waitReceived(3)
	if _, err := f.p.Refund(context.Background(), payments.RefundRequest{OrderNo: "ORD0000000202", RefundNo: "RFD0000000202", AmountFen: 300, TotalFen: 1000, Reason: "退费"}); err != nil {
		t.Fatal(err)
	}

	bad := []struct {
		name   string
		body   any
		status int
	}{
		{"bad date", map[string]any{"date": "2026-3-16", "kind": "channel_only"}, http.StatusBadRequest},
		{"bad kind", map[string]any{"date": date, "kind": "extra"}, http.StatusBadRequest},
		{"missing without order", map[string]any{"date": date, "kind": "missing"}, http.StatusBadRequest},
		{"amount without order", map[string]any{"date": date, "kind": "amount"}, http.StatusBadRequest},
		{"bad order_no", map[string]any{"date": date, "kind": "channel_only", "order_no": "a b"}, http.StatusBadRequest},
		{"not JSON", "nope", http.StatusBadRequest},
		{"unknown order", map[string]any{"date": date, "kind": "missing", "order_no": "ORD9999999999"}, http.StatusNotFound},
		{"amount of an unknown order", map[string]any{"date": date, "kind": "amount", "order_no": "ORD9999999999"}, http.StatusNotFound},
		{"channel_only of a paid order", map[string]any{"date": date, "kind": "channel_only", "order_no": "ORD0000000201"}, http.StatusConflict},
		{"missing of an unpaid order", map[string]any{"date": date, "kind": "missing", "order_no": "ORD0000000204"}, http.StatusConflict},
		{"amount on another day", map[string]any{"date": "2026-03-15", "kind": "amount", "order_no": "ORD0000000201"}, http.StatusConflict},
	}
	for _, c := range bad {
		if st, body := f.post("/sim/wechatpay/bills/discrepancies", c.body); st != c.status || body["error"] == nil {
			t.Errorf("%s: %d %v, want %d", c.name, st, body, c.status)
		}
	}
	f.sim.mu.Lock()
	edits := len(f.sim.billEdits)
	f.sim.mu.Unlock()
	if edits != 0 {
		t.Fatalf("refused requests left %d bill edits", edits)
	}

	f.clock.Advance(25 * time.Hour) // the bill of the 16th is ready at 10:00 on the 17th
	before, beforeTotals := readBill(t, f.p.TradeBill, date)

	post := func(body map[string]any) string {
		t.Helper()
		st, out := f.post("/sim/wechatpay/bills/discrepancies", body)
		if st != http.StatusOK || out["kind"] != body["kind"] {
			t.Fatalf("%v: %d %v", body, st, out)
		}
		no, _ := out["order_no"].(string)
		return no
	}
	extra := post(map[string]any{"date": date, "kind": "channel_only"})
	known := post(map[string]any{"date": date, "kind": "channel_only", "order_no": "ORD0000000204"})
	post(map[string]any{"date": date, "kind": "missing", "order_no": "ORD0000000202"})
	post(map[string]any{"date": date, "kind": "amount", "order_no": "ORD0000000203"})
	if known != "ORD0000000204" || extra == "" || before[extra] != nil {
		t.Fatalf("channel-only order numbers %q %q", extra, known)
	}

	after, totals := readBill(t, f.p.TradeBill, date)
	if len(before["ORD0000000202"]) != 2 || after["ORD0000000202"] != nil {
		t.Errorf("missing: before %+v, after %+v", before["ORD0000000202"], after["ORD0000000202"])
	}
	if r := after["ORD0000000203"]; len(r) != 1 || r[0].AmountFen != 1000+DiscrepancyAmountFen || r[0].FeeMilliFen != (1000+DiscrepancyAmountFen)*wxpFeeMilliPerFen {
		t.Errorf("amount: %+v", r)
	}
	if r := after[extra]; len(r) != 1 || r[0].Kind != payments.BillPayment || r[0].Status != "SUCCESS" || r[0].AmountFen != DiscrepancyChannelOnlyFen || r[0].ChannelTradeNo == "" {
		t.Errorf("channel only: %+v", r)
	}
	if r := after[known]; len(r) != 1 || r[0].AmountFen != 777 {
		t.Errorf("channel only of a known unpaid order: %+v", r)
	}
	if !reflect.DeepEqual(after["ORD0000000201"], before["ORD0000000201"]) {
		t.Errorf("an untouched order changed: %+v → %+v", before["ORD0000000201"], after["ORD0000000201"])
	}
	wantPaid := beforeTotals.PaidFen - 1000 + DiscrepancyAmountFen + DiscrepancyChannelOnlyFen + 777
	if totals.Trades != beforeTotals.Trades-2+2 || totals.PaidFen != wantPaid || totals.RefundedFen != beforeTotals.RefundedFen-300 {
		t.Errorf("totals %+v, before %+v", totals, beforeTotals)
	}
	// The orders themselves did not change: the channel still reports them.
	if s := f.state("ORD0000000202"); s != payments.TradeRefunded {
		t.Errorf("the missing order is %s at the channel", s)
	}
}
