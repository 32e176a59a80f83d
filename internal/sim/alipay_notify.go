package sim

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"banshi/internal/platform"
)

// aliFaults are the faults injected by the control API (PUT
// /sim/alipay/control/faults).
type aliFaults struct {
	// APIStatus answers gateway calls with this HTTP status (5xx), or with
	// 200 and code 20000 (isp.unknow-error) when it is 200.
	apiFault
	// Callback is drop, duplicate or delay.
	callbackFault
}

// check validates faults PUT by the control API.
func (f *aliFaults) check() string {
	if msg := f.callbackFault.check([]string{faultDrop, faultDuplicate}, `"drop", "duplicate" or "delay"`); msg != "" {
		return msg
	}
	return f.apiFault.check(func(s int) bool { return s == http.StatusOK || s >= 500 && s <= 599 }, "200 (code 20000) or 5xx")
}

// aliCallback is one notification and what became of it.
type aliCallback struct {
	NotifyID     string    `json:"notify_id"`
	AppID        string    `json:"app_id"`
	OutTradeNo   string    `json:"out_trade_no"`
	OutBizNo     string    `json:"out_biz_no,omitempty"` // refunds
	TradeStatus  string    `json:"trade_status"`
	URL          string    `json:"url"`
	Fault        string    `json:"fault,omitempty"`
	Attempts     int       `json:"attempts"`
	LastStatus   int       `json:"last_status"` // 0: no answer
	LastAnswer   string    `json:"last_answer"` // the first 64 bytes of the merchant's answer
	Acknowledged bool      `json:"acknowledged"`
	Created      time.Time `json:"created"`
	body         string
}

// takeAPIFault reports the status an injected gateway fault answers.
func (a *Alipay) takeAPIFault() (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.faults.apiFault.take()
}

// notifyLocked sends the trade_status_sync notification of o (paid), or of
// its refund f, to o's notify_url, honouring the injected fault, and returns
// its form ("" without a notify_url: nothing is sent).
func (a *Alipay) notifyLocked(o *aliOrder, f *aliRefund) string {
	if o.notifyURL == "" {
		return ""
	}
	now := a.now()
	app := a.apps[o.appID]
	p := map[string]string{
		"notify_time": aliTime(now), "notify_type": "trade_status_sync", "notify_id": randomAlnum(34),
		"app_id": o.appID, "auth_app_id": o.appID, "charset": "utf-8", "version": "1.0",
		"trade_no": o.tradeNo, "out_trade_no": o.outTradeNo, "trade_status": o.status,
		"seller_id": app.SellerID, "buyer_id": o.buyerID, "buyer_logon_id": o.buyerLogonID,
		"total_amount": yuan(o.totalFen), "receipt_amount": yuan(o.totalFen), "invoice_amount": yuan(o.totalFen),
		"buyer_pay_amount": yuan(o.totalFen), "point_amount": "0.00", "subject": o.subject,
		"gmt_create": aliTime(o.created), "gmt_payment": aliTime(o.paidAt),
		"fund_bill_list":  `[{"amount":"` + yuan(o.totalFen) + `","fundChannel":"ALIPAYACCOUNT"}]`,
		"passback_params": o.passback,
	}
	if f != nil {
		p["out_biz_no"] = f.outRequestNo
		p["refund_fee"] = yuan(o.refundedFen) // Alipay states the order's refunded total
		p["gmt_refund"] = f.at.In(platform.Shanghai()).Format("2006-01-02 15:04:05.000")
		if o.status == aliTradeClosed {
			p["gmt_close"] = aliTime(f.at)
		}
	}
	p["sign"] = rsaSign(a.key, aliSignContent(p, "sign", "sign_type"))
	p["sign_type"] = "RSA2"
	form := url.Values{}
	for k, v := range p {
		if v != "" {
			form.Set(k, v)
		}
	}
	cb := &aliCallback{NotifyID: p["notify_id"], AppID: o.appID, OutTradeNo: o.outTradeNo, TradeStatus: o.status,
		URL: o.notifyURL, Created: now, body: form.Encode()}
	if f != nil {
		cb.OutBizNo = f.outRequestNo
	}
	a.callbacks = keepLatest(a.callbacks, cb, aliMaxCallbacks)
	cb.Fault = a.faults.callbackFault.take()
	if cb.Fault == faultDrop {
		a.log.Debug("sim alipay: notification dropped", "notify_id", cb.NotifyID)
	}
	a.cb.send(cb.Fault, a.faults.delay, func() bool { return a.attempt(cb) })
	return cb.body
}

// attempt POSTs cb once; it is acknowledged when the merchant answers 200
// with the text "success".
func (a *Alipay) attempt(cb *aliCallback) bool {
	status, answer := a.cb.post(cb.URL, "application/x-www-form-urlencoded; charset=utf-8", []byte(cb.body), nil)
	a.mu.Lock()
	defer a.mu.Unlock()
	cb.Attempts++
	cb.LastStatus, cb.LastAnswer = status, answer
	if status == http.StatusOK && strings.TrimSpace(answer) == "success" {
		cb.Acknowledged = true
	}
	return cb.Acknowledged
}
