package alipay_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"banshi/payments"
	"banshi/payments/alipay"
)

// FuzzParseNotification feeds notification forms to the parser, signed by
// the Alipay key (so the parsing behind the signature is fuzzed) or by a
// stranger. Whatever comes in, the parser answers a notification or
// ErrNotVerified / ErrMalformed, never panics, and never accepts what a
// stranger signed or what names another app.
func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(paidForm().Encode()), true)
	f.Add([]byte(refundForm().Encode()), true)
	f.Add([]byte("app_id=1&sign=x&sign_type=RSA2"), false)
	p := fuzzProvider(f)
	f.Fuzz(func(t *testing.T, form []byte, sign bool) {
		body := form
		if v, err := url.ParseQuery(string(form)); err == nil {
			key := strangerKey
			if sign {
				key = alipayKey
			}
			body = signForm(key, v)
		}
		n, err := p.ParseNotification(ctx, nil, body)
		switch {
		case err == nil:
			v, _ := url.ParseQuery(string(body))
			if !sign || v.Get("app_id") != testAppID {
				t.Fatalf("accepted: sign=%v app_id=%q", sign, v.Get("app_id"))
			}
			if (n.Kind != payments.NotifyPayment && n.Kind != payments.NotifyRefund) || n.Trade.OrderNo == "" || n.Trade.AmountFen <= 0 {
				t.Fatalf("accepted an empty notification %+v", n)
			}
			if got := v.Get("total_amount"); !strings.HasPrefix(got, fmt.Sprint(n.Trade.AmountFen/100)) {
				t.Fatalf("total_amount %q read as %d fen", got, n.Trade.AmountFen)
			}
		case errors.Is(err, payments.ErrNotVerified), errors.Is(err, payments.ErrMalformed):
			if n != (payments.Notification{}) {
				t.Fatalf("refused but returned %+v", n)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// sampleBill is a detail file (业务明细) as the simulator writes it, UTF-8
// here; gbk encodes it as Alipay serves it.
const sampleBill = "#支付宝业务明细查询\r\n" +
	"#账号：[2088000000000001]\r\n" +
	"#起始日期：[2026年03月16日 00:00:00]   终止日期：[2026年03月17日 00:00:00]\r\n" +
	"#-----------------------------------------业务明细列表----------------------------------------\r\n" +
	"支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r\n" +
	"2026031622001400001234567890\t,ORD_B1\t,交易,不动产登记费,2026-03-16 10:00:00,2026-03-16 10:00:00,,,,,159****1234,0.99,0.99,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.01,0.00,\r\n" +
	"2026031622001400001234567891\t,ORD_B2\t,交易,\"工本费,加急\",2026-03-16 10:00:00,2026-03-16 10:00:00,,,,,159****1234,20.00,20.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.12,0.00,\r\n" +
	"2026031622001400001234567891\t,ORD_B2\t,退款,\"工本费,加急\",2026-03-16 10:00:00,2026-03-16 10:30:00,,,,,159****1234,-5.00,-5.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,RF_B2\t,0.03,0.00,多收\r\n" +
	"#-----------------------------------------业务明细列表结束------------------------------------\r\n" +
	"#交易合计：2笔，商家实收共20.99元，商家优惠共0.00元\r\n" +
	"#退款合计：1笔，商家实收退款共-5.00元，商家优惠退款共0.00元\r\n" +
	"#导出时间：[2026年03月17日 09:00:00]\r\n"

func gbk(s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

// TestBillReaderSample: the sample's rows and totals, a quoted subject with
// a comma, and the errors of files that lie about their totals.
func TestBillReaderSample(t *testing.T) {
	br := alipay.NewBillReader(io.NopCloser(bytes.NewReader(gbk(sampleBill))))
	rows, err := readAll(br)
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if r := rows[2]; r.Kind != payments.BillRefund || r.AmountFen != 500 || r.RefundNo != "RF_B2" || r.FeeMilliFen != -3000 || r.OrderNo != "ORD_B2" {
		t.Fatalf("refund row %+v", r)
	}
	if tot := br.Totals(); tot.Trades != 3 || tot.PaidFen != 2099 || tot.RefundedFen != 500 || tot.FeeMilliFen != 10000 {
		t.Fatalf("totals %+v", tot)
	}
	for name, bill := range map[string]string{
		"other total":  strings.Replace(sampleBill, "商家实收共20.99元", "商家实收共21.00元", 1),
		"other count":  strings.Replace(sampleBill, "#交易合计：2笔", "#交易合计：3笔", 1),
		"no totals":    sampleBill[:strings.Index(sampleBill, "#交易合计")],
		"float amount": strings.Replace(sampleBill, ",0.99,0.99,", ",9.9e-1,0.99,", 1),
		"unknown kind": strings.Replace(sampleBill, ",交易,不动产", ",转账,不动产", 1),
	} {
		if _, err := readAll(alipay.NewBillReader(io.NopCloser(bytes.NewReader(gbk(bill))))); !errors.Is(err, payments.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzBillReader feeds files to the bill reader: it ends in io.EOF with
// totals equal to its rows' sums, or in ErrMalformed, never panics.
func FuzzBillReader(f *testing.F) {
	f.Add(gbk(sampleBill))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := alipay.NewBillReader(io.NopCloser(bytes.NewReader(data)))
		rows, err := readAll(br)
		if err != nil {
			if !errors.Is(err, payments.ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var tot payments.BillTotals
		tot.Trades = int64(len(rows))
		for _, r := range rows {
			if r.AmountFen < 0 || r.OrderNo == "" || (r.Kind != payments.BillPayment && r.Kind != payments.BillRefund) {
				t.Fatalf("bad row %+v", r)
			}
			tot.FeeMilliFen += r.FeeMilliFen
			if r.Kind == payments.BillRefund {
				tot.RefundedFen += r.AmountFen
			}
		}
		got := br.Totals()
		if got.Trades != tot.Trades || got.RefundedFen != tot.RefundedFen || got.FeeMilliFen != tot.FeeMilliFen {
			t.Fatalf("totals %+v, rows %+v", got, tot)
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpora
// (testdata/fuzz/...) when BANSHI_WRITE_FUZZ_SEEDS=1. The notification
// seeds are unsigned forms: the fuzz function signs them with this run's
// keys.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BANSHI_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set BANSHI_WRITE_FUZZ_SEEDS=1 to regenerate the seed corpora")
	}
	write := func(fuzz, name string, values ...any) {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	form := func(edit func(v url.Values)) []byte {
		v := paidForm()
		edit(v)
		return []byte(v.Encode())
	}
	write("FuzzParseNotification", "payment", []byte(paidForm().Encode()), true)
	write("FuzzParseNotification", "payment-stranger", []byte(paidForm().Encode()), false)
	write("FuzzParseNotification", "refund", []byte(refundForm().Encode()), true)
	write("FuzzParseNotification", "other-app", form(func(v url.Values) { v.Set("app_id", "2021999999999999") }), true)
	write("FuzzParseNotification", "amount-3-decimals", form(func(v url.Values) { v.Set("total_amount", "0.999") }), true)
	write("FuzzParseNotification", "amount-exponent", form(func(v url.Values) { v.Set("buyer_pay_amount", "1e2") }), true)
	write("FuzzParseNotification", "closed", form(func(v url.Values) { v.Set("trade_status", "TRADE_CLOSED"); v.Del("gmt_payment") }), true)
	write("FuzzParseNotification", "no-payment-time", form(func(v url.Values) { v.Del("gmt_payment") }), true)
	write("FuzzParseNotification", "repeated", append(form(func(url.Values) {}), "&out_trade_no=X"...), true)
	write("FuzzBillReader", "sample", gbk(sampleBill))
	write("FuzzBillReader", "lf", gbk(strings.ReplaceAll(sampleBill, "\r\n", "\n")))
	write("FuzzBillReader", "truncated", gbk(sampleBill[:len(sampleBill)/2]))
	write("FuzzBillReader", "empty-day", gbk(emptyDay()))
	write("FuzzBillReader", "utf8", []byte(sampleBill))
}

// emptyDay is the sample without rows and with zero totals.
func emptyDay() string {
	head := sampleBill[:strings.Index(sampleBill, "2026031622")]
	foot := sampleBill[strings.Index(sampleBill, "#-----------------------------------------业务明细列表结束"):]
	foot = strings.NewReplacer("2笔，商家实收共20.99元", "0笔，商家实收共0.00元", "1笔，商家实收退款共-5.00元", "0笔，商家实收退款共0.00元").Replace(foot)
	return head + foot
}
