package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"banshi/internal/platform"
)

// WeChat Pay v3 error codes the simulator answers with, and their statuses.
const (
	wxpParamError        = "PARAM_ERROR"     // 400
	wxpInvalidRequest    = "INVALID_REQUEST" // 400
	wxpAppIDMchNotMatch  = "APPID_MCHID_NOT_MATCH"
	wxpOrderPaid         = "ORDERPAID"         // 400: the order is paid (prepay, close)
	wxpOrderClosed       = "ORDER_CLOSED"      // 400: the order is closed (prepay)
	wxpOutTradeNoUsed    = "OUT_TRADE_NO_USED" // 403: same out_trade_no, other parameters
	wxpNotEnough         = "NOT_ENOUGH"        // 403: the base account cannot fund the refund
	wxpSignError         = "SIGN_ERROR"        // 401
	wxpOrderNotExist     = "ORDER_NOT_EXIST"   // 404: order query of an unknown out_trade_no
	wxpResourceNotExist  = "RESOURCE_NOT_EXISTS"
	wxpNoStatement       = "NO_STATEMENT_EXIST" // 400: no trade that day
	wxpStatementCreating = "STATEMENT_CREATING" // 400: the bill is not ready yet (before 10:00 next day)
	wxpFrequencyLimited  = "FREQUENCY_LIMITED"  // 429
	wxpSystemError       = "SYSTEM_ERROR"       // 500
)

// wxpNoPattern is what out_trade_no and out_refund_no may be: 6 to 32 of
// digits, letters and _-|* (WeChat's rule).
var wxpNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)

// wxpErrorBody is WeChat Pay v3's error body.
type wxpErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wxpHandler serves one protocol endpoint for an authenticated merchant;
// body is the exact request body.
type wxpHandler func(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, body []byte)

// routeProtocol mounts the WeChat Pay API v3 endpoints.
func (w *WeChatPay) routeProtocol(mux *http.ServeMux) {
	w.protocol(mux, "POST /v3/pay/transactions/jsapi", w.handlePrepay("JSAPI"))
	w.protocol(mux, "POST /v3/pay/transactions/app", w.handlePrepay("APP"))
	w.protocol(mux, "GET /v3/pay/transactions/out-trade-no/{no}", w.handleQueryOrder)
	w.protocol(mux, "GET /v3/pay/transactions/id/{id}", w.handleQueryOrder)
	w.protocol(mux, "POST /v3/pay/transactions/out-trade-no/{no}/close", w.handleCloseOrder)
	w.protocol(mux, "POST /v3/refund/domestic/refunds", w.handleRefund)
	w.protocol(mux, "GET /v3/refund/domestic/refunds/{no}", w.handleQueryRefund)
	w.protocol(mux, "GET /v3/bill/tradebill", w.handleTradeBill)
	w.protocol(mux, "GET /v3/billdownload/file", w.handleDownload)
	w.protocol(mux, "GET /v3/certificates", w.handleCertificates)
}

// protocol mounts one endpoint behind the injected API fault and the
// Authorization check.
func (w *WeChatPay) protocol(mux *http.ServeMux, pattern string, h wxpHandler) {
	method, path, _ := strings.Cut(pattern, " ")
	mux.HandleFunc(method+" "+wxpPrefix+path, func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, wxpMaxBody+1))
		if err != nil || len(body) > wxpMaxBody {
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "请求体过大或无法读取")
			return
		}
		if status, ok := w.takeAPIFault(); ok {
			code, msg := wxpSystemError, "系统错误"
			if status == http.StatusTooManyRequests {
				code, msg = wxpFrequencyLimited, "请求频率超限"
			}
			w.answerError(rw, r, status, code, msg)
			return
		}
		m, why := w.verifyRequest(r, body)
		if m == nil {
			w.answerError(rw, r, http.StatusUnauthorized, wxpSignError, why)
			return
		}
		h(rw, r, m, body)
	})
}

// answer writes v (nil: no body) with status, signed.
func (w *WeChatPay) answer(rw http.ResponseWriter, r *http.Request, status int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
	}
	w.signHeaders(rw.Header(), w.signerFor(r.Header.Get("Wechatpay-Serial")), body)
	rw.Header().Set("Request-ID", newRID())
	if body != nil {
		rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	rw.WriteHeader(status)
	_, _ = rw.Write(body)
}

// answerError writes WeChat Pay's error body, signed.
func (w *WeChatPay) answerError(rw http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.answer(rw, r, status, wxpErrorBody{Code: code, Message: msg})
}

// prepayRequest is the body of JSAPI and APP prepay.
type prepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	TimeExpire  string `json:"time_expire"`
	Attach      string `json:"attach"`
	NotifyURL   string `json:"notify_url"`
	Amount      struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
}

// handlePrepay creates (or finds again) a JSAPI or APP transaction: 200
// {prepay_id}. The same out_trade_no with the same parameters answers the
// same prepay_id; with other parameters 403 OUT_TRADE_NO_USED; a paid order
// 400 ORDERPAID, a closed one 400 ORDER_CLOSED.
func (w *WeChatPay) handlePrepay(tradeType string) wxpHandler {
	return func(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, body []byte) {
		var req prepayRequest
		if err := json.Unmarshal(body, &req); err != nil {
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "请求体不是合法的JSON")
			return
		}
		now := w.now()
		var expire time.Time
		if req.TimeExpire != "" {
			t, err := time.Parse(time.RFC3339, req.TimeExpire)
			if err != nil {
				w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "time_expire 格式错误，应为 RFC 3339")
				return
			}
			expire = t
		}
		openID := ""
		if req.Payer != nil {
			openID = req.Payer.OpenID
		}
		switch {
		case req.MchID != m.MchID:
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "mchid 与请求头中的商户号不一致")
			return
		case req.AppID == "":
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "输入源“/body/appid”映射到值字段“公众号ID”字符串规则校验失败，字节数 0，小于最小值 1")
			return
		case !m.appIDs[req.AppID]:
			w.answerError(rw, r, http.StatusBadRequest, wxpAppIDMchNotMatch, "appid和mch_id不匹配")
			return
		case !wxpNoPattern.MatchString(req.OutTradeNo):
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "out_trade_no 应为6-32位数字、字母或_-|*")
			return
		case req.Description == "" || len(req.Description) > 127:
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "description 长度应为1-127字节")
			return
		case len(req.Attach) > 128:
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "attach 长度不能超过128字节")
			return
		case !strings.HasPrefix(req.NotifyURL, "https://") && !strings.HasPrefix(req.NotifyURL, "http://"):
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "notify_url 应为 http(s) 地址")
			return
		case req.Amount.Total < 1:
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "amount.total 应大于0")
			return
		case req.Amount.Currency != "" && req.Amount.Currency != "CNY":
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "境内商户仅支持人民币 CNY")
			return
		case tradeType == "JSAPI" && openID == "":
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "JSAPI 下单须传 payer.openid")
			return
		case !expire.IsZero() && !expire.After(now):
			w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "time_expire 不能早于当前时间")
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		key := orderKey(m.MchID, req.OutTradeNo)
		if o := w.orders[key]; o != nil {
			switch {
			case o.state == "SUCCESS" || o.state == "REFUND":
				w.answerError(rw, r, http.StatusBadRequest, wxpOrderPaid, "该订单已支付")
			case o.state == "CLOSED":
				w.answerError(rw, r, http.StatusBadRequest, wxpOrderClosed, "订单已关闭")
			case o.appID != req.AppID || o.tradeType != tradeType || o.totalFen != req.Amount.Total ||
				o.description != req.Description || o.payerOpenID != openID:
				w.answerError(rw, r, http.StatusForbidden, wxpOutTradeNoUsed, "商户订单号重复")
			default:
				w.answer(rw, r, http.StatusOK, map[string]string{"prepay_id": o.prepayID})
			}
			return
		}
		o := &wxpOrder{
			mchID: m.MchID, appID: req.AppID, outTradeNo: req.OutTradeNo, tradeType: tradeType,
			description: req.Description, attach: req.Attach, notifyURL: req.NotifyURL,
			totalFen: req.Amount.Total, payerOpenID: openID, timeExpire: expire, created: now,
			state: "NOTPAY", prepayID: "wx" + now.In(platform.Shanghai()).Format("02150405") + randomAlnum(26),
		}
		w.orders[key] = o
		w.prepays[o.prepayID] = o
		w.log.Debug("sim wechatpay: prepay", "mchid", m.MchID, "out_trade_no", o.outTradeNo, "total", o.totalFen)
		w.answer(rw, r, http.StatusOK, map[string]string{"prepay_id": o.prepayID})
	}
}

// wxpAmount is a transaction's amount as queries and callbacks show it.
type wxpAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    int64  `json:"payer_total"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// wxpTransaction is a transaction as the order query and the
// TRANSACTION.SUCCESS callback show it.
type wxpTransaction struct {
	AppID          string             `json:"appid"`
	MchID          string             `json:"mchid"`
	OutTradeNo     string             `json:"out_trade_no"`
	TransactionID  string             `json:"transaction_id,omitempty"`
	TradeType      string             `json:"trade_type,omitempty"`
	TradeState     string             `json:"trade_state"`
	TradeStateDesc string             `json:"trade_state_desc"`
	BankType       string             `json:"bank_type,omitempty"`
	Attach         string             `json:"attach"`
	SuccessTime    string             `json:"success_time,omitempty"`
	Payer          *map[string]string `json:"payer,omitempty"`
	Amount         wxpAmount          `json:"amount"`
}

var wxpTradeStateDesc = map[string]string{
	"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "REFUND": "转入退款", "CLOSED": "订单已关闭",
}

// transactionLocked renders o.
func transactionLocked(o *wxpOrder) wxpTransaction {
	t := wxpTransaction{
		AppID: o.appID, MchID: o.mchID, OutTradeNo: o.outTradeNo, TradeState: o.state,
		TradeStateDesc: wxpTradeStateDesc[o.state], Attach: o.attach,
		Amount: wxpAmount{Total: o.totalFen, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if o.transactionID != "" {
		t.TransactionID = o.transactionID
		t.TradeType = o.tradeType
		t.BankType = "OTHERS"
		t.SuccessTime = rfc3339CN(o.paidAt)
		t.Payer = &map[string]string{"openid": o.payerOpenID}
		t.Amount.PayerTotal = o.totalFen
	}
	return t
}

// rfc3339CN formats t as WeChat does: RFC 3339 with +08:00.
func rfc3339CN(t time.Time) string { return t.In(platform.Shanghai()).Format(time.RFC3339) }

// handleQueryOrder answers a transaction by out_trade_no (or
// transaction_id); ?mchid= must be the caller. 404 ORDER_NOT_EXIST.
func (w *WeChatPay) handleQueryOrder(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, _ []byte) {
	if r.URL.Query().Get("mchid") != m.MchID {
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "mchid 参数缺失或与请求头中的商户号不一致")
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var o *wxpOrder
	if id := r.PathValue("id"); id != "" {
		if t := w.transactions[id]; t != nil && t.mchID == m.MchID {
			o = t
		}
	} else {
		o = w.orders[orderKey(m.MchID, r.PathValue("no"))]
	}
	if o == nil {
		w.answerError(rw, r, http.StatusNotFound, wxpOrderNotExist, "订单不存在")
		return
	}
	w.answer(rw, r, http.StatusOK, transactionLocked(o))
}

// handleCloseOrder closes an unpaid order: 204 (also for an order already
// closed); 400 ORDERPAID when paid; 404 ORDER_NOT_EXIST.
func (w *WeChatPay) handleCloseOrder(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, body []byte) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.MchID != m.MchID {
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "mchid 缺失或与请求头中的商户号不一致")
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	o := w.orders[orderKey(m.MchID, r.PathValue("no"))]
	switch {
	case o == nil:
		w.answerError(rw, r, http.StatusNotFound, wxpOrderNotExist, "订单不存在")
	case o.state == "SUCCESS" || o.state == "REFUND":
		w.answerError(rw, r, http.StatusBadRequest, wxpOrderPaid, "订单已支付")
	default:
		o.state = "CLOSED"
		w.answer(rw, r, http.StatusNoContent, nil)
	}
}

// refundRequest is the body of a refund.
type refundRequest struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	Amount        struct {
		Refund   int64  `json:"refund"`
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// wxpRefundView is a refund as the refund answers show it.
type wxpRefundView struct {
	RefundID            string `json:"refund_id"`
	OutRefundNo         string `json:"out_refund_no"`
	TransactionID       string `json:"transaction_id"`
	OutTradeNo          string `json:"out_trade_no"`
	Channel             string `json:"channel"`
	UserReceivedAccount string `json:"user_received_account"`
	SuccessTime         string `json:"success_time,omitempty"`
	CreateTime          string `json:"create_time"`
	Status              string `json:"status"`
	FundsAccount        string `json:"funds_account"`
	Amount              struct {
		Total            int64  `json:"total"`
		Refund           int64  `json:"refund"`
		PayerTotal       int64  `json:"payer_total"`
		PayerRefund      int64  `json:"payer_refund"`
		SettlementRefund int64  `json:"settlement_refund"`
		SettlementTotal  int64  `json:"settlement_total"`
		DiscountRefund   int64  `json:"discount_refund"`
		Currency         string `json:"currency"`
	} `json:"amount"`
}

func refundViewLocked(f *wxpRefund) wxpRefundView {
	v := wxpRefundView{
		RefundID: f.refundID, OutRefundNo: f.outRefundNo, TransactionID: f.transactionID,
		OutTradeNo: f.outTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		CreateTime: rfc3339CN(f.created), Status: f.status, FundsAccount: "AVAILABLE",
	}
	if !f.succeeded.IsZero() {
		v.SuccessTime = rfc3339CN(f.succeeded)
	}
	v.Amount.Total, v.Amount.Refund = f.totalFen, f.refundFen
	v.Amount.PayerTotal, v.Amount.PayerRefund = f.totalFen, f.refundFen
	v.Amount.SettlementTotal, v.Amount.SettlementRefund = f.totalFen, f.refundFen
	v.Amount.Currency = "CNY"
	return v
}

// handleRefund accepts a refund of a paid order: 200 with the refund
// (PROCESSING). The same out_refund_no with the same order and amount
// answers the refund already accepted; with others 400 INVALID_REQUEST.
// 404 RESOURCE_NOT_EXISTS for an unknown order, 400 INVALID_REQUEST for an
// unpaid one or an amount beyond what is left, 403 NOT_ENOUGH when the base
// account cannot fund it.
func (w *WeChatPay) handleRefund(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, body []byte) {
	var req refundRequest
	if err := json.Unmarshal(body, &req); err != nil {
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "请求体不是合法的JSON")
		return
	}
	switch {
	case !wxpNoPattern.MatchString(req.OutRefundNo):
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "out_refund_no 应为6-32位数字、字母或_-|*")
		return
	case req.OutTradeNo == "" && req.TransactionID == "":
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "transaction_id 和 out_trade_no 必须二选一")
		return
	case req.Amount.Refund < 1 || req.Amount.Total < 1:
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "amount.refund 和 amount.total 应大于0")
		return
	case req.Amount.Currency != "CNY":
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "amount.currency 须为 CNY")
		return
	case len(req.Reason) > 80:
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "reason 长度不能超过80字节")
		return
	case req.NotifyURL != "" && !strings.HasPrefix(req.NotifyURL, "https://") && !strings.HasPrefix(req.NotifyURL, "http://"):
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "notify_url 应为 http(s) 地址")
		return
	}
	now := w.now()
	w.mu.Lock()
	var o *wxpOrder
	if req.TransactionID != "" {
		if t := w.transactions[req.TransactionID]; t != nil && t.mchID == m.MchID {
			o = t
		}
	} else {
		o = w.orders[orderKey(m.MchID, req.OutTradeNo)]
	}
	if f := w.refunds[orderKey(m.MchID, req.OutRefundNo)]; f != nil {
		defer w.mu.Unlock()
		if o == nil || f.outTradeNo != o.outTradeNo || f.refundFen != req.Amount.Refund {
			w.answerError(rw, r, http.StatusBadRequest, wxpInvalidRequest, "退款单号已存在，且与本次请求的订单或金额不一致")
			return
		}
		w.answer(rw, r, http.StatusOK, refundViewLocked(f))
		return
	}
	switch {
	case o == nil:
		w.mu.Unlock()
		w.answerError(rw, r, http.StatusNotFound, wxpResourceNotExist, "订单不存在")
		return
	case o.state != "SUCCESS" && o.state != "REFUND":
		w.mu.Unlock()
		w.answerError(rw, r, http.StatusBadRequest, wxpInvalidRequest, "订单未支付，不能退款")
		return
	case req.Amount.Total != o.totalFen:
		w.mu.Unlock()
		w.answerError(rw, r, http.StatusBadRequest, wxpInvalidRequest, "订单金额与原订单不一致")
		return
	case req.Amount.Refund > o.totalFen-o.refundedFen:
		w.mu.Unlock()
		w.answerError(rw, r, http.StatusBadRequest, wxpInvalidRequest, "申请退款金额超过订单可退金额")
		return
	case req.Amount.Refund > m.balanceFen:
		w.mu.Unlock()
		w.answerError(rw, r, http.StatusForbidden, wxpNotEnough, "基本账户余额不足，请充值后重新发起")
		return
	}
	f := &wxpRefund{
		mchID: m.MchID, outTradeNo: o.outTradeNo, transactionID: o.transactionID,
		outRefundNo: req.OutRefundNo, reason: req.Reason, notifyURL: req.NotifyURL,
		refundFen: req.Amount.Refund, totalFen: o.totalFen, status: "PROCESSING", created: now,
	}
	f.refundID = "50" + now.In(platform.Shanghai()).Format("20060102") + randomDigits(20)
	w.refunds[orderKey(m.MchID, f.outRefundNo)] = f
	o.refundedFen += f.refundFen
	o.state = "REFUND"
	m.balanceFen -= f.refundFen
	view := refundViewLocked(f)
	w.mu.Unlock()
	w.answer(rw, r, http.StatusOK, view)
	if !w.manualRefunds {
		_ = w.CompleteRefund(m.MchID, f.outRefundNo, "SUCCESS")
	}
}

// handleQueryRefund answers a refund by out_refund_no; 404
// RESOURCE_NOT_EXISTS.
func (w *WeChatPay) handleQueryRefund(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, _ []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.refunds[orderKey(m.MchID, r.PathValue("no"))]
	if f == nil {
		w.answerError(rw, r, http.StatusNotFound, wxpResourceNotExist, "退款单不存在")
		return
	}
	w.answer(rw, r, http.StatusOK, refundViewLocked(f))
}

// handleCertificates lists the platform certificates, each encrypted with
// the caller's APIv3 key (associated data "certificate").
func (w *WeChatPay) handleCertificates(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, _ []byte) {
	if a := r.URL.Query().Get("algorithm_type"); a != "" && a != "RSA" && a != "ALL" {
		w.answer(rw, r, http.StatusOK, map[string]any{"data": []any{}})
		return
	}
	type certData struct {
		SerialNo           string       `json:"serial_no"`
		EffectiveTime      string       `json:"effective_time"`
		ExpireTime         string       `json:"expire_time"`
		EncryptCertificate wxpEncrypted `json:"encrypt_certificate"`
	}
	w.keysMu.Lock()
	data := make([]certData, 0, len(w.certs))
	for _, c := range w.certs {
		data = append(data, certData{
			SerialNo: c.serial, EffectiveTime: rfc3339CN(c.effective), ExpireTime: rfc3339CN(c.expires),
			EncryptCertificate: sealAPIv3(m.APIv3Key, c.certPEM, "certificate", ""),
		})
	}
	w.keysMu.Unlock()
	w.answer(rw, r, http.StatusOK, map[string]any{"data": data})
}
