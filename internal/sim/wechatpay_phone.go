package sim

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// The payer's phone paying with the parameters Banshi returned: the JSAPI
// object wx.requestPayment takes (gopay's PaySignOfApplet) or the APP
// parameters of the OpenSDK (gopay's PaySignOfApp). Like WeChat's client,
// the simulator checks their signature with the merchant's public key
// before anything happens.

// Outcomes of the payer's attempt (POST /sim/wechatpay/pay and
// /sim/alipay/pay).
const (
	PayOutcomeSuccess = "success" // paid: the channel's callback leaves
	PayOutcomeFail    = "fail"    // the payment is declined: the order stays payable, nothing is sent
	PayOutcomeAbandon = "abandon" // the payer closes the payment sheet: nothing happens
)

// Errors of the phone's Go API.
var (
	errWxpPayParams = errors.New(`pay_params must be the JSAPI object {appId,timeStamp,nonceStr,package:"prepay_id=…",signType:"RSA",paySign} or the APP parameters {appid,partnerid,prepayid,package:"Sign=WXPay",noncestr,timestamp,sign}, all strings`)
	errWxpPaySign   = errors.New("the payment parameters' signature does not verify with the merchant's public key, or they name another app or merchant than the order's")
	errPayOutcome   = errors.New(`outcome must be "success", "fail" or "abandon"`)
)

// WeChatPayAttempt is what the phone's payment attempt did.
type WeChatPayAttempt struct {
	OutTradeNo    string `json:"out_trade_no"`
	TradeState    string `json:"trade_state"`              // SUCCESS after a success, else NOTPAY
	TransactionID string `json:"transaction_id,omitempty"` // after a success
}

// wxpPayParams are payment parameters, JSAPI or APP, reduced to what
// identifies the order and proves the merchant.
type wxpPayParams struct {
	prepayID, appID, mchID string // mchID: APP only (partnerid)
	tradeType              string // JSAPI or APP
	message, sign          string // the signed string and its signature
}

// parseWxpPayParams reads the parameters Banshi returned. Errors:
// errWxpPayParams.
func parseWxpPayParams(raw json.RawMessage) (wxpPayParams, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return wxpPayParams{}, errWxpPayParams
	}
	s := map[string]string{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			s[k] = v
		case json.Number: // a timestamp sent as a number
			s[k] = v.String()
		default:
			return wxpPayParams{}, errWxpPayParams
		}
	}
	filled := func(keys ...string) bool {
		for _, k := range keys {
			if s[k] == "" {
				return false
			}
		}
		return true
	}
	switch {
	case s["paySign"] != "":
		prepayID, ok := strings.CutPrefix(s["package"], "prepay_id=")
		if !filled("appId", "timeStamp", "nonceStr", "package", "signType") || !ok || prepayID == "" || s["signType"] != "RSA" {
			return wxpPayParams{}, errWxpPayParams
		}
		return wxpPayParams{
			prepayID: prepayID, appID: s["appId"], tradeType: "JSAPI", sign: s["paySign"],
			message: s["appId"] + "\n" + s["timeStamp"] + "\n" + s["nonceStr"] + "\n" + s["package"] + "\n",
		}, nil
	case s["sign"] != "":
		if !filled("appid", "partnerid", "prepayid", "noncestr", "timestamp") || s["package"] != "Sign=WXPay" {
			return wxpPayParams{}, errWxpPayParams
		}
		return wxpPayParams{
			prepayID: s["prepayid"], appID: s["appid"], mchID: s["partnerid"], tradeType: "APP", sign: s["sign"],
			message: s["appid"] + "\n" + s["timestamp"] + "\n" + s["noncestr"] + "\n" + s["prepayid"] + "\n",
		}, nil
	}
	return wxpPayParams{}, errWxpPayParams
}

// PayWithParams plays the payer's phone given the payment parameters Banshi
// returned (JSON) and the outcome (PayOutcome*). The order is found by its
// prepay_id and the parameters' signature checked with its merchant's
// public key. A success pays the order as Pay does (SUCCESS, the signed
// TRANSACTION.SUCCESS callback to its notify_url); fail and abandon change
// nothing (WeChat tells the merchant nothing of a declined card).
// Errors: errWxpPayParams or errPayOutcome (bad input), errWxpNotFound (no
// order has that prepay_id), errWxpPaySign (the signature does not verify,
// or the appid or partnerid is not the order's), errWxpConflict (the order
// is paid, closed or past its time_expire: the phone cannot pay it), all
// leaving everything as it was.
func (w *WeChatPay) PayWithParams(params json.RawMessage, outcome string) (WeChatPayAttempt, error) {
	if outcome != PayOutcomeSuccess && outcome != PayOutcomeFail && outcome != PayOutcomeAbandon {
		return WeChatPayAttempt{}, errPayOutcome
	}
	p, err := parseWxpPayParams(params)
	if err != nil {
		return WeChatPayAttempt{}, err
	}
	w.mu.Lock()
	o := w.prepays[p.prepayID]
	var pub *rsa.PublicKey
	var mchID, appID string
	if o != nil {
		pub, mchID, appID = w.merchants[o.mchID].PublicKey, o.mchID, o.appID
	}
	w.mu.Unlock()
	if o == nil {
		return WeChatPayAttempt{}, errWxpNotFound
	}
	sig, err := base64.StdEncoding.DecodeString(p.sign)
	sum := sha256.Sum256([]byte(p.message))
	if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil ||
		p.appID != appID || (p.mchID != "" && p.mchID != mchID) {
		return WeChatPayAttempt{}, errWxpPaySign
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if p.tradeType != o.tradeType {
		return WeChatPayAttempt{}, errWxpPayParams
	}
	if err := w.payableLocked(o); err != nil {
		return WeChatPayAttempt{}, err
	}
	a := WeChatPayAttempt{OutTradeNo: o.outTradeNo, TradeState: o.state}
	if outcome == PayOutcomeSuccess {
		a.TransactionID = w.payLocked(o, "")
		a.TradeState = o.state
	}
	w.log.Debug("sim wechatpay: phone", "out_trade_no", o.outTradeNo, "outcome", outcome)
	return a, nil
}

// phonePayRequest is the body of POST /sim/wechatpay/pay and
// /sim/alipay/pay.
type phonePayRequest struct {
	PayParams json.RawMessage `json:"pay_params"`
	Outcome   string          `json:"outcome"`
}

func (w *WeChatPay) handlePhonePay(rw http.ResponseWriter, r *http.Request) {
	var req phonePayRequest
	if err := decodeBody(r, &req); err != nil || len(req.PayParams) == 0 {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"pay_params":{…},"outcome":"success"|"fail"|"abandon"}`)
		return
	}
	a, err := w.PayWithParams(req.PayParams, req.Outcome)
	switch {
	case err == nil:
		writeControl(rw, http.StatusOK, a)
	case errors.Is(err, errWxpPaySign):
		writeControlError(rw, http.StatusUnauthorized, "bad_signature", err.Error())
	default:
		writeWxpControlError(rw, err)
	}
}
