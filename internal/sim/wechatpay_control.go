package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"banshi/internal/platform"
)

// Control endpoints of the WeChat Pay simulator (demo mode and tests). They
// answer JSON, 4xx with {"error":{"code","message"}} on bad input, which
// changes nothing. Orders are named by order_no, Banshi's order number and
// the channel's out_trade_no.
//
//	POST   /sim/wechatpay/pay {"pay_params":{…},"outcome":"success"|"fail"|"abandon"}
//	       the payer's phone given the parameters Banshi returned: the JSAPI
//	       object {appId,timeStamp,nonceStr,package:"prepay_id=…",signType:"RSA",paySign}
//	       (paySign over "appId\ntimeStamp\nnonceStr\npackage\n") or the APP
//	       parameters {appid,partnerid,prepayid,package:"Sign=WXPay",noncestr,timestamp,sign}
//	       (sign over "appid\ntimestamp\nnoncestr\nprepayid\n"), checked with the
//	       merchant's public key (base64 RSA-SHA256, PKCS#1 v1.5); the order is
//	       the prepay_id's. success: SUCCESS and the signed TRANSACTION.SUCCESS
//	       callback to its notify_url; fail: declined, the order stays NOTPAY
//	       and payable, no callback; abandon: nothing
//	       → 200 {"out_trade_no","trade_state","transaction_id"?};
//	       400 bad_request, 401 bad_signature (also an appid or partnerid not
//	       the order's), 404 not_found (unknown prepay_id), 409 conflict
//	       (paid, closed, or past its time_expire)
//	POST   /sim/wechatpay/orders/{order_no}/notify {"times":N}   N in 1..1000
//	       the paid order's success callback delivered N times at once, each
//	       signed afresh, the same notification and resource; waits for the
//	       answers → 200 {"times":N,"statuses":{"200":n,…}} ("0": no answer
//	       within 5 s); 404 not_found, 409 conflict (not paid)
//	POST   /sim/wechatpay/bills/discrepancies {"date":"YYYY-MM-DD","kind","order_no"?}
//	       the trade bill of that day changes (the totals row follows):
//	       channel_only adds a SUCCESS row for an order Banshi does not have
//	       (out_trade_no and transaction_id generated, or out_trade_no =
//	       order_no when given; 1.00 yuan, or the amount of an unpaid order
//	       the simulator knows), missing leaves order_no's rows out, amount
//	       adds 1.00 yuan to order_no's payment row → 200 {"order_no","kind"};
//	       400 bad_request, 404 not_found (unknown order_no), 409 conflict
//	       (channel_only of a paid order; missing or amount of an order
//	       without a row that day)
//
//	POST   /sim/wechatpay/control/pay {"out_trade_no","mchid"?,"openid"?}
//	       the payer pays in the phone: the order becomes SUCCESS and the
//	       TRANSACTION.SUCCESS callback leaves → 200 {"transaction_id"}
//	POST   /sim/wechatpay/control/refunds/{out_refund_no} {"status","mchid"?}
//	       a PROCESSING refund ends SUCCESS, ABNORMAL or CLOSED; its callback
//	       leaves → 204
//	GET    /sim/wechatpay/control/faults, PUT (wxpFaults), DELETE
//	GET    /sim/wechatpay/control/callbacks       the latest callbacks
//	POST   /sim/wechatpay/control/callbacks/release  held (reorder) callbacks leave, newest first
//	POST   /sim/wechatpay/control/probe {"notify_url"}  a deliberately mis-signed
//	       callback, as WeChat sends; → 200 {"status": the merchant's answer}
//	GET    /sim/wechatpay/control/keys            the public key (PEM, id) and certificate serials
//	POST   /sim/wechatpay/control/certificates/rotate  a new platform certificate signs from now on
//	PUT    /sim/wechatpay/control/signing {"mode":"public_key"|"certificate"}
//	PUT    /sim/wechatpay/control/balance {"mchid"?,"balance_fen"}  the base account refunds draw on

const wxpControl = wxpPrefix + "/control"

// routeControl mounts the control endpoints.
func (w *WeChatPay) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("POST "+wxpPrefix+"/pay", w.handlePhonePay)
	mux.HandleFunc("POST "+wxpPrefix+"/orders/{order_no}/notify", handleRedeliver(w.Redeliver, writeWxpControlError))
	mux.HandleFunc("POST "+wxpPrefix+"/bills/discrepancies", handleDiscrepancy(w.AddBillDiscrepancy, writeWxpControlError))
	mux.HandleFunc("POST "+wxpControl+"/pay", w.handleControlPay)
	mux.HandleFunc("POST "+wxpControl+"/refunds/{no}", w.handleControlRefund)
	// DELETE …/faults leaves held callbacks held until released.
	routeFaults(mux, wxpControl+"/faults", &w.mu, &w.faults, (*wxpFaults).check)
	routeCallbacks(mux, wxpControl+"/callbacks", &w.mu, &w.callbacks)
	mux.HandleFunc("POST "+wxpControl+"/callbacks/release", w.handleRelease)
	mux.HandleFunc("POST "+wxpControl+"/probe", w.handleProbe)
	mux.HandleFunc("GET "+wxpControl+"/keys", w.handleKeys)
	mux.HandleFunc("POST "+wxpControl+"/certificates/rotate", w.handleRotate)
	mux.HandleFunc("PUT "+wxpControl+"/signing", w.handleSigning)
	mux.HandleFunc("PUT "+wxpControl+"/balance", w.handleBalance)
}

// Errors of the control Go API.
var (
	errWxpNotFound = errors.New("unknown order or refund")
	errWxpConflict = errors.New("not in a state that allows it")
	errWxpMerchant = errors.New("mchid is required unless exactly one merchant is registered, and must be registered")
)

// merchantLocked resolves an optional mchid.
func (w *WeChatPay) merchantLocked(mchID string) *wxpMerchant {
	if mchID == "" && len(w.merchants) == 1 {
		for _, m := range w.merchants {
			return m
		}
	}
	return w.merchants[mchID]
}

// Pay plays the payer paying order outTradeNo of mchID ("" when one
// merchant is registered) in the phone: the order becomes SUCCESS, the base
// account receives the money and the TRANSACTION.SUCCESS callback leaves.
// openID is the payer of an APP order ("" → generated; JSAPI orders keep
// their payer). Errors: errWxpNotFound; errWxpConflict when the order is
// paid, closed or past its time_expire.
func (w *WeChatPay) Pay(mchID, outTradeNo, openID string) (transactionID string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.merchantLocked(mchID)
	if m == nil {
		return "", errWxpMerchant
	}
	o := w.orders[orderKey(m.MchID, outTradeNo)]
	if o == nil {
		return "", errWxpNotFound
	}
	if err := w.payableLocked(o); err != nil {
		return "", err
	}
	return w.payLocked(o, openID), nil
}

// payableLocked reports errWxpConflict unless o can be paid now: NOTPAY and
// before its time_expire.
func (w *WeChatPay) payableLocked(o *wxpOrder) error {
	if o.state != "NOTPAY" || (!o.timeExpire.IsZero() && !w.now().Before(o.timeExpire)) {
		return errWxpConflict
	}
	return nil
}

// payLocked makes the payable order o SUCCESS, credits the base account and
// sends the TRANSACTION.SUCCESS callback; openID as for Pay.
func (w *WeChatPay) payLocked(o *wxpOrder, openID string) (transactionID string) {
	now := w.now()
	if o.payerOpenID == "" {
		o.payerOpenID = openID
		if o.payerOpenID == "" {
			o.payerOpenID = "o" + randomURLSafe(27)
		}
	}
	o.state = "SUCCESS"
	o.paidAt = now.Truncate(time.Second)
	o.transactionID = "42000" + now.In(platform.Shanghai()).Format("20060102") + randomDigits(15)
	w.transactions[o.transactionID] = o
	w.merchants[o.mchID].balanceFen += o.totalFen
	o.successBody = w.notifyLocked("TRANSACTION.SUCCESS", "支付成功", o, nil)
	return o.transactionID
}

// CompleteRefund ends a PROCESSING refund with status SUCCESS, ABNORMAL or
// CLOSED and sends its callback. A refund that did not succeed gives its
// amount back to the order and the base account.
func (w *WeChatPay) CompleteRefund(mchID, outRefundNo, status string) error {
	summary := map[string]string{"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
	if summary == "" {
		return errors.New(`status must be "SUCCESS", "ABNORMAL" or "CLOSED"`)
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.merchantLocked(mchID)
	if m == nil {
		return errWxpMerchant
	}
	f := w.refunds[orderKey(m.MchID, outRefundNo)]
	switch {
	case f == nil:
		return errWxpNotFound
	case f.status != "PROCESSING":
		return errWxpConflict
	}
	o := w.orders[orderKey(f.mchID, f.outTradeNo)]
	f.status = status
	if status == "SUCCESS" {
		f.succeeded = now.Truncate(time.Second)
	} else {
		o.refundedFen -= f.refundFen
		m.balanceFen += f.refundFen
		if o.refundedFen == 0 {
			o.state = "SUCCESS"
		}
	}
	w.notifyLocked("REFUND."+status, summary, o, f)
	return nil
}

// controlMchRequest names an order or refund of a merchant.
type controlPayRequest struct {
	OutTradeNo string `json:"out_trade_no"`
	MchID      string `json:"mchid"`
	OpenID     string `json:"openid"`
}

func (w *WeChatPay) handleControlPay(rw http.ResponseWriter, r *http.Request) {
	var req controlPayRequest
	if err := decodeBody(r, &req); err != nil || req.OutTradeNo == "" {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"out_trade_no","mchid"?,"openid"?}`)
		return
	}
	id, err := w.Pay(req.MchID, req.OutTradeNo, req.OpenID)
	if err != nil {
		writeWxpControlError(rw, err)
		return
	}
	writeControl(rw, http.StatusOK, map[string]string{"transaction_id": id})
}

func (w *WeChatPay) handleControlRefund(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
		MchID  string `json:"mchid"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"status":"SUCCESS"|"ABNORMAL"|"CLOSED","mchid"?}`)
		return
	}
	if err := w.CompleteRefund(req.MchID, r.PathValue("no"), req.Status); err != nil {
		writeWxpControlError(rw, err)
		return
	}
	writeControl(rw, http.StatusNoContent, nil)
}

// writeWxpControlError maps the control Go API's errors to statuses.
func writeWxpControlError(rw http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errWxpNotFound):
		writeControlError(rw, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, errWxpConflict):
		writeControlError(rw, http.StatusConflict, "conflict", err.Error())
	default:
		writeControlError(rw, http.StatusBadRequest, "bad_request", err.Error())
	}
}

func (w *WeChatPay) handleRelease(rw http.ResponseWriter, _ *http.Request) {
	w.mu.Lock()
	n := w.releaseLocked()
	w.mu.Unlock()
	writeControl(rw, http.StatusOK, map[string]int{"released": n})
}

// handleProbe sends one mis-signed callback to notify_url and answers the
// merchant's status (0: no answer). A merchant must refuse it (non-2xx).
func (w *WeChatPay) handleProbe(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		NotifyURL string `json:"notify_url"`
		MchID     string `json:"mchid"`
	}
	if err := decodeBody(r, &req); err != nil || req.NotifyURL == "" {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"notify_url","mchid"?}`)
		return
	}
	w.mu.Lock()
	m := w.merchantLocked(req.MchID)
	w.mu.Unlock()
	if m == nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", errWxpMerchant.Error())
		return
	}
	now := w.now()
	plain, _ := json.Marshal(map[string]any{"mchid": m.MchID, "out_trade_no": "PROBE" + randomDigits(10), "trade_state": "SUCCESS"})
	body, _ := json.Marshal(map[string]any{
		"id": newNotificationID(now), "create_time": rfc3339CN(now), "resource_type": "encrypt-resource",
		"event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": sealAPIv3(m.APIv3Key, plain, "transaction", "transaction"),
	})
	status := w.post(req.NotifyURL, body, w.signerFor(""), true)
	writeControl(rw, http.StatusOK, map[string]int{"status": status})
}

// wxpKeys is the public material a merchant configures: the WeChat Pay
// public key and its id, and the platform certificates' serials.
type wxpKeys struct {
	PublicKeyID        string   `json:"public_key_id"`
	PublicKeyPEM       string   `json:"public_key_pem"`
	CertificateSerials []string `json:"certificate_serials"`
	SignWith           string   `json:"sign_with"`
}

func (w *WeChatPay) keys() wxpKeys {
	pemText, id := w.PublicKeyPEM()
	w.keysMu.Lock()
	mode := w.signWith
	w.keysMu.Unlock()
	return wxpKeys{PublicKeyID: id, PublicKeyPEM: string(pemText), CertificateSerials: w.CertificateSerials(), SignWith: mode}
}

func (w *WeChatPay) handleKeys(rw http.ResponseWriter, _ *http.Request) {
	writeControl(rw, http.StatusOK, w.keys())
}

// RotateCertificate mints a new platform certificate, which signs from now
// on; the old ones stay listed by /v3/certificates.
func (w *WeChatPay) RotateCertificate() error {
	c, err := newCertSigner(nil, w.now())
	if err != nil {
		return err
	}
	w.keysMu.Lock()
	w.certs = append(w.certs, c)
	w.keysMu.Unlock()
	return nil
}

func (w *WeChatPay) handleRotate(rw http.ResponseWriter, _ *http.Request) {
	if err := w.RotateCertificate(); err != nil {
		writeControlError(rw, http.StatusInternalServerError, "internal", "could not mint a certificate")
		return
	}
	writeControl(rw, http.StatusOK, w.keys())
}

// SetSignWith chooses what signs callbacks and answers to requests that name
// no known serial: WeChatPaySignPublicKey or WeChatPaySignCertificate.
func (w *WeChatPay) SetSignWith(mode string) error {
	if mode != WeChatPaySignPublicKey && mode != WeChatPaySignCertificate {
		return errors.New(`mode must be "public_key" or "certificate"`)
	}
	w.keysMu.Lock()
	w.signWith = mode
	w.keysMu.Unlock()
	return nil
}

func (w *WeChatPay) handleSigning(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode string `json:"mode"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"mode"}`)
		return
	}
	if err := w.SetSignWith(req.Mode); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeControl(rw, http.StatusOK, w.keys())
}

func (w *WeChatPay) handleBalance(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		MchID      string `json:"mchid"`
		BalanceFen *int64 `json:"balance_fen"`
	}
	if err := decodeBody(r, &req); err != nil || req.BalanceFen == nil || *req.BalanceFen < 0 {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"mchid"?,"balance_fen" ≥ 0}`)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.merchantLocked(req.MchID)
	if m == nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", errWxpMerchant.Error())
		return
	}
	m.balanceFen = *req.BalanceFen
	writeControl(rw, http.StatusOK, map[string]int64{"balance_fen": m.balanceFen})
}
