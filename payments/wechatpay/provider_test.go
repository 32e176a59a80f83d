package wechatpay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

var ctx = context.Background()

// channelCode is the code of a *payments.ChannelError, or "".
func channelCode(err error) string {
	var ce *payments.ChannelError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

// The whole path of a mini-program payment, in both verification modes:
// prepay, the payer pays, the callback is verified and parsed, the query
// says paid.
func TestPrepayPayCallbackQuery(t *testing.T) {
	for _, mode := range []struct {
		name string
		o    stackOptions
	}{{"public key", stackOptions{}}, {"platform certificate", stackOptions{certMode: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := newStack(t, mode.o)
			params := s.prepay("ORD20260316001", 12345)
			for _, k := range []string{"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"} {
				if v, _ := params[k].(string); v == "" {
					t.Errorf("payment parameter %s missing: %v", k, params)
				}
			}
			if !strings.HasPrefix(params["package"].(string), "prepay_id=wx") || params["signType"] != "RSA" || params["appId"] != testMiniApp {
				t.Errorf("payment parameters %v", params)
			}
			tr, err := s.p.Query(ctx, "ORD20260316001")
			if err != nil || tr.State != payments.TradePaying || tr.AmountFen != 12345 || tr.PaidFen != 0 {
				t.Fatalf("query before paying: %+v, %v", tr, err)
			}
			txn := s.pay("ORD20260316001")
			got := s.next()
			if got.err != nil {
				t.Fatalf("callback refused: %v", got.err)
			}
			n := got.n
			if n.Kind != payments.NotifyPayment || n.ID == "" || n.Trade.OrderNo != "ORD20260316001" || n.Trade.ChannelTradeNo != txn ||
				n.Trade.State != payments.TradePaid || n.Trade.AmountFen != 12345 || n.Trade.PaidFen != 12345 ||
				n.Trade.PayerID != testOpenID || n.Trade.MerchantID != testMchID || n.Trade.AppID != testMiniApp || n.Trade.PaidAt.IsZero() {
				t.Fatalf("notification %+v", n)
			}
			wantSerial := testPubKeyID
			if mode.o.certMode {
				wantSerial = s.sim.CertificateSerials()[0]
			}
			if got.header.Get("Wechatpay-Serial") != wantSerial {
				t.Errorf("callback signed by %q, want %q", got.header.Get("Wechatpay-Serial"), wantSerial)
			}
			tr, err = s.p.Query(ctx, "ORD20260316001")
			if err != nil || tr.State != payments.TradePaid || tr.PaidFen != 12345 || tr.ChannelTradeNo != txn || !tr.PaidAt.Equal(n.Trade.PaidAt) {
				t.Fatalf("query after paying: %+v, %v", tr, err)
			}
			s.none() // acknowledged: no retry
		})
	}
}

func TestPrepayApp(t *testing.T) {
	s := newStack(t, stackOptions{})
	params, err := s.p.Prepay(ctx, payments.PrepayRequest{OrderNo: "APP0000001", Method: payments.WeChatApp, AmountFen: 500, Subject: "社保缴费"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"appid", "partnerid", "prepayid", "package", "noncestr", "timestamp", "sign"} {
		if v, _ := params[k].(string); v == "" {
			t.Errorf("APP parameter %s missing: %v", k, params)
		}
	}
	if params["partnerid"] != testMchID || params["package"] != "Sign=WXPay" || params["appid"] != testAppApp {
		t.Errorf("APP parameters %v", params)
	}
	s.pay("APP0000001")
	if got := s.next(); got.err != nil || got.n.Trade.PayerID == "" || got.n.Trade.AppID != testAppApp {
		t.Fatalf("APP callback %+v", got)
	}
}

// Asking again for the same order is safe; another amount is refused as
// WeChat refuses it.
func TestPrepayAgain(t *testing.T) {
	s := newStack(t, stackOptions{})
	first := s.prepay("ORD0000002", 100)
	again := s.prepay("ORD0000002", 100)
	if first["package"] != again["package"] {
		t.Errorf("same order, other prepay_id: %v vs %v", first["package"], again["package"])
	}
	_, err := s.p.Prepay(ctx, payments.PrepayRequest{OrderNo: "ORD0000002", Method: payments.WeChatJSAPI, AmountFen: 101, Subject: "不动产登记费", PayerOpenID: testOpenID})
	if channelCode(err) != "OUT_TRADE_NO_USED" {
		t.Fatalf("other amount: %v", err)
	}
	s.pay("ORD0000002")
	s.next()
	if _, err := s.p.Prepay(ctx, payments.PrepayRequest{OrderNo: "ORD0000002", Method: payments.WeChatJSAPI, AmountFen: 100, Subject: "不动产登记费", PayerOpenID: testOpenID}); channelCode(err) != "ORDERPAID" {
		t.Fatalf("prepay of a paid order: %v", err)
	}
}

func TestPrepayRefusesBadInput(t *testing.T) {
	s := newStack(t, stackOptions{})
	for name, r := range map[string]payments.PrepayRequest{
		"alipay method":  {OrderNo: "ORD0000003", Method: payments.AlipayApp, AmountFen: 1, Subject: "x"},
		"zero amount":    {OrderNo: "ORD0000003", Method: payments.WeChatApp, AmountFen: 0, Subject: "x"},
		"no subject":     {OrderNo: "ORD0000003", Method: payments.WeChatApp, AmountFen: 1},
		"jsapi no payer": {OrderNo: "ORD0000003", Method: payments.WeChatJSAPI, AmountFen: 1, Subject: "x"},
	} {
		if _, err := s.p.Prepay(ctx, r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The channel's own refusal: a 5-character order number.
	_, err := s.p.Prepay(ctx, payments.PrepayRequest{OrderNo: "ORD03", Method: payments.WeChatApp, AmountFen: 1, Subject: "x"})
	if channelCode(err) != "PARAM_ERROR" {
		t.Errorf("short order number: %v", err)
	}
	if tr, err := s.p.Query(ctx, "ORD0000003"); err != nil || tr.State != payments.TradeUnknown {
		t.Errorf("a refused prepay created an order: %+v, %v", tr, err)
	}
}

func TestCloseUnpaid(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.prepay("ORD0000004", 100)
	if err := s.p.Close(ctx, "ORD0000004"); err != nil {
		t.Fatal(err)
	}
	if tr, err := s.p.Query(ctx, "ORD0000004"); err != nil || tr.State != payments.TradeClosed {
		t.Fatalf("after close: %+v, %v", tr, err)
	}
	if err := s.p.Close(ctx, "ORD0000004"); err != nil {
		t.Fatalf("closing again: %v", err)
	}
	if err := s.p.Close(ctx, "NEVERCREATED"); err != nil {
		t.Fatalf("closing an order never created: %v", err)
	}
	if st := s.control("POST", "/pay", map[string]string{"out_trade_no": "ORD0000004"}, nil); st != http.StatusConflict {
		t.Fatalf("paying a closed order: %d", st)
	}
}

func TestClosePaidMeanwhile(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.prepay("ORD0000005", 100)
	s.pay("ORD0000005")
	s.next()
	if err := s.p.Close(ctx, "ORD0000005"); !errors.Is(err, payments.ErrPaidAtChannel) {
		t.Fatalf("close of a paid order: %v", err)
	}
	if tr, _ := s.p.Query(ctx, "ORD0000005"); tr.State != payments.TradePaid {
		t.Fatalf("after close attempt: %+v", tr)
	}
}

// A refund asked twice with the same RefundNo is one refund; its callback
// arrives; the query agrees.
func TestRefundIdempotent(t *testing.T) {
	s := newStack(t, stackOptions{manualRefunds: true})
	s.prepay("ORD0000006", 1000)
	txn := s.pay("ORD0000006")
	s.next()
	req := payments.RefundRequest{OrderNo: "ORD0000006", RefundNo: "RF00000006", AmountFen: 300, TotalFen: 1000, Reason: "部门无法办理"}
	first, err := s.p.Refund(ctx, req)
	if err != nil || first.State != payments.RefundProcessing || first.AmountFen != 300 || first.ChannelRefundNo == "" {
		t.Fatalf("refund: %+v, %v", first, err)
	}
	second, err := s.p.Refund(ctx, req)
	if err != nil || second.ChannelRefundNo != first.ChannelRefundNo {
		t.Fatalf("refund again: %+v, %v", second, err)
	}
	if tr, _ := s.p.Query(ctx, "ORD0000006"); tr.State != payments.TradeRefunded {
		t.Fatalf("order after a refund: %+v", tr)
	}
	// The same RefundNo for another amount is refused; beyond what is left too.
	other := req
	other.AmountFen = 400
	if _, err := s.p.Refund(ctx, other); channelCode(err) != "INVALID_REQUEST" {
		t.Fatalf("same refund number, other amount: %v", err)
	}
	beyond := payments.RefundRequest{OrderNo: "ORD0000006", RefundNo: "RF00000007", AmountFen: 701, TotalFen: 1000}
	if _, err := s.p.Refund(ctx, beyond); channelCode(err) != "INVALID_REQUEST" {
		t.Fatalf("refund beyond the rest: %v", err)
	}
	if st := s.control("POST", "/refunds/RF00000006", map[string]string{"status": "SUCCESS"}, nil); st != http.StatusNoContent {
		t.Fatalf("complete refund: %d", st)
	}
	got := s.next()
	if got.err != nil || got.n.Kind != payments.NotifyRefund || got.n.Refund.RefundNo != "RF00000006" ||
		got.n.Refund.State != payments.RefundSucceeded || got.n.Refund.AmountFen != 300 ||
		got.n.Refund.ChannelRefundNo != first.ChannelRefundNo || got.n.Trade.ChannelTradeNo != txn || got.n.Refund.SucceededAt.IsZero() {
		t.Fatalf("refund callback %+v, %v", got.n, got.err)
	}
	q, err := s.p.QueryRefund(ctx, "ORD0000006", "RF00000006")
	if err != nil || q.State != payments.RefundSucceeded || q.SucceededAt.IsZero() {
		t.Fatalf("refund query: %+v, %v", q, err)
	}
	if _, err := s.p.QueryRefund(ctx, "ORD0000006", "RFUNKNOWN1"); channelCode(err) != "RESOURCE_NOT_EXISTS" {
		t.Fatalf("unknown refund: %v", err)
	}
	// The base account holds 700 now; emptied, a refund is NOT_ENOUGH.
	s.control("PUT", "/balance", map[string]int64{"balance_fen": 0}, nil)
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD0000006", RefundNo: "RF00000008", AmountFen: 1, TotalFen: 1000}); channelCode(err) != "NOT_ENOUGH" {
		t.Fatalf("refund without balance: %v", err)
	}
}

func TestRefundFailsAbnormal(t *testing.T) {
	s := newStack(t, stackOptions{manualRefunds: true})
	s.prepay("ORD0000009", 1000)
	s.pay("ORD0000009")
	s.next()
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD0000009", RefundNo: "RF00000009", AmountFen: 1000, TotalFen: 1000}); err != nil {
		t.Fatal(err)
	}
	s.control("POST", "/refunds/RF00000009", map[string]string{"status": "ABNORMAL"}, nil)
	if got := s.next(); got.err != nil || got.n.Refund.State != payments.RefundFailed {
		t.Fatalf("abnormal refund callback %+v, %v", got.n, got.err)
	}
	if tr, _ := s.p.Query(ctx, "ORD0000009"); tr.State != payments.TradePaid {
		t.Fatalf("order after a failed refund: %+v", tr)
	}
}

// 5xx and 429 answers, and a channel that cannot be reached, are
// ErrChannelUnavailable; the next call goes through.
func TestChannelUnavailable(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.prepay("ORD0000010", 100)
	for _, status := range []int{500, 503, 429} {
		s.control("PUT", "/faults", map[string]int{"api_status": status, "api_count": 1}, nil)
		_, err := s.p.Query(ctx, "ORD0000010")
		if !errors.Is(err, payments.ErrChannelUnavailable) {
			t.Fatalf("%d: %v", status, err)
		}
		if tr, err := s.p.Query(ctx, "ORD0000010"); err != nil || tr.State != payments.TradePaying {
			t.Fatalf("after %d: %+v, %v", status, tr, err)
		}
	}
	s.control("PUT", "/faults", map[string]int{"api_status": 502}, nil)
	if err := s.p.Close(ctx, "ORD0000010"); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("close during 502: %v", err)
	}
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "ORD0000010", RefundNo: "RF00000010", AmountFen: 1, TotalFen: 100}); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("refund during 502: %v", err)
	}
	if _, err := s.p.TradeBill(ctx, "2026-01-01"); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("bill during 502: %v", err)
	}
	s.control("DELETE", "/faults", nil, nil)

	testKeys(t)
	down, err := wechatpay.New(wechatpay.Config{
		MchID: testMchID, MiniProgramAppID: testMiniApp, SerialNo: testSerial, PrivateKeyPEM: merchantPEM,
		APIv3Key: testAPIv3Key, PublicKeyID: testPubKeyID, PublicKeyPEM: wxPayPubPEM,
		BaseURL: "http://127.0.0.1:1/sim/wechatpay", Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Query(ctx, "ORD0000010"); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("unreachable: %v", err)
	}
}

// An answer signed by a key the adapter does not trust is not believed.
func TestAnswerSignatureChecked(t *testing.T) {
	s := newStack(t, stackOptions{})
	testKeys(t)
	p, err := wechatpay.New(wechatpay.Config{
		MchID: testMchID, MiniProgramAppID: testMiniApp, SerialNo: testSerial, PrivateKeyPEM: merchantPEM,
		APIv3Key: testAPIv3Key, PublicKeyID: testPubKeyID, PublicKeyPEM: pubPEM(&strangerKey.PublicKey),
		BaseURL: s.simURL, NotifyURL: s.notify,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Prepay(ctx, payments.PrepayRequest{OrderNo: "ORD0000011", Method: payments.WeChatJSAPI, PayerOpenID: testOpenID, AmountFen: 1, Subject: "x"})
	if !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("answer under another key: %v", err)
	}
	// gopay does not verify refusals; the adapter does for those it acts on.
	if tr, err := p.Query(ctx, "ORD0000012"); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("404 under another key: %+v, %v", tr, err)
	}
	if err := p.Close(ctx, "ORD0000012"); !errors.Is(err, payments.ErrChannelUnavailable) {
		t.Fatalf("close refusal under another key: %v", err)
	}
	if err := s.p.Close(ctx, "ORD0000012"); err != nil {
		t.Fatalf("close refusal under the right key: %v", err)
	}
}

// Configuration errors name the setting and never quote a key.
func TestConfigErrorsDoNotLeakKeys(t *testing.T) {
	testKeys(t)
	bad := strings.Replace(merchantPEM, "A", "B", 40)
	_, err := wechatpay.New(wechatpay.Config{
		MchID: testMchID, MiniProgramAppID: testMiniApp, SerialNo: testSerial, PrivateKeyPEM: bad,
		APIv3Key: "short", PublicKeyID: "nope", PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
	})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	msg := err.Error()
	for _, secret := range []string{"BEGIN", "short", bad[40:80], "AAAA"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error quotes %q: %s", secret, msg)
		}
	}
	for _, setting := range []string{"PrivateKeyPEM", "APIv3Key", "PublicKeyID", "PublicKeyPEM"} {
		if !strings.Contains(msg, setting) {
			t.Errorf("error does not name %s: %s", setting, msg)
		}
	}
}

// Trade bill: rows and totals of a day with two payments and a refund, read
// as a stream; not before 10:00 the next day; a day without trade is empty.
func TestTradeBill(t *testing.T) {
	s := newStack(t, stackOptions{})
	day := s.clock.Now().In(platform.Shanghai())
	// Keep the trades inside one Shanghai day: move to 09:00 of the next one.
	start := time.Date(day.Year(), day.Month(), day.Day()+1, 9, 0, 0, 0, platform.Shanghai())
	s.clock.Set(start)
	date := start.Format(time.DateOnly)
	s.prepay("BILL000001", 12345)
	s.pay("BILL000001")
	s.next()
	s.prepay("BILL000002", 99)
	s.pay("BILL000002")
	s.next()
	if _, err := s.p.Refund(ctx, payments.RefundRequest{OrderNo: "BILL000001", RefundNo: "BILLRF0001", AmountFen: 2345, TotalFen: 12345}); err != nil {
		t.Fatal(err)
	}
	s.next() // the refund's callback

	if _, err := s.p.TradeBill(ctx, date); channelCode(err) != "STATEMENT_CREATING" {
		t.Fatalf("bill of today: %v", err)
	}
	s.clock.Set(start.Add(25*time.Hour + time.Minute)) // 10:01 the next day
	br, err := s.p.TradeBill(ctx, date)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	var rows []payments.BillRow
	for {
		r, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	var paid, refunded, fees int64
	for _, r := range rows {
		fees += r.FeeMilliFen
		if r.Kind == payments.BillRefund {
			refunded += r.AmountFen
			if r.RefundNo != "BILLRF0001" || r.OrderNo != "BILL000001" || r.Status != "SUCCESS" || r.FeeMilliFen != -2345*6 {
				t.Errorf("refund row %+v", r)
			}
			continue
		}
		paid += r.AmountFen
		if r.Status != "SUCCESS" || r.ChannelTradeNo == "" || r.TradeTime.IsZero() || r.FeeMilliFen != r.AmountFen*6 {
			t.Errorf("payment row %+v", r)
		}
	}
	tot := br.Totals()
	if tot.Trades != 3 || tot.PaidFen != 12345+99 || tot.RefundedFen != 2345 || tot.FeeMilliFen != fees ||
		paid != tot.PaidFen || refunded != tot.RefundedFen {
		t.Fatalf("totals %+v, rows paid %d refunded %d fees %d", tot, paid, refunded, fees)
	}
	if _, err := br.Next(); err != io.EOF {
		t.Fatalf("Next after the end: %v", err)
	}

	empty, err := s.p.TradeBill(ctx, start.AddDate(0, 0, -1).Format(time.DateOnly))
	if err != nil {
		t.Fatalf("bill of a day without trade: %v", err)
	}
	if _, err := empty.Next(); err != io.EOF || empty.Totals() != (payments.BillTotals{}) {
		t.Fatalf("empty bill: %v %+v", err, empty.Totals())
	}
	if _, err := s.p.TradeBill(ctx, "2026-13-01"); err == nil {
		t.Fatal("a bad date was accepted")
	}
}
