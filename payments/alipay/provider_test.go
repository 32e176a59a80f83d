package alipay_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/payments"
	"banshi/payments/alipay"
)

// TestPayFlow: the order string (app) or gateway URL (WAP) signed by the
// adapter verifies at the sim; paying sends a notification the adapter
// verifies and parses; a notification answered "fail" comes again with the
// same notify_id; Query then says paid.
func TestPayFlow(t *testing.T) {
	for _, m := range []payments.Method{payments.AlipayApp, payments.AlipayWap} {
		t.Run(string(m), func(t *testing.T) {
			s := newStack(t)
			s.failNext = 1
			s.prepay("ORD_"+strings.ToUpper(string(m)), m, 12345)
			tr, err := s.p.Query(ctx, "ORD_"+strings.ToUpper(string(m)))
			if err != nil || tr.State != payments.TradePaying || tr.AmountFen != 12345 || tr.PaidFen != 0 {
				t.Fatalf("before paying: %+v %v", tr, err)
			}
			tradeNo := s.pay("ORD_" + strings.ToUpper(string(m)))
			first, again := s.next(), s.next()
			for _, r := range []received{first, again} {
				if r.err != nil {
					t.Fatalf("notification refused: %v", r.err)
				}
				n := r.n
				if n.Kind != payments.NotifyPayment || n.Trade.State != payments.TradePaid || n.Trade.AmountFen != 12345 ||
					n.Trade.PaidFen != 12345 || n.Trade.ChannelTradeNo != tradeNo || n.Trade.AppID != testAppID ||
					n.Trade.MerchantID != testSellerID || n.Trade.PaidAt.IsZero() || n.Trade.PayerID == "" || n.ID == "" {
					t.Fatalf("notification %+v", n)
				}
			}
			if first.n.ID != again.n.ID {
				t.Fatalf("a retry has another notify_id: %s %s", first.n.ID, again.n.ID)
			}
			s.none()
			tr, err = s.p.Query(ctx, "ORD_"+strings.ToUpper(string(m)))
			if err != nil || tr.State != payments.TradePaid || tr.PaidFen != 12345 || tr.ChannelTradeNo != tradeNo ||
				!tr.PaidAt.Equal(first.n.Trade.PaidAt) {
				t.Fatalf("after paying: %+v %v", tr, err)
			}
		})
	}
}

// TestPrepayParams: amounts in yuan formatted exactly, the WAP URL points
// at the configured gateway, and a tampered order string is refused by the
// sim (the payer cannot change the amount).
func TestPrepayParams(t *testing.T) {
	s := newStack(t)
	params, err := s.p.Prepay(ctx, payments.PrepayRequest{OrderNo: "ORD1", Method: payments.AlipayApp, AmountFen: 1, Subject: "工本费"})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(params["order_string"].(string))
	if !strings.Contains(q.Get("biz_content"), `"total_amount":"0.01"`) || q.Get("sign_type") != "RSA2" || q.Get("app_id") != testAppID {
		t.Fatalf("order string %v", q)
	}
	q.Set("biz_content", strings.Replace(q.Get("biz_content"), `"0.01"`, `"0.02"`, 1))
	if st := s.control("POST", "/open", map[string]string{"order_string": q.Encode()}, nil); st != http.StatusUnauthorized {
		t.Fatalf("tampered order string: %d", st)
	}
	wap, err := s.p.Prepay(ctx, payments.PrepayRequest{OrderNo: "ORD2", Method: payments.AlipayWap, AmountFen: 100000, Subject: "工本费"})
	if err != nil || !strings.HasPrefix(wap["url"].(string), s.simURL+"/gateway.do?") {
		t.Fatalf("wap %v %v", wap, err)
	}
	// The payer's browser opens the URL: the sim's cashier page.
	res, err := http.Get(wap["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "1000.00") {
		t.Fatalf("cashier page %s", page)
	}
	for _, bad := range []payments.PrepayRequest{
		{OrderNo: "ORD3", Method: payments.WeChatApp, AmountFen: 1, Subject: "x"},
		{OrderNo: "ORD3", Method: payments.AlipayApp, AmountFen: 0, Subject: "x"},
		{OrderNo: "", Method: payments.AlipayApp, AmountFen: 1, Subject: "x"},
	} {
		if _, err := s.p.Prepay(ctx, bad); err == nil {
			t.Fatalf("prepay %+v accepted", bad)
		}
	}
}

// TestClose: an unpaid trade closes (twice is fine), a trade never opened
// is not an error, a paid one is ErrPaidAtChannel, and so is one fully
// refunded.
func TestClose(t *testing.T) {
	s := newStack(t)
	s.prepay("ORD_OPEN", payments.AlipayApp, 500)
	for i := 0; i < 2; i++ {
		if err := s.p.Close(ctx, "ORD_OPEN"); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
	if tr, err := s.p.Query(ctx, "ORD_OPEN"); err != nil || tr.State != payments.TradeClosed {
		t.Fatalf("closed: %+v %v", tr, err)
	}
	if st := s.control("POST", "/pay", map[string]string{"out_trade_no": "ORD_OPEN"}, nil); st != http.StatusConflict {
		t.Fatalf("paying a closed trade: %d", st)
	}
	if err := s.p.Close(ctx, "ORD_NEVER_OPENED"); err != nil {
		t.Fatalf("close unknown: %v", err)
	}
	if tr, err := s.p.Query(ctx, "ORD_NEVER_OPENED"); err != nil || tr.State != payments.TradeUnknown {
		t.Fatalf("unknown: %+v %v", tr, err)
	}
	s.prepay("ORD_PAID", payments.AlipayWap, 500)
	s.pay("ORD_PAID")
	s.next()
	if err := s.p.Close(ctx, "ORD_PAID"); !errors.Is(err, payments.ErrPaidAtChannel) {
		t.Fatalf("close paid: %v", err)
	}
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_PAID", RefundNo: "RF_ALL", AmountFen: 500, TotalFen: 500}); err != nil {
		t.Fatal(err)
	}
	s.next()
	if tr, err := s.p.Query(ctx, "ORD_PAID"); err != nil || tr.State != payments.TradeRefunded {
		t.Fatalf("fully refunded: %+v %v", tr, err)
	}
	if err := s.p.Close(ctx, "ORD_PAID"); !errors.Is(err, payments.ErrPaidAtChannel) {
		t.Fatalf("close refunded: %v", err)
	}
}

// TestRefund: a refund succeeds at once; the same out_request_no again
// answers the same refund and moves no money; its notification parses;
// beyond what is left is refused with Alipay's sub_code; a refund Alipay
// does not know is CodeRefundNotFound.
func TestRefund(t *testing.T) {
	s := newStack(t)
	s.prepay("ORD_R", payments.AlipayApp, 99)
	s.pay("ORD_R")
	s.next()
	for i := 0; i < 2; i++ {
		f, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_R", RefundNo: "RF_1", AmountFen: 40, TotalFen: 99, Reason: "多收"})
		if err != nil || f.State != payments.RefundSucceeded || f.AmountFen != 40 || f.RefundNo != "RF_1" || f.SucceededAt.IsZero() {
			t.Fatalf("refund %d: %+v %v", i, f, err)
		}
	}
	r := s.next()
	if r.err != nil || r.n.Kind != payments.NotifyRefund || r.n.Refund.RefundNo != "RF_1" || r.n.Refund.AmountFen != 40 ||
		r.n.Refund.State != payments.RefundSucceeded || r.n.Trade.State != payments.TradePaid {
		t.Fatalf("refund notification %+v %v", r.n, r.err)
	}
	s.none() // the repeated refund moved nothing and sent nothing
	f, err := s.p.QueryRefund(ctx, "ORD_R", "RF_1")
	if err != nil || f.State != payments.RefundSucceeded || f.AmountFen != 40 {
		t.Fatalf("query refund: %+v %v", f, err)
	}
	var ce *payments.ChannelError
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_R", RefundNo: "RF_2", AmountFen: 60, TotalFen: 99}); !errors.As(err, &ce) || ce.Code != "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" {
		t.Fatalf("refund beyond what is left: %v", err)
	}
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_R", RefundNo: "RF_1", AmountFen: 41, TotalFen: 99}); !errors.As(err, &ce) {
		t.Fatalf("same refund no, other amount: %v", err)
	}
	if _, err := s.p.QueryRefund(ctx, "ORD_R", "RF_9"); !errors.As(err, &ce) || ce.Code != alipay.CodeRefundNotFound {
		t.Fatalf("unknown refund: %v", err)
	}
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_NONE", RefundNo: "RF_3", AmountFen: 1, TotalFen: 1}); !errors.As(err, &ce) || ce.Code != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("refund of an unknown trade: %v", err)
	}
	s.prepay("ORD_UNPAID", payments.AlipayApp, 99)
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_UNPAID", RefundNo: "RF_4", AmountFen: 1, TotalFen: 99}); !errors.As(err, &ce) || ce.Code != "ACQ.TRADE_STATUS_ERROR" {
		t.Fatalf("refund of an unpaid trade: %v", err)
	}
}

// TestUnavailable: 5xx and code 20000 are ErrChannelUnavailable for every
// call; the fault then clears and calls work again.
func TestUnavailable(t *testing.T) {
	s := newStack(t)
	for _, status := range []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusOK} {
		if st := s.control("PUT", "/faults", map[string]int{"api_status": status}, nil); st != http.StatusOK {
			t.Fatalf("faults: %d", st)
		}
		calls := map[string]func() error{
			"query": func() error { _, err := s.p.Query(ctx, "ORD_X"); return err },
			"close": func() error { return s.p.Close(ctx, "ORD_X") },
			"refund": func() error {
				_, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_X", RefundNo: "RF_X", AmountFen: 1})
				return err
			},
			"refund query": func() error { _, err := s.p.QueryRefund(ctx, "ORD_X", "RF_X"); return err },
			"bill":         func() error { _, err := s.p.TradeBill(ctx, "2026-01-01"); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, payments.ErrChannelUnavailable) {
				t.Fatalf("%d %s: %v", status, name, err)
			}
		}
	}
	s.control("DELETE", "/faults", nil, nil)
	if tr, err := s.p.Query(ctx, "ORD_X"); err != nil || tr.State != payments.TradeUnknown {
		t.Fatalf("after the fault: %+v %v", tr, err)
	}
}

// TestAnswersVerified: an adapter that trusts another Alipay key refuses
// every answer of the sim as unverified (ErrChannelUnavailable), and a
// refusal it cannot verify decides nothing (Close does not report success).
func TestAnswersVerified(t *testing.T) {
	s := newStack(t)
	s.prepay("ORD_V", payments.AlipayApp, 100)
	p, err := alipay.New(alipay.Config{
		AppID: testAppID, PrivateKey: appKeyPEM, AlipayPublicKey: publicPEM(strangerKey), BaseURL: s.simURL, Clock: s.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(ctx, "ORD_V"); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("query with the wrong key: %v", err)
	}
	if err := p.Close(ctx, "ORD_UNKNOWN"); err == nil {
		t.Fatal("an unverified ACQ.TRADE_NOT_EXIST closed the order")
	}
}

// TestBadRequestsRefused: a call signed with another app key is refused by
// the sim (isv.invalid-signature) and reported as a ChannelError.
func TestBadRequestsRefused(t *testing.T) {
	s := newStack(t)
	p, err := alipay.New(alipay.Config{
		AppID: testAppID, PrivateKey: privatePEM(strangerKey), AlipayPublicKey: alipayPubPEM, BaseURL: s.simURL, Clock: s.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ce *payments.ChannelError
	if _, err := p.Query(ctx, "ORD_1"); !errors.As(err, &ce) || ce.Code != "isv.invalid-signature" {
		t.Fatalf("query signed by a stranger: %v", err)
	}
}

// TestConfig: bad settings are refused, naming the setting, never quoting
// a key.
func TestConfig(t *testing.T) {
	testKeys(t)
	_, err := alipay.New(alipay.Config{AppID: "", PrivateKey: "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----", AlipayPublicKey: "bm90IGEga2V5"})
	if err == nil || !strings.Contains(err.Error(), "AppID") || !strings.Contains(err.Error(), "PrivateKey") ||
		!strings.Contains(err.Error(), "AlipayPublicKey") || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("config error %v", err)
	}
	// Bare base64 keys, as Alipay's tools print them, are accepted.
	if _, err := alipay.New(alipay.Config{AppID: testAppID, PrivateKey: pemBody(appKeyPEM), AlipayPublicKey: pemBody(alipayPubPEM)}); err != nil {
		t.Fatal(err)
	}
}

// TestBill: the day's bill (two payments, one refund) streams with totals
// matching its rows; before 09:00 the next day it is not ready.
func TestBill(t *testing.T) {
	s := newStack(t)
	day := time.Date(2026, 3, 16, 10, 0, 0, 0, platform.Shanghai())
	s.clock.Set(day)
	s.prepay("ORD_B1", payments.AlipayApp, 99)
	s.pay("ORD_B1")
	s.next()
	s.prepay("ORD_B2", payments.AlipayWap, 2000)
	s.pay("ORD_B2")
	s.next()
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD_B2", RefundNo: "RF_B2", AmountFen: 500, TotalFen: 2000}); err != nil {
		t.Fatal(err)
	}
	s.next()
	var ce *payments.ChannelError
	if _, err := s.p.TradeBill(ctx, "2026-03-16"); !errors.As(err, &ce) || ce.Code != "isp.bill_not_exist" {
		t.Fatalf("bill before it is ready: %v", err)
	}
	s.clock.Set(day.Add(24 * time.Hour))
	br, err := s.p.TradeBill(ctx, "2026-03-16")
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	rows, err := readAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	var paid, refunded, fee int64
	for _, r := range rows {
		switch r.Kind {
		case payments.BillPayment:
			paid += r.AmountFen
		case payments.BillRefund:
			refunded += r.AmountFen
			if r.RefundNo != "RF_B2" || r.OrderNo != "ORD_B2" || r.AmountFen != 500 {
				t.Fatalf("refund row %+v", r)
			}
		}
		fee += r.FeeMilliFen
		if r.TradeTime.IsZero() || r.ChannelTradeNo == "" || strings.ContainsAny(r.OrderNo, "\t ") {
			t.Fatalf("row %+v", r)
		}
	}
	tot := br.Totals()
	if paid != 2099 || refunded != 500 || tot.PaidFen != paid || tot.RefundedFen != refunded || tot.Trades != 3 || tot.FeeMilliFen != fee {
		t.Fatalf("totals %+v, rows paid %d refunded %d fee %d", tot, paid, refunded, fee)
	}
	if fee != (1+12-3)*1000 { // 0.6 %: 99 → 1 fen, 2000 → 12 fen, 500 refunded → 3 fen back
		t.Fatalf("fees %d milli-fen", fee)
	}
}

// readAll reads every row, then returns Next's final error (nil for io.EOF).
func readAll(br payments.BillReader) ([]payments.BillRow, error) {
	var rows []payments.BillRow
	for {
		r, err := br.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
}
