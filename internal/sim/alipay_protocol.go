package sim

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"banshi/internal/platform"
)

// Alipay gateway codes and the msg that goes with each.
const (
	aliCodeSuccess     = "10000"
	aliCodeUnavailable = "20000" // isp.unknow-error: try again
	aliCodeMissing     = "40001" // a required parameter is missing
	aliCodeInvalid     = "40002" // a parameter (or the signature) is invalid
	aliCodeBusiness    = "40004" // a business refusal: see sub_code
)

var aliCodeMsg = map[string]string{
	aliCodeSuccess:     "Success",
	aliCodeUnavailable: "Service Currently Unavailable",
	aliCodeMissing:     "Missing Required Arguments",
	aliCodeInvalid:     "Invalid Arguments",
	aliCodeBusiness:    "Business Failed",
}

// Gateway methods the simulator answers.
const (
	aliMethodQuery       = "alipay.trade.query"
	aliMethodClose       = "alipay.trade.close"
	aliMethodRefund      = "alipay.trade.refund"
	aliMethodRefundQuery = "alipay.trade.fastpay.refund.query"
	aliMethodBill        = "alipay.data.dataservice.bill.downloadurl.query"
	aliMethodAppPay      = "alipay.trade.app.pay" // signed locally; opened by the phone
	aliMethodWapPay      = "alipay.trade.wap.pay" // signed locally; opened by the browser
)

// aliNoPattern is what out_trade_no and out_request_no may be: 1 to 64 of
// letters, digits and underscores (Alipay's rule).
var aliNoPattern = regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)

// aliStatus is the common head of every inner answer.
type aliStatus struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
}

func aliOK() aliStatus { return aliStatus{Code: aliCodeSuccess, Msg: aliCodeMsg[aliCodeSuccess]} }

// aliBiz is the biz_content of the methods the simulator answers.
type aliBiz struct {
	OutTradeNo     string `json:"out_trade_no"`
	TradeNo        string `json:"trade_no"`
	TotalAmount    string `json:"total_amount"`
	Subject        string `json:"subject"`
	ProductCode    string `json:"product_code"`
	TimeExpire     string `json:"time_expire"`
	PassbackParams string `json:"passback_params"`
	RefundAmount   string `json:"refund_amount"`
	OutRequestNo   string `json:"out_request_no"`
	RefundReason   string `json:"refund_reason"`
	BillType       string `json:"bill_type"`
	BillDate       string `json:"bill_date"`
}

// aliCall is one verified gateway call.
type aliCall struct {
	app     *AlipayApp
	method  string
	respKey string // "<method with underscores>_response"
	params  map[string]string
	biz     aliBiz
}

// aliRefusal is a gateway refusal: code, sub_code and sub_msg.
type aliRefusal struct {
	code, subCode, subMsg string
}

func (e *aliRefusal) Error() string { return e.code + " " + e.subCode + ": " + e.subMsg }

func aliRefuse(code, subCode, subMsg string) *aliRefusal {
	return &aliRefusal{code: code, subCode: subCode, subMsg: subMsg}
}

// routeProtocol mounts the gateway and the bill downloads.
func (a *Alipay) routeProtocol(mux *http.ServeMux) {
	mux.HandleFunc("POST "+aliPrefix+"/gateway.do", a.handleGateway)
	mux.HandleFunc("GET "+aliPrefix+"/gateway.do", a.handleGateway)
	mux.HandleFunc("GET "+aliPrefix+"/downloadBillFile.resource", a.handleDownload)
}

// handleGateway verifies a call and dispatches it by method. A GET is a
// browser opening a WAP payment URL.
func (a *Alipay) handleGateway(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, aliMaxBody)
	if err := r.ParseForm(); err != nil {
		a.answer(rw, "error_response", aliStatus{Code: aliCodeInvalid, Msg: aliCodeMsg[aliCodeInvalid], SubCode: "isv.invalid-parameter", SubMsg: "请求无法解析"})
		return
	}
	params, ok := singleValues(r.Form)
	if !ok {
		a.answer(rw, "error_response", aliStatus{Code: aliCodeInvalid, Msg: aliCodeMsg[aliCodeInvalid], SubCode: "isv.invalid-parameter", SubMsg: "参数重复"})
		return
	}
	respKey := "error_response"
	if m := params["method"]; m != "" {
		respKey = strings.ReplaceAll(m, ".", "_") + "_response"
	}
	if status, ok := a.takeAPIFault(); ok {
		if status == http.StatusOK {
			a.answer(rw, respKey, aliStatus{Code: aliCodeUnavailable, Msg: aliCodeMsg[aliCodeUnavailable], SubCode: "isp.unknow-error", SubMsg: "服务暂不可用"})
			return
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.WriteHeader(status)
		fmt.Fprintf(rw, "<html><body>%d %s</body></html>\n", status, http.StatusText(status))
		return
	}
	call, refusal := a.verifyCall(params)
	if refusal != nil {
		if call != nil {
			respKey = call.respKey
		}
		a.refuse(rw, respKey, refusal)
		return
	}
	if r.Method == http.MethodGet && call.method != aliMethodWapPay {
		a.refuse(rw, call.respKey, aliRefuse(aliCodeInvalid, "isv.invalid-method", "不存在的方法名"))
		return
	}
	var v any
	var err *aliRefusal
	switch call.method {
	case aliMethodQuery:
		v, err = a.tradeQuery(call)
	case aliMethodClose:
		v, err = a.tradeClose(call)
	case aliMethodRefund:
		v, err = a.tradeRefund(call)
	case aliMethodRefundQuery:
		v, err = a.refundQuery(call)
	case aliMethodBill:
		v, err = a.billURL(call)
	case aliMethodWapPay:
		o, err := a.open(call)
		if err != nil {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			rw.WriteHeader(http.StatusOK)
			fmt.Fprintf(rw, "<html><body><h1>支付宝（模拟）</h1><p>%s：%s</p></body></html>\n", html.EscapeString(err.subCode), html.EscapeString(err.subMsg))
			return
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.WriteHeader(http.StatusOK)
		fmt.Fprintf(rw, "<html><body><h1>支付宝收银台（模拟）</h1><p>%s</p><p>订单 %s，金额 %s 元</p><p>POST %s/control/pay {\"out_trade_no\":%q}</p></body></html>\n",
			html.EscapeString(o.subject), html.EscapeString(o.outTradeNo), yuan(o.totalFen), aliPrefix, o.outTradeNo)
		return
	default:
		err = aliRefuse(aliCodeInvalid, "isv.invalid-method", "不存在的方法名")
	}
	if err != nil {
		a.refuse(rw, call.respKey, err)
		return
	}
	a.answer(rw, call.respKey, v)
}

// verifyCall checks the public parameters and the signature of a call (or
// of an order string / gateway URL the payer opens) and decodes its
// biz_content. call is nil when the method is unknown.
func (a *Alipay) verifyCall(params map[string]string) (*aliCall, *aliRefusal) {
	method := params["method"]
	var call *aliCall
	if method != "" {
		call = &aliCall{method: method, respKey: strings.ReplaceAll(method, ".", "_") + "_response", params: params}
	}
	switch {
	case params["app_id"] == "":
		return call, aliRefuse(aliCodeMissing, "isv.missing-app-id", "缺少AppID参数")
	case method == "":
		return call, aliRefuse(aliCodeMissing, "isv.missing-method", "缺少方法名参数")
	case params["sign"] == "":
		return call, aliRefuse(aliCodeMissing, "isv.missing-signature", "缺少签名参数")
	case params["sign_type"] != "RSA2":
		return call, aliRefuse(aliCodeInvalid, "isv.invalid-signature-type", "无效的签名类型，应为RSA2")
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		return call, aliRefuse(aliCodeInvalid, "isv.invalid-charset", "字符集错误")
	case params["version"] != "1.0":
		return call, aliRefuse(aliCodeInvalid, "isv.invalid-version", "版本号错误")
	}
	if _, err := time.ParseInLocation(aliTimeLayout, params["timestamp"], platform.Shanghai()); err != nil {
		return call, aliRefuse(aliCodeInvalid, "isv.invalid-timestamp", "非法的时间戳参数")
	}
	a.mu.Lock()
	app := a.apps[params["app_id"]]
	a.mu.Unlock()
	if app == nil {
		return call, aliRefuse(aliCodeInvalid, "isv.invalid-app-id", "无效的AppID参数")
	}
	if !aliVerify(app.PublicKey, aliSignContent(params, "sign"), params["sign"]) {
		return call, aliRefuse(aliCodeInvalid, "isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
	}
	call.app = app
	if bc := params["biz_content"]; bc != "" {
		dec := json.NewDecoder(strings.NewReader(bc))
		if err := dec.Decode(&call.biz); err != nil {
			return call, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "biz_content 不是合法的JSON")
		}
	}
	return call, nil
}

// answer writes {"<respKey>":inner,"sign":"…"} signed over inner's bytes.
func (a *Alipay) answer(rw http.ResponseWriter, respKey string, v any) {
	inner, _ := json.Marshal(v)
	sign := rsaSign(a.key, string(inner))
	rw.Header().Set("Content-Type", "application/json;charset=utf-8")
	rw.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(rw, `{"`+respKey+`":`+string(inner)+`,"sign":"`+sign+`"}`)
}

// refuse answers a refusal.
func (a *Alipay) refuse(rw http.ResponseWriter, respKey string, e *aliRefusal) {
	a.answer(rw, respKey, aliStatus{Code: e.code, Msg: aliCodeMsg[e.code], SubCode: e.subCode, SubMsg: e.subMsg})
}

// orderOfLocked finds the trade a call names by out_trade_no or trade_no,
// closing it first when its time_expire has passed unpaid.
func (a *Alipay) orderOfLocked(c *aliCall) (*aliOrder, *aliRefusal) {
	var o *aliOrder
	switch {
	case c.biz.OutTradeNo != "":
		o = a.orders[aliOrderKey(c.app.AppID, c.biz.OutTradeNo)]
	case c.biz.TradeNo != "":
		if t := a.trades[c.biz.TradeNo]; t != nil && t.appID == c.app.AppID {
			o = t
		}
	default:
		return nil, aliRefuse(aliCodeMissing, "isv.missing-parameter", "out_trade_no 和 trade_no 不能同时为空")
	}
	if o == nil {
		return nil, aliRefuse(aliCodeBusiness, "ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	a.expireLocked(o)
	return o, nil
}

// expireLocked closes o when it is unpaid past its time_expire.
func (a *Alipay) expireLocked(o *aliOrder) {
	if o.status == aliWaitBuyerPay && !o.timeExpire.IsZero() && !a.now().Before(o.timeExpire) {
		o.status = aliTradeClosed
	}
}

// aliTradeView is a trade as alipay.trade.query shows it.
type aliTradeView struct {
	aliStatus
	TradeNo        string `json:"trade_no"`
	OutTradeNo     string `json:"out_trade_no"`
	BuyerLogonID   string `json:"buyer_logon_id,omitempty"`
	TradeStatus    string `json:"trade_status"`
	TotalAmount    string `json:"total_amount"`
	BuyerPayAmount string `json:"buyer_pay_amount"`
	PointAmount    string `json:"point_amount"`
	InvoiceAmount  string `json:"invoice_amount"`
	SendPayDate    string `json:"send_pay_date,omitempty"`
	ReceiptAmount  string `json:"receipt_amount"`
	BuyerUserID    string `json:"buyer_user_id,omitempty"`
}

// tradeQuery answers alipay.trade.query; ACQ.TRADE_NOT_EXIST for a trade
// the payer never opened.
func (a *Alipay) tradeQuery(c *aliCall) (any, *aliRefusal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, err := a.orderOfLocked(c)
	if err != nil {
		return nil, err
	}
	v := aliTradeView{
		aliStatus: aliOK(), TradeNo: o.tradeNo, OutTradeNo: o.outTradeNo, TradeStatus: o.status,
		TotalAmount: yuan(o.totalFen), BuyerPayAmount: "0.00", PointAmount: "0.00", InvoiceAmount: "0.00", ReceiptAmount: "0.00",
	}
	if o.paid() {
		v.BuyerLogonID, v.BuyerUserID = o.buyerLogonID, o.buyerID
		v.SendPayDate = aliTime(o.paidAt)
		v.BuyerPayAmount, v.InvoiceAmount, v.ReceiptAmount = yuan(o.totalFen), yuan(o.totalFen), yuan(o.totalFen)
	}
	return v, nil
}

// tradeClose answers alipay.trade.close: an unpaid trade closes;
// ACQ.TRADE_STATUS_ERROR for one paid or already closed,
// ACQ.TRADE_NOT_EXIST for one never opened.
func (a *Alipay) tradeClose(c *aliCall) (any, *aliRefusal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, err := a.orderOfLocked(c)
	if err != nil {
		return nil, err
	}
	if o.status != aliWaitBuyerPay {
		return nil, aliRefuse(aliCodeBusiness, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	o.status = aliTradeClosed
	return struct {
		aliStatus
		TradeNo    string `json:"trade_no"`
		OutTradeNo string `json:"out_trade_no"`
	}{aliOK(), o.tradeNo, o.outTradeNo}, nil
}

// aliRefundView is the answer of alipay.trade.refund.
type aliRefundView struct {
	aliStatus
	TradeNo      string `json:"trade_no"`
	OutTradeNo   string `json:"out_trade_no"`
	BuyerLogonID string `json:"buyer_logon_id"`
	FundChange   string `json:"fund_change"`
	RefundFee    string `json:"refund_fee"` // the order's refunded total
	GmtRefundPay string `json:"gmt_refund_pay"`
	BuyerUserID  string `json:"buyer_user_id"`
}

// tradeRefund answers alipay.trade.refund. Refunds complete at once. The
// same out_request_no again answers the refund already made (fund_change
// "N"); with another amount ACQ.INVALID_PARAMETER. ACQ.TRADE_NOT_EXIST,
// ACQ.TRADE_STATUS_ERROR for an unpaid trade, ACQ.REFUND_AMT_NOT_EQUAL_TOTAL
// for an amount beyond what is left.
func (a *Alipay) tradeRefund(c *aliCall) (any, *aliRefusal) {
	fen, ok := fenOfYuan(c.biz.RefundAmount)
	if !ok || fen < 1 {
		return nil, aliRefuse(aliCodeBusiness, "ACQ.INVALID_PARAMETER", "refund_amount 应为大于0、最多两位小数的金额")
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	o, err := a.orderOfLocked(c)
	if err != nil {
		return nil, err
	}
	reqNo := c.biz.OutRequestNo
	if reqNo == "" {
		reqNo = o.outTradeNo
	}
	if !aliNoPattern.MatchString(reqNo) {
		return nil, aliRefuse(aliCodeBusiness, "ACQ.INVALID_PARAMETER", "out_request_no 应为1-64位字母、数字或下划线")
	}
	view := func(change string, at time.Time) aliRefundView {
		return aliRefundView{
			aliStatus: aliOK(), TradeNo: o.tradeNo, OutTradeNo: o.outTradeNo, BuyerLogonID: o.buyerLogonID,
			FundChange: change, RefundFee: yuan(o.refundedFen), GmtRefundPay: aliTime(at), BuyerUserID: o.buyerID,
		}
	}
	key := aliOrderKey(c.app.AppID, o.outTradeNo) + "|" + reqNo
	if f := a.refunds[key]; f != nil {
		if f.refundFen != fen {
			return nil, aliRefuse(aliCodeBusiness, "ACQ.INVALID_PARAMETER", "退款请求号已存在，且与本次请求的金额不一致")
		}
		return view("N", f.at), nil
	}
	switch {
	case !o.paid():
		return nil, aliRefuse(aliCodeBusiness, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	case fen > o.totalFen-o.refundedFen:
		return nil, aliRefuse(aliCodeBusiness, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	f := &aliRefund{appID: c.app.AppID, outTradeNo: o.outTradeNo, tradeNo: o.tradeNo, outRequestNo: reqNo,
		reason: c.biz.RefundReason, refundFen: fen, at: now.Truncate(time.Second)}
	a.refunds[key] = f
	o.refundedFen += fen
	if o.refundedFen == o.totalFen {
		o.status = aliTradeClosed
	}
	a.notifyLocked(o, f)
	return view("Y", f.at), nil
}

// refundQuery answers alipay.trade.fastpay.refund.query. A refund Alipay
// does not know answers 10000 without refund_amount or refund_status, as
// Alipay does ("not refunded").
func (a *Alipay) refundQuery(c *aliCall) (any, *aliRefusal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, err := a.orderOfLocked(c)
	if err != nil {
		return nil, err
	}
	if c.biz.OutRequestNo == "" {
		return nil, aliRefuse(aliCodeMissing, "isv.missing-parameter", "缺少 out_request_no")
	}
	type view struct {
		aliStatus
		TradeNo      string `json:"trade_no"`
		OutTradeNo   string `json:"out_trade_no"`
		OutRequestNo string `json:"out_request_no,omitempty"`
		TotalAmount  string `json:"total_amount,omitempty"`
		RefundAmount string `json:"refund_amount,omitempty"`
		RefundStatus string `json:"refund_status,omitempty"`
		RefundReason string `json:"refund_reason,omitempty"`
		GmtRefundPay string `json:"gmt_refund_pay,omitempty"`
	}
	f := a.refunds[aliOrderKey(c.app.AppID, o.outTradeNo)+"|"+c.biz.OutRequestNo]
	if f == nil {
		return view{aliStatus: aliOK(), TradeNo: o.tradeNo, OutTradeNo: o.outTradeNo}, nil
	}
	return view{
		aliStatus: aliOK(), TradeNo: o.tradeNo, OutTradeNo: o.outTradeNo, OutRequestNo: f.outRequestNo,
		TotalAmount: yuan(o.totalFen), RefundAmount: yuan(f.refundFen), RefundStatus: "REFUND_SUCCESS",
		RefundReason: f.reason, GmtRefundPay: aliTime(f.at),
	}, nil
}

// billURL answers alipay.data.dataservice.bill.downloadurl.query for
// bill_type=trade and a day (yyyy-MM-dd): a download URL valid 30 s.
// isp.bill_not_exist before 09:00 the next day.
func (a *Alipay) billURL(c *aliCall) (any, *aliRefusal) {
	if c.biz.BillType != "trade" {
		return nil, aliRefuse(aliCodeBusiness, "isp.bill_type_not_support", "仅支持 bill_type=trade")
	}
	day, err := time.ParseInLocation(time.DateOnly, c.biz.BillDate, platform.Shanghai())
	if err != nil {
		return nil, aliRefuse(aliCodeInvalid, "isv.invalid-parameter", "bill_date 格式应为 yyyy-MM-dd")
	}
	now := a.now()
	if !a.billsAnyDay && now.Before(day.AddDate(0, 0, 1).Add(aliBillReadyHour*time.Hour)) {
		return nil, aliRefuse(aliCodeBusiness, "isp.bill_not_exist", "账单不存在")
	}
	a.mu.Lock()
	content := a.billZipLocked(c.app, day, now)
	for t, d := range a.downloads {
		if now.After(d.expires) {
			delete(a.downloads, t)
		}
	}
	token := randomAlnum(32)
	a.downloads[token] = &aliDownload{appID: c.app.AppID, content: content, expires: now.Add(aliDownloadTTL)}
	a.mu.Unlock()
	dates := day.Format("20060102")
	q := url.Values{
		"bizType": {"trade"}, "userId": {c.app.SellerID}, "fileType": {"csv.zip"}, "bizDates": {dates},
		"downloadFileName": {c.app.SellerID + "_" + dates + ".csv.zip"}, "fileId": {"/trade/" + c.app.SellerID + "/" + dates},
		"timestamp": {fmt.Sprint(now.UnixMilli())}, "token": {token},
	}
	return struct {
		aliStatus
		BillDownloadURL string `json:"bill_download_url"`
	}{aliOK(), "http://dwbillcenter.alipay.com/downloadBillFile.resource?" + q.Encode()}, nil
}

// handleDownload serves a bill zip (not signed, as at Alipay). 404 for an
// unknown or expired token.
func (a *Alipay) handleDownload(rw http.ResponseWriter, r *http.Request) {
	now := a.now()
	a.mu.Lock()
	d := a.downloads[r.URL.Query().Get("token")]
	a.mu.Unlock()
	if d == nil || now.After(d.expires) {
		http.Error(rw, "下载链接无效或已过期", http.StatusNotFound)
		return
	}
	rw.Header().Set("Content-Type", "application/oct-stream")
	rw.Header().Set("Content-Disposition", `attachment; filename="bill.csv.zip"`)
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(d.content)
}
