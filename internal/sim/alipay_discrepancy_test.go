package sim

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"banshi/payments"
)

// TestAlipayBillDiscrepancies: each kind shows in the GBK zip bill the real
// adapter downloads and parses (it checks the footer against the rows);
// bad requests are 4xx and change no bill.
func TestAlipayBillDiscrepancies(t *testing.T) {
	f := newAliPhone(t) // 2026-03-16 10:00 Asia/Shanghai
	const date = "2026-03-16"
	for _, no := range []string{"ALI0000000201", "ALI0000000202", "ALI0000000203"} {
		if st, _ := f.post("/sim/alipay/pay", map[string]any{"pay_params": f.prepay(no, payments.AlipayApp, 1000), "outcome": "success"}); st != http.StatusOK {
			t.Fatalf("pay %s", no)
		}
	}
	if st, _ := f.post("/sim/alipay/pay", map[string]any{"pay_params": f.prepay("ALI0000000204", payments.AlipayWap, 777), "outcome": "abandon"}); st != http.StatusOK {
		t.Fatal("open ALI0000000204")
	}
	f.waitReceived(3)
	if _, err := f.p.Refund(context.Background(), payments.RefundRequest{OrderNo: "ALI0000000202", RefundNo: "RFD0000000202", AmountFen: 300, TotalFen: 1000, Reason: "退费"}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name   string
		body   any
		status int
	}{
		{"bad date", map[string]any{"date": "16/03/2026", "kind": "channel_only"}, http.StatusBadRequest},
		{"bad kind", map[string]any{"date": date, "kind": ""}, http.StatusBadRequest},
		{"missing without order", map[string]any{"date": date, "kind": "missing"}, http.StatusBadRequest},
		{"bad order_no", map[string]any{"date": date, "kind": "channel_only", "order_no": "ALI-1"}, http.StatusBadRequest},
		{"not JSON", "nope", http.StatusBadRequest},
		{"unknown order", map[string]any{"date": date, "kind": "amount", "order_no": "ALI9999999999"}, http.StatusNotFound},
		{"channel_only of a paid order", map[string]any{"date": date, "kind": "channel_only", "order_no": "ALI0000000201"}, http.StatusConflict},
		{"missing of an unpaid order", map[string]any{"date": date, "kind": "missing", "order_no": "ALI0000000204"}, http.StatusConflict},
		{"amount on another day", map[string]any{"date": "2026-03-17", "kind": "amount", "order_no": "ALI0000000201"}, http.StatusConflict},
	} {
		if st, body := f.post("/sim/alipay/bills/discrepancies", c.body); st != c.status || body["error"] == nil {
			t.Errorf("%s: %d %v, want %d", c.name, st, body, c.status)
		}
	}
	f.sim.mu.Lock()
	edits := len(f.sim.billEdits)
	f.sim.mu.Unlock()
	if edits != 0 {
		t.Fatalf("refused requests left %d bill edits", edits)
	}

	f.clock.Advance(24 * time.Hour) // the bill of the 16th is ready at 09:00 on the 17th
	before, beforeTotals := readBill(t, f.p.TradeBill, date)
	post := func(body map[string]any) string {
		t.Helper()
		st, out := f.post("/sim/alipay/bills/discrepancies", body)
		if st != http.StatusOK || out["kind"] != body["kind"] {
			t.Fatalf("%v: %d %v", body, st, out)
		}
		no, _ := out["order_no"].(string)
		return no
	}
	extra := post(map[string]any{"date": date, "kind": "channel_only"})
	known := post(map[string]any{"date": date, "kind": "channel_only", "order_no": "ALI0000000204"})
	post(map[string]any{"date": date, "kind": "missing", "order_no": "ALI0000000202"})
	post(map[string]any{"date": date, "kind": "amount", "order_no": "ALI0000000203"})

	after, totals := readBill(t, f.p.TradeBill, date)
	if len(before["ALI0000000202"]) != 2 || after["ALI0000000202"] != nil {
		t.Errorf("missing: before %+v, after %+v", before["ALI0000000202"], after["ALI0000000202"])
	}
	if r := after["ALI0000000203"]; len(r) != 1 || r[0].AmountFen != 1000+DiscrepancyAmountFen || r[0].FeeMilliFen != aliFeeFen(1000+DiscrepancyAmountFen)*1000 {
		t.Errorf("amount: %+v", r)
	}
	if r := after[extra]; extra == "" || before[extra] != nil || len(r) != 1 || r[0].Kind != payments.BillPayment || r[0].AmountFen != DiscrepancyChannelOnlyFen || r[0].ChannelTradeNo == "" {
		t.Errorf("channel only %q: %+v", extra, r)
	}
	if r := after[known]; known != "ALI0000000204" || len(r) != 1 || r[0].AmountFen != 777 {
		t.Errorf("channel only of a known unpaid trade %q: %+v", known, r)
	}
	if !reflect.DeepEqual(after["ALI0000000201"], before["ALI0000000201"]) {
		t.Errorf("an untouched order changed: %+v → %+v", before["ALI0000000201"], after["ALI0000000201"])
	}
	wantPaid := beforeTotals.PaidFen - 1000 + DiscrepancyAmountFen + DiscrepancyChannelOnlyFen + 777
	if totals.Trades != beforeTotals.Trades || totals.PaidFen != wantPaid || totals.RefundedFen != beforeTotals.RefundedFen-300 {
		t.Errorf("totals %+v, before %+v", totals, beforeTotals)
	}
	if s := f.state("ALI0000000202"); s != payments.TradePaid {
		t.Errorf("the missing order is %s at the channel", s)
	}
}
