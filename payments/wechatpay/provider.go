package wechatpay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/pkg/xhttp"
	wechat "github.com/go-pay/gopay/wechat/v3"

	"banshi/internal/platform"
	"banshi/payments"
)

// Provider is the WeChat Pay channel. Build it with New. Safe for
// concurrent use.
type Provider struct {
	cfg     Config
	keys    parsed
	client  *wechat.ClientV3
	clock   platform.Clock
	log     *slog.Logger
	baseURL string
	http    *http.Client // bill downloads

	mu          sync.RWMutex
	verifyKeys  map[string]*rsa.PublicKey // Wechatpay-Serial → key, for callbacks
	certsLoaded bool
	lastRefresh time.Time
}

var _ payments.Provider = (*Provider)(nil)

// New returns the adapter for cfg. It makes no network call: in platform
// certificate mode the certificates are fetched at the first call. Errors
// name the faulty settings, never their values.
func New(cfg Config) (*Provider, error) {
	keys, err := cfg.check()
	if err != nil {
		return nil, err
	}
	payments.FillAdapterDefaults(&cfg.Clock, &cfg.Log, &cfg.Timeout, &cfg.DownloadTimeout)
	// The key parsed above, so gopay's decoder (which quotes the PEM in its
	// errors) cannot fail here.
	client, err := wechat.NewClientV3(cfg.MchID, cfg.SerialNo, cfg.APIv3Key, cfg.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: the merchant private key was refused by gopay", errConfig)
	}
	client.SetLogger(payments.GopayLogger{Log: cfg.Log})
	xc := xhttp.NewClient().SetTimeout(cfg.Timeout)
	rt, dl := xc.HttpClient.Transport, http.RoundTripper(http.DefaultTransport)
	if cfg.Breaker != nil {
		rt = &platform.BreakerTransport{Breaker: cfg.Breaker, Next: rt}
		dl = &platform.BreakerTransport{Breaker: cfg.Breaker, Next: dl}
	}
	if cfg.WrapTransport != nil { // outside the breaker: a refusal shows in the trace
		rt, dl = cfg.WrapTransport(rt), cfg.WrapTransport(dl)
	}
	client.SetHttpClient(xc.SetTransport(rt))
	download := &http.Client{Transport: dl, Timeout: cfg.DownloadTimeout}
	base := DefaultBaseURL
	if cfg.BaseURL != "" {
		base = strings.TrimSuffix(cfg.BaseURL, "/")
		client.SetProxyHost(base)
	}
	p := &Provider{
		cfg: cfg, keys: keys, client: client, clock: cfg.Clock, log: cfg.Log, baseURL: base,
		http:       download,
		verifyKeys: map[string]*rsa.PublicKey{},
	}
	if keys.publicKey != nil {
		if err := client.AutoVerifySignByPublicKey([]byte(cfg.PublicKeyPEM), cfg.PublicKeyID); err != nil {
			return nil, fmt.Errorf("%w: the WeChat Pay public key was refused by gopay", errConfig)
		}
		p.verifyKeys[cfg.PublicKeyID] = keys.publicKey
	}
	return p, nil
}

// Ready is nil unless the adapter's breaker is open (then its refusal,
// platform.ErrUpstreamUnavailable): the order service asks before it
// creates an order whose prepay would be refused at once.
func (p *Provider) Ready() error {
	if p.cfg.Breaker == nil {
		return nil
	}
	return p.cfg.Breaker.Ready()
}

// Name is payments.ProviderWeChatPay.
func (p *Provider) Name() string { return payments.ProviderWeChatPay }

// ready fetches the platform certificates once, in certificate mode, before
// the first call: gopay verifies answers only once it knows a key.
func (p *Provider) ready() error {
	if !p.cfg.PlatformCertificates {
		return nil
	}
	p.mu.RLock()
	loaded := p.certsLoaded
	p.mu.RUnlock()
	if loaded {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.certsLoaded {
		return nil
	}
	if err := p.loadCertsLocked(); err != nil {
		return err
	}
	p.certsLoaded = true
	return nil
}

// loadCertsLocked downloads the platform certificates (their ciphertext
// opened with the APIv3 key authenticates them) and hands their keys to
// gopay and to the callback verifier.
func (p *Provider) loadCertsLocked() error {
	p.lastRefresh = p.clock.Now()
	newest, certs, err := p.client.GetAndSelectNewestCert()
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("wechatpay: platform certificates: %w", payments.ErrChannelUnavailable)
	}
	for serial, certPEM := range certs {
		pub, err := parsePublicKey(certPEM)
		if err != nil {
			return fmt.Errorf("wechatpay: platform certificate %s: %w", serial, payments.ErrMalformed)
		}
		p.verifyKeys[serial] = pub
		p.client.SnCertMap.Store(serial, pub)
	}
	if p.keys.publicKey == nil && !p.certsLoaded {
		// Turns on gopay's answer verification and names the certificate
		// in Wechatpay-Serial; with a public key configured that stays.
		if err := p.client.AutoVerifySignByCert([]byte(certs[newest]), newest); err != nil {
			return fmt.Errorf("wechatpay: platform certificate %s: %w", newest, payments.ErrMalformed)
		}
	}
	p.log.Debug("wechatpay: platform certificates loaded", "count", len(certs), "newest", newest)
	return nil
}

// Prepay creates the JSAPI (mini-program) or APP transaction and returns the
// client's payment parameters, signed with the merchant key. Errors:
// payments.ErrChannelUnavailable, *payments.ChannelError (OUT_TRADE_NO_USED
// when the same OrderNo was created with other parameters, ORDERPAID,
// ORDER_CLOSED, PARAM_ERROR, …), or an invalid request.
func (p *Provider) Prepay(ctx context.Context, r payments.PrepayRequest) (map[string]any, error) {
	appID, err := p.appID(r.Method)
	if err != nil {
		return nil, err
	}
	notifyURL := r.NotifyURL
	if notifyURL == "" {
		notifyURL = p.cfg.NotifyURL
	}
	switch {
	case r.OrderNo == "" || r.AmountFen <= 0 || r.Subject == "":
		return nil, errors.New("wechatpay prepay: OrderNo, a positive AmountFen and Subject are required")
	case r.Method == payments.WeChatJSAPI && r.PayerOpenID == "":
		return nil, errors.New("wechatpay prepay: wechat_jsapi needs PayerOpenID")
	case notifyURL == "":
		return nil, errors.New("wechatpay prepay: no notify URL")
	}
	if err := p.ready(); err != nil {
		return nil, err
	}
	bm := make(gopay.BodyMap)
	bm.Set("appid", appID).
		Set("mchid", p.cfg.MchID).
		Set("description", r.Subject).
		Set("out_trade_no", r.OrderNo).
		Set("notify_url", notifyURL).
		SetBodyMap("amount", func(b gopay.BodyMap) { b.Set("total", r.AmountFen).Set("currency", "CNY") })
	if r.Attach != "" {
		bm.Set("attach", r.Attach)
	}
	if !r.ExpiresAt.IsZero() {
		bm.Set("time_expire", r.ExpiresAt.In(platform.Shanghai()).Format(time.RFC3339))
	}
	var rsp *wechat.PrepayRsp
	if r.Method == payments.WeChatJSAPI {
		bm.SetBodyMap("payer", func(b gopay.BodyMap) { b.Set("openid", r.PayerOpenID) })
		rsp, err = p.client.V3TransactionJsapi(ctx, bm)
	} else {
		rsp, err = p.client.V3TransactionApp(ctx, bm)
	}
	if err != nil {
		return nil, p.callError("prepay", rsp != nil, err)
	}
	if rsp.Code != wechat.Success {
		return nil, refusal("prepay", rsp.Code, rsp.ErrResponse)
	}
	prepayID := rsp.Response.PrepayId
	if prepayID == "" {
		return nil, fmt.Errorf("wechatpay prepay: answer without prepay_id: %w", payments.ErrMalformed)
	}
	if r.Method == payments.WeChatJSAPI {
		s, err := p.client.PaySignOfApplet(appID, prepayID)
		if err != nil {
			return nil, errors.New("wechatpay prepay: signing the payment parameters failed")
		}
		return map[string]any{
			"appId": s.AppId, "timeStamp": s.TimeStamp, "nonceStr": s.NonceStr,
			"package": s.Package, "signType": s.SignType, "paySign": s.PaySign,
		}, nil
	}
	s, err := p.client.PaySignOfApp(appID, prepayID)
	if err != nil {
		return nil, errors.New("wechatpay prepay: signing the payment parameters failed")
	}
	return map[string]any{
		"appid": s.Appid, "partnerid": s.Partnerid, "prepayid": s.Prepayid,
		"package": s.Package, "noncestr": s.Noncestr, "timestamp": s.Timestamp, "sign": s.Sign,
	}, nil
}

// appID is the appid of method.
func (p *Provider) appID(m payments.Method) (string, error) {
	var id string
	switch m {
	case payments.WeChatJSAPI:
		id = p.cfg.MiniProgramAppID
	case payments.WeChatApp:
		id = p.cfg.AppAppID
	default:
		return "", fmt.Errorf("wechatpay: method %q is not a WeChat Pay method", m)
	}
	if id == "" {
		return "", fmt.Errorf("wechatpay: method %q has no appid configured", m)
	}
	return id, nil
}

// Query asks for the order's state; an order WeChat does not know is
// payments.TradeUnknown (no error).
func (p *Provider) Query(ctx context.Context, orderNo string) (payments.Trade, error) {
	if orderNo == "" {
		return payments.Trade{}, errors.New("wechatpay query: orderNo is required")
	}
	if err := p.ready(); err != nil {
		return payments.Trade{}, err
	}
	rsp, err := p.client.V3TransactionQueryOrder(ctx, wechat.OutTradeNo, orderNo)
	if err != nil {
		return payments.Trade{}, p.callError("query", rsp != nil, err)
	}
	if rsp.Code == http.StatusNotFound {
		if err := p.verifyRefusal("query", rsp.SignInfo); err != nil {
			return payments.Trade{}, err
		}
		return payments.Trade{OrderNo: orderNo, State: payments.TradeUnknown}, nil
	}
	if rsp.Code != wechat.Success {
		return payments.Trade{}, refusal("query", rsp.Code, rsp.ErrResponse)
	}
	q := rsp.Response
	if q.OutTradeNo != orderNo || q.Mchid != p.cfg.MchID {
		return payments.Trade{}, fmt.Errorf("wechatpay query: answer for another order or merchant: %w", payments.ErrMalformed)
	}
	t := payments.Trade{
		OrderNo: q.OutTradeNo, ChannelTradeNo: q.TransactionId, State: tradeState(q.TradeState),
		MerchantID: q.Mchid, AppID: q.Appid,
	}
	if q.Amount != nil {
		t.AmountFen = int64(q.Amount.Total)
		t.PaidFen = int64(q.Amount.PayerTotal)
	}
	if q.Payer != nil {
		t.PayerID = q.Payer.Openid
	}
	if q.SuccessTime != "" {
		at, err := time.Parse(time.RFC3339, q.SuccessTime)
		if err != nil {
			return payments.Trade{}, fmt.Errorf("wechatpay query: success_time: %w", payments.ErrMalformed)
		}
		t.PaidAt = at.UTC()
	}
	if t.State != payments.TradePaid && t.State != payments.TradeRefunded {
		t.PaidFen = 0
	}
	return t, nil
}

// tradeState maps WeChat's trade_state.
func tradeState(s string) string {
	switch s {
	case "SUCCESS":
		return payments.TradePaid
	case "REFUND":
		return payments.TradeRefunded
	case "NOTPAY", "USERPAYING":
		return payments.TradePaying
	case "CLOSED", "REVOKED", "PAYERROR":
		return payments.TradeClosed
	}
	return payments.TradeUnknown
}

// Close closes the unpaid order. An order already closed, or that WeChat
// never created (it can never be paid), is not an error; a paid one is
// payments.ErrPaidAtChannel.
func (p *Provider) Close(ctx context.Context, orderNo string) error {
	if orderNo == "" {
		return errors.New("wechatpay close: orderNo is required")
	}
	if err := p.ready(); err != nil {
		return err
	}
	rsp, err := p.client.V3TransactionCloseOrder(ctx, orderNo)
	if err != nil {
		return p.callError("close", rsp != nil, err)
	}
	if rsp.Code == wechat.Success {
		return nil
	}
	switch rsp.ErrResponse.Code {
	case "ORDERPAID", "ORDER_PAID":
		if err := p.verifyRefusal("close", rsp.SignInfo); err != nil {
			return err
		}
		return payments.ErrPaidAtChannel
	case "ORDER_CLOSED", "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS":
		if rsp.Code < 500 {
			return p.verifyRefusal("close", rsp.SignInfo)
		}
	}
	return refusal("close", rsp.Code, rsp.ErrResponse)
}

// Refund asks for r.AmountFen back to the payer. The same RefundNo again
// answers the refund WeChat accepted first. Errors: *payments.ChannelError
// (NOT_ENOUGH, INVALID_REQUEST for an amount beyond what is left,
// RESOURCE_NOT_EXISTS, …), payments.ErrChannelUnavailable.
func (p *Provider) Refund(ctx context.Context, r payments.RefundRequest) (payments.Refund, error) {
	if r.OrderNo == "" || r.RefundNo == "" || r.AmountFen <= 0 || r.TotalFen < r.AmountFen {
		return payments.Refund{}, errors.New("wechatpay refund: OrderNo, RefundNo and 0 < AmountFen ≤ TotalFen are required")
	}
	if err := p.ready(); err != nil {
		return payments.Refund{}, err
	}
	notifyURL := r.NotifyURL
	if notifyURL == "" {
		notifyURL = p.cfg.NotifyURL
	}
	bm := make(gopay.BodyMap)
	bm.Set("out_trade_no", r.OrderNo).
		Set("out_refund_no", r.RefundNo).
		SetBodyMap("amount", func(b gopay.BodyMap) {
			b.Set("refund", r.AmountFen).Set("total", r.TotalFen).Set("currency", "CNY")
		})
	if r.Reason != "" {
		bm.Set("reason", r.Reason)
	}
	if notifyURL != "" {
		bm.Set("notify_url", notifyURL)
	}
	rsp, err := p.client.V3Refund(ctx, bm)
	if err != nil {
		return payments.Refund{}, p.callError("refund", rsp != nil, err)
	}
	if rsp.Code != wechat.Success {
		return payments.Refund{}, refusal("refund", rsp.Code, rsp.ErrResponse)
	}
	return refundOf(r.OrderNo, r.RefundNo, (*wechat.RefundQueryResponse)(rsp.Response))
}

// QueryRefund asks for a refund's state. Errors as Refund; an unknown refund
// is a *payments.ChannelError RESOURCE_NOT_EXISTS.
func (p *Provider) QueryRefund(ctx context.Context, orderNo, refundNo string) (payments.Refund, error) {
	if orderNo == "" || refundNo == "" {
		return payments.Refund{}, errors.New("wechatpay refund query: orderNo and refundNo are required")
	}
	if err := p.ready(); err != nil {
		return payments.Refund{}, err
	}
	rsp, err := p.client.V3RefundQuery(ctx, refundNo, nil)
	if err != nil {
		return payments.Refund{}, p.callError("refund query", rsp != nil, err)
	}
	if rsp.Code != wechat.Success {
		return payments.Refund{}, refusal("refund query", rsp.Code, rsp.ErrResponse)
	}
	return refundOf(orderNo, refundNo, rsp.Response)
}

// refundOf reads a refund answer, which must be about orderNo and refundNo.
func refundOf(orderNo, refundNo string, r *wechat.RefundQueryResponse) (payments.Refund, error) {
	if r.OutRefundNo != refundNo || r.OutTradeNo != orderNo {
		return payments.Refund{}, fmt.Errorf("wechatpay refund: answer for another order or refund: %w", payments.ErrMalformed)
	}
	f := payments.Refund{OrderNo: orderNo, RefundNo: refundNo, ChannelRefundNo: r.RefundId, State: refundState(r.Status)}
	if r.Amount != nil {
		f.AmountFen = int64(r.Amount.Refund)
	}
	if r.SuccessTime != "" && f.State == payments.RefundSucceeded {
		at, err := time.Parse(time.RFC3339, r.SuccessTime)
		if err != nil {
			return payments.Refund{}, fmt.Errorf("wechatpay refund: success_time: %w", payments.ErrMalformed)
		}
		f.SucceededAt = at.UTC()
	}
	return f, nil
}

// refundState maps WeChat's refund status.
func refundState(s string) string {
	switch s {
	case "SUCCESS":
		return payments.RefundSucceeded
	case "ABNORMAL", "CLOSED":
		return payments.RefundFailed
	}
	return payments.RefundProcessing
}

// callError turns a gopay error into the adapter's: a transport failure, an
// answer that did not verify (answered) or could not be read is
// ErrChannelUnavailable — the outcome is unknown, ask again later. Only
// transport errors are quoted (they carry a URL, never a key).
func (p *Provider) callError(op string, answered bool, err error) error {
	switch {
	case answered || errors.Is(err, gopay.VerifySignatureErr):
		p.log.Warn("wechatpay: answer signature did not verify", "op", op)
		return fmt.Errorf("wechatpay %s: answer signature did not verify: %w", op, payments.ErrChannelUnavailable)
	case errors.Is(err, gopay.UnmarshalErr):
		return fmt.Errorf("wechatpay %s: unreadable answer: %w", op, payments.ErrChannelUnavailable)
	}
	return fmt.Errorf("wechatpay %s: %w: %w", op, payments.ErrChannelUnavailable, err)
}

// verifyRefusal verifies the signature of a non-2xx answer the adapter
// turns into a decision (an order WeChat does not know, an order paid or
// closed, a day without bill): gopay verifies only 2xx answers. An answer
// that does not verify is ErrChannelUnavailable. Other refusals are reported
// as they are (a forged refusal decides nothing).
func (p *Provider) verifyRefusal(op string, si *wechat.SignInfo) error {
	if si == nil || si.HeaderSerial == "" {
		return fmt.Errorf("wechatpay %s: unsigned refusal: %w", op, payments.ErrChannelUnavailable)
	}
	key := p.callbackKey(si.HeaderSerial)
	if key == nil {
		if k, ok := p.client.SnCertMap.Load(si.HeaderSerial); ok {
			key = k
		}
	}
	if key == nil || wechat.V3VerifySignByPK(si.HeaderTimestamp, si.HeaderNonce, si.SignBody, si.HeaderSignature, key) != nil {
		p.log.Warn("wechatpay: refusal signature did not verify", "op", op)
		return fmt.Errorf("wechatpay %s: refusal signature did not verify: %w", op, payments.ErrChannelUnavailable)
	}
	return nil
}

// refusal turns a non-2xx answer into the adapter's error: 5xx and 429
// (FREQUENCY_LIMITED) are ErrChannelUnavailable, the rest a ChannelError.
func refusal(op string, status int, e wechat.ErrResponse) error {
	if status >= 500 || status == http.StatusTooManyRequests {
		return fmt.Errorf("wechatpay %s: HTTP %d %s: %w", op, status, e.Code, payments.ErrChannelUnavailable)
	}
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("HTTP_%d", status)
	}
	return &payments.ChannelError{Provider: payments.ProviderWeChatPay, Code: code, Message: e.Message}
}
