package wechatpay_test

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"banshi/payments"
	"banshi/payments/wechatpay"
)

// sampleBill is a trade bill in WeChat's format (payments.md): BOM, header
// without backquotes, backquoted cells, a refund row, CRLF, totals.
const sampleBill = "\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n" +
	"`2026-03-16 09:12:01,`wxminiprogram0001,`1900000109,`0,`,`4200000001202603161234567890,`ORD0000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`123.45,`0.00,`0,`0,`0.00,`0.00,`,`,`不动产登记费,`BILL-1,`0.74070,`0.60%,`123.45,`0.00,`\r\n" +
	"`2026-03-16 09:30:00,`wxminiprogram0001,`1900000109,`0,`,`4200000001202603161234567891,`ORD0000002,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.99,`0.00,`0,`0,`0.00,`0.00,`,`,`工本费, 含邮寄,`,`0.00594,`0.60%,`0.99,`0.00,`\r\n" +
	"`2026-03-16 11:00:00,`wxminiprogram0001,`1900000109,`0,`,`4200000001202603161234567890,`ORD0000001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000000000000000000000001,`RF0000001,`23.45,`0.00,`ORIGINAL,`SUCCESS,`不动产登记费,`BILL-1,`-0.14070,`0.60%,`0.00,`23.45,`\r\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" +
	"`3,`124.44,`23.45,`0.00,`0.60594,`124.44,`23.45\r\n"

func readAll(br payments.BillReader) ([]payments.BillRow, error) {
	var rows []payments.BillRow
	for {
		r, err := br.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestBillReaderSample(t *testing.T) {
	br := wechatpay.NewBillReader(io.NopCloser(strings.NewReader(sampleBill)), sha1Hex(sampleBill))
	rows, err := readAll(br)
	if err != nil {
		t.Fatal(err)
	}
	want := []payments.BillRow{
		{Kind: payments.BillPayment, OrderNo: "ORD0000001", ChannelTradeNo: "4200000001202603161234567890", Status: "SUCCESS", AmountFen: 12345, FeeMilliFen: 74070},
		{Kind: payments.BillPayment, OrderNo: "ORD0000002", ChannelTradeNo: "4200000001202603161234567891", Status: "SUCCESS", AmountFen: 99, FeeMilliFen: 594},
		{Kind: payments.BillRefund, OrderNo: "ORD0000001", ChannelTradeNo: "4200000001202603161234567890", RefundNo: "RF0000001", Status: "SUCCESS", AmountFen: 2345, FeeMilliFen: -14070},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows", len(rows))
	}
	for i := range want {
		got := rows[i]
		if got.TradeTime.IsZero() {
			t.Errorf("row %d without time", i)
		}
		got.TradeTime = want[i].TradeTime
		if got != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got, want[i])
		}
	}
	if rows[0].TradeTime.UTC().Hour() != 1 { // 09:12 in Shanghai
		t.Errorf("time not read in Asia/Shanghai: %v", rows[0].TradeTime)
	}
	if tot := br.Totals(); tot != (payments.BillTotals{Trades: 3, PaidFen: 12444, RefundedFen: 2345, FeeMilliFen: 60594}) {
		t.Errorf("totals %+v", tot)
	}
}

// A file that is not what WeChat announced, that does not add up or that
// ends early ends in ErrMalformed, never io.EOF.
func TestBillReaderRefuses(t *testing.T) {
	cases := map[string]struct{ file, hash string }{
		"other hash":          {sampleBill, sha1Hex("x")},
		"totals do not match": {strings.Replace(sampleBill, "`3,`124.44", "`3,`124.45", 1), ""},
		"row count":           {strings.Replace(sampleBill, "`3,`124.44", "`4,`124.44", 1), ""},
		"truncated":           {sampleBill[:strings.Index(sampleBill, "总交易单数")], ""},
		"no totals row":       {strings.TrimSuffix(sampleBill, "`3,`124.44,`23.45,`0.00,`0.60594,`124.44,`23.45\r\n"), ""},
		"missing column":      {strings.Replace(sampleBill, "手续费,费率", "费用,费率", 1), ""},
		"float amount":        {strings.Replace(sampleBill, "`123.45,`0.00,`0,", "`1.2345e2,`0.00,`0,", 1), ""},
		"cells short":         {strings.Replace(sampleBill, ",`0.60%,`0.99,`0.00,`\r\n", ",`0.60%,`0.99\r\n", 1), ""},
		"trailing garbage":    {sampleBill + "`1,`2\r\n", ""},
		"empty":               {"", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			br := wechatpay.NewBillReader(io.NopCloser(strings.NewReader(c.file)), c.hash)
			_, err := readAll(br)
			if !errors.Is(err, payments.ErrMalformed) {
				t.Fatalf("got %v", err)
			}
			if _, again := br.Next(); !errors.Is(again, payments.ErrMalformed) {
				t.Fatalf("the error is not sticky: %v", again)
			}
		})
	}
}
