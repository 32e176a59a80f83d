package sim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"banshi/internal/platform"
)

// Notification faults (PUT /sim/alipay/control/faults "callback").
const (
	aliFaultDrop      = "drop"      // never sent
	aliFaultDuplicate = "duplicate" // delivered twice (each with its retries)
	aliFaultDelay     = "delay"     // the first attempt waits callback_delay
)

// aliFaults are the faults injected by the control API.
type aliFaults struct {
	// APIStatus answers gateway calls with this HTTP status (5xx), or with
	// 200 and code 20000 (isp.unknow-error) when it is 200; APICount calls,
	// 0 = every call.
	APIStatus int `json:"api_status"`
	APICount  int `json:"api_count"`
	// Callback is drop, duplicate or delay, for the next CallbackCount
	// notifications (0 = every one).
	Callback      string `json:"callback"`
	CallbackCount int    `json:"callback_count"`
	CallbackDelay string `json:"callback_delay"` // Go duration, for delay
	delay         time.Duration
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
	f := &a.faults
	if f.APIStatus == 0 {
		return 0, false
	}
	status := f.APIStatus
	if f.APICount > 0 {
		f.APICount--
		if f.APICount == 0 {
			f.APIStatus = 0
		}
	}
	return status, true
}

// notifyLocked sends the trade_status_sync notification of o (paid), or of
// its refund f, to o's notify_url, honouring the injected fault.
func (a *Alipay) notifyLocked(o *aliOrder, f *aliRefund) {
	if o.notifyURL == "" {
		return
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
	a.callbacks = append(a.callbacks, cb)
	if len(a.callbacks) > aliMaxCallbacks {
		a.callbacks = slices.Delete(a.callbacks, 0, len(a.callbacks)-aliMaxCallbacks)
	}
	fault := a.faults.Callback
	if fault != "" && a.faults.CallbackCount > 0 {
		a.faults.CallbackCount--
		if a.faults.CallbackCount == 0 {
			a.faults.Callback = ""
		}
	}
	cb.Fault = fault
	switch fault {
	case aliFaultDrop:
		a.log.Debug("sim alipay: notification dropped", "notify_id", cb.NotifyID)
	case aliFaultDuplicate:
		a.deliverLocked(cb, 0)
		a.deliverLocked(cb, 0)
	case aliFaultDelay:
		a.deliverLocked(cb, a.faults.delay)
	default:
		a.deliverLocked(cb, 0)
	}
}

// deliverLocked starts delivering cb after delay, retried on the schedule
// until the merchant answers "success".
func (a *Alipay) deliverLocked(cb *aliCallback, delay time.Duration) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if !a.sleep(delay) || a.attempt(cb) {
			return
		}
		for _, d := range a.retrySchedule {
			if !a.sleep(d) || a.attempt(cb) {
				return
			}
		}
	}()
}

// sleep waits d unless the simulator is closed first.
func (a *Alipay) sleep(d time.Duration) bool {
	if d <= 0 {
		return a.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.ctx.Done():
		return false
	}
}

// attempt POSTs cb once; it is acknowledged when the merchant answers 200
// with the text "success".
func (a *Alipay) attempt(cb *aliCallback) bool {
	status, answer := a.post(cb.URL, cb.body)
	a.mu.Lock()
	defer a.mu.Unlock()
	cb.Attempts++
	cb.LastStatus, cb.LastAnswer = status, answer
	if status == http.StatusOK && strings.TrimSpace(answer) == "success" {
		cb.Acknowledged = true
	}
	return cb.Acknowledged
}

// post sends a form and returns the answer's status and first 64 bytes.
func (a *Alipay) post(target, body string) (int, string) {
	ctx, cancel := context.WithTimeout(a.ctx, aliCallbackWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	res, err := a.client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	return res.StatusCode, string(b)
}
