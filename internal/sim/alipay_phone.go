package sim

import (
	"encoding/json"
	"errors"
	"net/http"
)

// The payer paying with the parameters Banshi returned: the app order
// string (alipay_app, {"order_string"}) the Alipay app opens, or the WAP
// gateway URL (alipay_wap, {"url"}) the phone's browser opens. As at
// Alipay, opening verifies the RSA2 signature with the app's public key and
// creates the trade (WAIT_BUYER_PAY); then the payer pays, is declined, or
// leaves.

// errAliPayParams is pay_params that are neither form (400).
var errAliPayParams = errors.New(`pay_params must be {"order_string":"…"} (alipay_app) or {"url":"…"} (alipay_wap)`)

// AlipayPayAttempt is what the phone's payment attempt did.
type AlipayPayAttempt struct {
	OutTradeNo  string `json:"out_trade_no"`
	TradeStatus string `json:"trade_status"` // TRADE_SUCCESS after a success, else WAIT_BUYER_PAY
	TradeNo     string `json:"trade_no"`     // Alipay's trade number (the trade exists once opened)
}

// PayWithParams plays the payer given Banshi's pay_params (JSON) and the
// outcome (PayOutcome*): the order string or URL is opened as Open does
// (signature verified, the trade created or found again), then a success
// pays it as Pay does (TRADE_SUCCESS and the signed notification to its
// notify_url); fail (declined) and abandon (the payer leaves the cashier)
// leave the opened trade WAIT_BUYER_PAY and send nothing. Errors:
// errAliPayParams or errPayOutcome (bad input, nothing opened),
// errAliSignature (nothing opened), errAliConflict (the trade is paid,
// closed, past its time_expire, or was opened with another amount), or a
// message for an order Alipay would refuse.
func (a *Alipay) PayWithParams(params json.RawMessage, outcome string) (AlipayPayAttempt, error) {
	if outcome != PayOutcomeSuccess && outcome != PayOutcomeFail && outcome != PayOutcomeAbandon {
		return AlipayPayAttempt{}, errPayOutcome
	}
	var p struct {
		OrderString string `json:"order_string"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(params, &p); err != nil || (p.OrderString == "") == (p.URL == "") {
		return AlipayPayAttempt{}, errAliPayParams
	}
	s := p.OrderString
	if s == "" {
		s = p.URL
	}
	o, err := a.Open(s)
	if err != nil {
		return AlipayPayAttempt{}, err
	}
	at := AlipayPayAttempt{OutTradeNo: o.OutTradeNo, TradeStatus: aliWaitBuyerPay, TradeNo: o.TradeNo}
	if outcome == PayOutcomeSuccess {
		if _, err := a.Pay(o.AppID, o.OutTradeNo, ""); err != nil {
			return AlipayPayAttempt{}, err
		}
		at.TradeStatus = aliTradeSuccess
	}
	a.log.Debug("sim alipay: phone", "out_trade_no", o.OutTradeNo, "outcome", outcome)
	return at, nil
}

func (a *Alipay) handlePhonePay(rw http.ResponseWriter, r *http.Request) {
	var req phonePayRequest
	if err := decodeBody(r, &req); err != nil || len(req.PayParams) == 0 {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"pay_params":{"order_string"}|{"url"},"outcome":"success"|"fail"|"abandon"}`)
		return
	}
	at, err := a.PayWithParams(req.PayParams, req.Outcome)
	if err != nil {
		writeAliControlError(rw, err)
		return
	}
	writeControl(rw, http.StatusOK, at)
}

// writeAliControlError maps the control Go API's errors to statuses.
func writeAliControlError(rw http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errAliSignature):
		writeControlError(rw, http.StatusUnauthorized, "bad_signature", err.Error())
	case errors.Is(err, errAliNotFound):
		writeControlError(rw, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, errAliConflict):
		writeControlError(rw, http.StatusConflict, "conflict", err.Error())
	default:
		writeControlError(rw, http.StatusBadRequest, "bad_request", err.Error())
	}
}
