package alipay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-pay/gopay"
	gopayalipay "github.com/go-pay/gopay/alipay"
	"github.com/go-pay/gopay/pkg/xhttp"

	"banshi/internal/platform"
	"banshi/payments"
)

// Gateway methods.
const (
	methodQuery       = "alipay.trade.query"
	methodClose       = "alipay.trade.close"
	methodRefund      = "alipay.trade.refund"
	methodRefundQuery = "alipay.trade.fastpay.refund.query"
	methodBill        = "alipay.data.dataservice.bill.downloadurl.query"
)

// Alipay's sub_codes the adapter acts on.
const (
	subTradeNotExist   = "ACQ.TRADE_NOT_EXIST"
	subTradeStatusErr  = "ACQ.TRADE_STATUS_ERROR"
	subTradeHasSuccess = "ACQ.TRADE_HAS_SUCCESS"
	subSystemError     = "ACQ.SYSTEM_ERROR"
	codeUnavailable    = "20000"
)

// CodeRefundNotFound is the ChannelError code of QueryRefund for a refund
// Alipay does not know (it answers success without refund fields: "not
// refunded").
const CodeRefundNotFound = "REFUND_NOT_FOUND"

// Provider is the Alipay channel. Build it with New. Safe for concurrent
// use.
type Provider struct {
	cfg    Config
	keys   parsed
	client *gopayalipay.Client
	clock  platform.Clock
	log    *slog.Logger
	http   *http.Client // bill downloads, through the same transport
}

var _ payments.Provider = (*Provider)(nil)

// New returns the adapter for cfg. It makes no network call. Errors name
// the faulty settings, never their values.
func New(cfg Config) (*Provider, error) {
	keys, err := cfg.check()
	if err != nil {
		return nil, err
	}
	payments.FillAdapterDefaults(&cfg.Clock, &cfg.Log, &cfg.Timeout, &cfg.DownloadTimeout)
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	// The key parsed above, so gopay's decoder (which quotes the key in its
	// errors) cannot fail here.
	client, err := gopayalipay.NewClient(cfg.AppID, keys.privateKeyB64, true)
	if err != nil {
		return nil, fmt.Errorf("%w: the app private key was refused by gopay", errConfig)
	}
	client.SetLogger(payments.GopayLogger{Log: cfg.Log})
	var next http.RoundTripper = http.DefaultTransport
	if cfg.Breaker != nil {
		next = &platform.BreakerTransport{Breaker: cfg.Breaker, Next: next}
	}
	if cfg.WrapTransport != nil {
		next = cfg.WrapTransport(next)
	}
	rt, err := newTransport(next, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	client.SetHttpClient(xhttp.NewClient().SetTransport(rt).SetTimeout(cfg.Timeout))
	return &Provider{
		cfg: cfg, keys: keys, client: client, clock: cfg.Clock, log: cfg.Log,
		http: &http.Client{Transport: rt, Timeout: cfg.DownloadTimeout},
	}, nil
}

// Name is payments.ProviderAlipay.
func (p *Provider) Name() string { return payments.ProviderAlipay }

// Prepay signs, locally, the app order string (alipay_app →
// {"order_string"}) or the WAP gateway URL (alipay_wap → {"url"}). Nothing
// is called: the trade exists at Alipay once the payer opens it. The same
// OrderNo and amount signed again opens the same trade. When BaseURL is set
// the URL points at it (the simulator's gateway).
func (p *Provider) Prepay(ctx context.Context, r payments.PrepayRequest) (map[string]any, error) {
	notifyURL := r.NotifyURL
	if notifyURL == "" {
		notifyURL = p.cfg.NotifyURL
	}
	switch {
	case r.Method != payments.AlipayApp && r.Method != payments.AlipayWap:
		return nil, fmt.Errorf("alipay: method %q is not an Alipay method", r.Method)
	case r.OrderNo == "" || r.AmountFen <= 0 || r.Subject == "":
		return nil, errors.New("alipay prepay: OrderNo, a positive AmountFen and Subject are required")
	case notifyURL == "":
		return nil, errors.New("alipay prepay: no notify URL")
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", r.OrderNo).
		Set("total_amount", payments.Yuan(r.AmountFen)).
		Set("subject", r.Subject).
		Set("notify_url", notifyURL)
	if !r.ExpiresAt.IsZero() {
		bm.Set("time_expire", r.ExpiresAt.In(platform.Shanghai()).Format(time.DateTime))
	}
	if r.Attach != "" {
		bm.Set("passback_params", url.QueryEscape(r.Attach))
	}
	if r.Method == payments.AlipayApp {
		bm.Set("product_code", "QUICK_MSECURITY_PAY")
		s, err := p.client.TradeAppPay(ctx, bm)
		if err != nil {
			return nil, errors.New("alipay prepay: signing the order string failed")
		}
		return map[string]any{"order_string": s}, nil
	}
	if p.cfg.ReturnURL != "" {
		bm.Set("return_url", p.cfg.ReturnURL)
	}
	u, err := p.client.TradeWapPay(ctx, bm)
	if err != nil {
		return nil, errors.New("alipay prepay: signing the gateway URL failed")
	}
	if p.cfg.BaseURL != "" {
		u = p.cfg.BaseURL + "/gateway.do" + strings.TrimPrefix(u, DefaultGateway)
	}
	return map[string]any{"url": u}, nil
}

// Query asks for the trade's state; a trade Alipay does not know (never
// opened by the payer) is payments.TradeUnknown. TRADE_CLOSED of a trade
// that was paid (fully refunded) is payments.TradeRefunded.
func (p *Provider) Query(ctx context.Context, orderNo string) (payments.Trade, error) {
	if orderNo == "" {
		return payments.Trade{}, errors.New("alipay query: orderNo is required")
	}
	ctx, c := withCapture(ctx)
	rsp, err := p.client.TradeQuery(ctx, make(gopay.BodyMap).Set("out_trade_no", orderNo))
	biz, verified, err := p.outcome("query", methodQuery, c, err)
	if err != nil {
		return payments.Trade{}, err
	}
	if biz != nil {
		if biz.SubCode == subTradeNotExist && verified {
			return payments.Trade{OrderNo: orderNo, State: payments.TradeUnknown}, nil
		}
		return payments.Trade{}, p.refusal("query", biz, verified)
	}
	q := rsp.Response
	if q.OutTradeNo != orderNo {
		return payments.Trade{}, fmt.Errorf("alipay query: answer for another order: %w", payments.ErrMalformed)
	}
	t := payments.Trade{
		OrderNo: q.OutTradeNo, ChannelTradeNo: q.TradeNo, State: tradeState(q.TradeStatus, q.SendPayDate != ""),
		MerchantID: p.cfg.SellerID, AppID: p.cfg.AppID, PayerID: q.BuyerUserId,
	}
	if t.PayerID == "" {
		t.PayerID = q.BuyerOpenId
	}
	var ok bool
	if t.AmountFen, ok = fenOf(q.TotalAmount); !ok {
		return payments.Trade{}, fmt.Errorf("alipay query: total_amount: %w", payments.ErrMalformed)
	}
	if t.State == payments.TradePaid || t.State == payments.TradeRefunded {
		t.PaidFen = t.AmountFen
		if q.BuyerPayAmount != "" {
			if t.PaidFen, ok = fenOf(q.BuyerPayAmount); !ok {
				return payments.Trade{}, fmt.Errorf("alipay query: buyer_pay_amount: %w", payments.ErrMalformed)
			}
		}
		if t.PaidAt, ok = parseTime(q.SendPayDate); !ok && q.SendPayDate != "" {
			return payments.Trade{}, fmt.Errorf("alipay query: send_pay_date: %w", payments.ErrMalformed)
		}
	}
	return t, nil
}

// tradeState maps Alipay's trade_status; paid tells a TRADE_CLOSED trade
// that was paid (and fully refunded) from one closed unpaid.
func tradeState(s string, paid bool) string {
	switch s {
	case "WAIT_BUYER_PAY":
		return payments.TradePaying
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		return payments.TradePaid
	case "TRADE_CLOSED":
		if paid {
			return payments.TradeRefunded
		}
		return payments.TradeClosed
	}
	return payments.TradeUnknown
}

// Close closes the unpaid trade. A trade already closed is not an error,
// nor is one Alipay does not know (the payer never opened it — it stays
// payable until its time_expire, so Banshi must set ExpiresAt and still
// handle a late payment). A trade paid (refunded or not) is
// payments.ErrPaidAtChannel: Alipay answers ACQ.TRADE_STATUS_ERROR for
// both paid and closed trades, so Close asks Query which it is.
func (p *Provider) Close(ctx context.Context, orderNo string) error {
	if orderNo == "" {
		return errors.New("alipay close: orderNo is required")
	}
	cctx, c := withCapture(ctx)
	_, err := p.client.TradeClose(cctx, make(gopay.BodyMap).Set("out_trade_no", orderNo))
	biz, verified, err := p.outcome("close", methodClose, c, err)
	if err != nil || biz == nil {
		return err
	}
	switch {
	case !verified:
	case biz.SubCode == subTradeNotExist:
		return nil
	case biz.SubCode == subTradeHasSuccess:
		return payments.ErrPaidAtChannel
	case biz.SubCode == subTradeStatusErr:
		t, err := p.Query(ctx, orderNo)
		if err != nil {
			return err
		}
		switch t.State {
		case payments.TradePaid, payments.TradeRefunded:
			return payments.ErrPaidAtChannel
		case payments.TradeClosed:
			return nil
		}
	}
	return p.refusal("close", biz, verified)
}

// Refund refunds r.AmountFen of a paid trade, at once (Alipay refunds
// synchronously). The same RefundNo (out_request_no) again answers the
// refund made first. Errors: *payments.ChannelError (ACQ.TRADE_NOT_EXIST,
// ACQ.TRADE_STATUS_ERROR for an unpaid trade,
// ACQ.REFUND_AMT_NOT_EQUAL_TOTAL beyond what is left,
// ACQ.SELLER_BALANCE_NOT_ENOUGH, …), payments.ErrChannelUnavailable.
func (p *Provider) Refund(ctx context.Context, r payments.RefundRequest) (payments.Refund, error) {
	if r.OrderNo == "" || r.RefundNo == "" || r.AmountFen <= 0 || (r.TotalFen > 0 && r.TotalFen < r.AmountFen) {
		return payments.Refund{}, errors.New("alipay refund: OrderNo, RefundNo and 0 < AmountFen ≤ TotalFen are required")
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", r.OrderNo).Set("refund_amount", payments.Yuan(r.AmountFen)).Set("out_request_no", r.RefundNo)
	if r.Reason != "" {
		bm.Set("refund_reason", r.Reason)
	}
	cctx, c := withCapture(ctx)
	rsp, err := p.client.TradeRefund(cctx, bm)
	biz, verified, err := p.outcome("refund", methodRefund, c, err)
	if err != nil {
		return payments.Refund{}, err
	}
	if biz != nil {
		return payments.Refund{}, p.refusal("refund", biz, verified)
	}
	q := rsp.Response
	if q.OutTradeNo != r.OrderNo {
		return payments.Refund{}, fmt.Errorf("alipay refund: answer for another order: %w", payments.ErrMalformed)
	}
	if q.FundChange != "Y" {
		// A repeated out_request_no (or a refund Alipay is still doing):
		// the refund query says what became of it.
		return p.QueryRefund(ctx, r.OrderNo, r.RefundNo)
	}
	f := payments.Refund{OrderNo: r.OrderNo, RefundNo: r.RefundNo, ChannelRefundNo: q.TradeNo, State: payments.RefundSucceeded, AmountFen: r.AmountFen}
	f.SucceededAt, _ = parseTime(q.GmtRefundPay)
	return f, nil
}

// QueryRefund asks for a refund's state. A refund Alipay does not know is a
// *payments.ChannelError CodeRefundNotFound; an unknown trade
// ACQ.TRADE_NOT_EXIST.
func (p *Provider) QueryRefund(ctx context.Context, orderNo, refundNo string) (payments.Refund, error) {
	if orderNo == "" || refundNo == "" {
		return payments.Refund{}, errors.New("alipay refund query: orderNo and refundNo are required")
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", orderNo).Set("out_request_no", refundNo).Set("query_options", []string{"gmt_refund_pay"})
	ctx, c := withCapture(ctx)
	rsp, err := p.client.TradeFastPayRefundQuery(ctx, bm)
	biz, verified, err := p.outcome("refund query", methodRefundQuery, c, err)
	if err != nil {
		return payments.Refund{}, err
	}
	if biz != nil {
		return payments.Refund{}, p.refusal("refund query", biz, verified)
	}
	q := rsp.Response
	if q.OutTradeNo != "" && q.OutTradeNo != orderNo {
		return payments.Refund{}, fmt.Errorf("alipay refund query: answer for another order: %w", payments.ErrMalformed)
	}
	if q.RefundAmount == "" {
		return payments.Refund{}, &payments.ChannelError{Provider: payments.ProviderAlipay, Code: CodeRefundNotFound, Message: "支付宝未查到该退款"}
	}
	if q.OutRequestNo != refundNo {
		return payments.Refund{}, fmt.Errorf("alipay refund query: answer for another refund: %w", payments.ErrMalformed)
	}
	f := payments.Refund{OrderNo: orderNo, RefundNo: refundNo, ChannelRefundNo: q.TradeNo, State: payments.RefundProcessing}
	var ok bool
	if f.AmountFen, ok = fenOf(q.RefundAmount); !ok {
		return payments.Refund{}, fmt.Errorf("alipay refund query: refund_amount: %w", payments.ErrMalformed)
	}
	// Alipay: an answer with refund data and refund_status empty or
	// REFUND_SUCCESS is a refund made.
	if q.RefundStatus == "" || q.RefundStatus == "REFUND_SUCCESS" {
		f.State = payments.RefundSucceeded
		f.SucceededAt, _ = parseTime(q.GmtRefundPay)
	}
	return f, nil
}

// outcome sorts a gopay call's result: nil error and nil biz for a verified
// success; a business refusal with whether its signature verified; or the
// adapter's error: ErrChannelUnavailable for a transport failure, a
// non-200 answer, code 20000 / ACQ.SYSTEM_ERROR, an unreadable answer or a
// success whose signature does not verify. Only transport and HTTP errors
// are quoted (they carry a URL or a status, never a key).
func (p *Provider) outcome(op, method string, c *capture, err error) (*gopayalipay.BizErr, bool, error) {
	if err == nil {
		if !p.verifyAnswer(c.bytes(), method) {
			p.log.Warn("alipay: answer signature did not verify", "op", op)
			return nil, false, fmt.Errorf("alipay %s: answer signature did not verify: %w", op, payments.ErrChannelUnavailable)
		}
		return nil, true, nil
	}
	if biz, ok := gopayalipay.IsBizError(err); ok {
		if biz.Code == codeUnavailable || biz.SubCode == subSystemError || (strings.HasPrefix(biz.SubCode, "isp.") && biz.SubCode != "isp.bill_not_exist") {
			return nil, false, fmt.Errorf("alipay %s: %s %s: %w", op, biz.Code, biz.SubCode, payments.ErrChannelUnavailable)
		}
		return biz, p.verifyAnswer(c.bytes(), method), nil
	}
	if errors.Is(err, gopay.UnmarshalErr) {
		return nil, false, fmt.Errorf("alipay %s: unreadable answer: %w", op, payments.ErrChannelUnavailable)
	}
	return nil, false, fmt.Errorf("alipay %s: %w: %w", op, payments.ErrChannelUnavailable, err)
}

// refusal turns a business refusal into a *payments.ChannelError with
// Alipay's sub_code (its code when there is none). A refusal whose
// signature did not verify is reported all the same: it decides nothing.
func (p *Provider) refusal(op string, biz *gopayalipay.BizErr, verified bool) error {
	if !verified {
		p.log.Warn("alipay: refusal signature did not verify", "op", op, "sub_code", biz.SubCode)
	}
	code := biz.SubCode
	if code == "" {
		code = biz.Code
	}
	msg := biz.SubMsg
	if msg == "" {
		msg = biz.Msg
	}
	return &payments.ChannelError{Provider: payments.ProviderAlipay, Code: code, Message: msg}
}
