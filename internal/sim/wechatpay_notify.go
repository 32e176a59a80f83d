package sim

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// wxpFaultReorder, WeChat Pay's own callback fault: callbacks are held,
// then delivered newest first.
const wxpFaultReorder = "reorder"

// wxpFaults are the faults injected by the control API (PUT
// /sim/wechatpay/control/faults).
type wxpFaults struct {
	// APIStatus answers protocol calls with this status (500, 502, 503:
	// SYSTEM_ERROR; 429: FREQUENCY_LIMITED).
	apiFault
	// Callback is drop, duplicate, delay or reorder (for reorder, the count
	// is how many callbacks are held before they are released; 0: until
	// POST /control/callbacks/release).
	callbackFault
}

// check validates faults PUT by the control API.
func (f *wxpFaults) check() string {
	if msg := f.callbackFault.check([]string{faultDrop, faultDuplicate, wxpFaultReorder}, `"drop", "duplicate", "delay" or "reorder"`); msg != "" {
		return msg
	}
	return f.apiFault.check(func(s int) bool { return s == http.StatusTooManyRequests || s >= 500 && s <= 599 }, "429 or 5xx")
}

// wxpCallback is one callback (notification) and what became of it.
type wxpCallback struct {
	ID          string    `json:"id"`
	EventType   string    `json:"event_type"`
	MchID       string    `json:"mchid"`
	OutTradeNo  string    `json:"out_trade_no"`
	OutRefundNo string    `json:"out_refund_no,omitempty"`
	URL         string    `json:"url"`
	Fault       string    `json:"fault,omitempty"`
	Attempts    int       `json:"attempts"`
	LastStatus  int       `json:"last_status"` // the merchant's last answer; 0: no answer
	Delivered   bool      `json:"delivered"`   // the merchant answered 2xx
	Created     time.Time `json:"created"`
	body        []byte
}

// takeAPIFault reports the status an injected API fault answers, if any.
func (w *WeChatPay) takeAPIFault() (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.faults.apiFault.take()
}

// notifyLocked records a callback of event for o (and refund f) and sends
// it, honouring the injected callback fault, and returns its body. Nothing
// is sent (nil is returned) without a notify_url.
func (w *WeChatPay) notifyLocked(event, summary string, o *wxpOrder, f *wxpRefund) []byte {
	m := w.merchants[o.mchID]
	url := o.notifyURL
	var plain []byte
	var resource wxpEncrypted
	if f == nil {
		plain, _ = json.Marshal(transactionLocked(o))
		resource = sealAPIv3(m.APIv3Key, plain, "transaction", "transaction")
	} else {
		url = f.notifyURL
		type refundAmount struct {
			Total       int64 `json:"total"`
			Refund      int64 `json:"refund"`
			PayerTotal  int64 `json:"payer_total"`
			PayerRefund int64 `json:"payer_refund"`
		}
		r := struct {
			MchID               string       `json:"mchid"`
			OutTradeNo          string       `json:"out_trade_no"`
			TransactionID       string       `json:"transaction_id"`
			OutRefundNo         string       `json:"out_refund_no"`
			RefundID            string       `json:"refund_id"`
			RefundStatus        string       `json:"refund_status"`
			SuccessTime         string       `json:"success_time,omitempty"`
			UserReceivedAccount string       `json:"user_received_account"`
			Amount              refundAmount `json:"amount"`
		}{
			MchID: f.mchID, OutTradeNo: f.outTradeNo, TransactionID: f.transactionID,
			OutRefundNo: f.outRefundNo, RefundID: f.refundID, RefundStatus: f.status,
			UserReceivedAccount: "支付用户零钱",
			Amount:              refundAmount{Total: f.totalFen, Refund: f.refundFen, PayerTotal: f.totalFen, PayerRefund: f.refundFen},
		}
		if !f.succeeded.IsZero() {
			r.SuccessTime = rfc3339CN(f.succeeded)
		}
		plain, _ = json.Marshal(r)
		resource = sealAPIv3(m.APIv3Key, plain, "refund", "refund")
	}
	if url == "" {
		return nil
	}
	now := w.now()
	id := newNotificationID(now)
	body, _ := json.Marshal(map[string]any{
		"id": id, "create_time": rfc3339CN(now), "resource_type": "encrypt-resource",
		"event_type": event, "summary": summary, "resource": resource,
	})
	cb := &wxpCallback{ID: id, EventType: event, MchID: o.mchID, OutTradeNo: o.outTradeNo, URL: url, Created: now, body: body}
	if f != nil {
		cb.OutRefundNo = f.outRefundNo
	}
	w.callbacks = keepLatest(w.callbacks, cb, wxpMaxCallbacks)
	cb.Fault = w.faults.callbackFault.take(wxpFaultReorder)
	if cb.Fault == faultDrop {
		w.log.Debug("sim wechatpay: callback dropped", "id", id)
	}
	if w.cb.send(cb.Fault, w.faults.delay, func() bool { return w.attempt(cb) }) {
		return body
	}
	// wxpFaultReorder
	w.held = append(w.held, cb)
	if w.faults.CallbackCount > 0 && len(w.held) >= w.faults.CallbackCount {
		w.releaseLocked()
	}
	return body
}

// releaseLocked delivers the held callbacks newest first (each first
// attempt after the previous one's, so the order is certain) and ends the
// reorder fault.
func (w *WeChatPay) releaseLocked() int {
	attempts := make([]func() bool, 0, len(w.held))
	for _, cb := range slices.Backward(w.held) {
		attempts = append(attempts, func() bool { return w.attempt(cb) })
	}
	w.held = nil
	if w.faults.Callback == wxpFaultReorder {
		w.faults.Callback = ""
		w.faults.CallbackCount = 0
	}
	w.cb.inOrder(attempts)
	return len(attempts)
}

// attempt POSTs cb once, signed afresh, and records the answer: the
// merchant acknowledges it with any 2xx.
func (w *WeChatPay) attempt(cb *wxpCallback) bool {
	status := w.post(cb.URL, cb.body, w.signerFor(""), false)
	w.mu.Lock()
	defer w.mu.Unlock()
	cb.Attempts++
	cb.LastStatus = status
	if status >= 200 && status < 300 {
		cb.Delivered = true
	}
	return cb.Delivered
}

// post sends a callback body signed by s (mis-signed when forge is true)
// and returns the answer's status, 0 when there was none within 5 s.
func (w *WeChatPay) post(url string, body []byte, s *wxpSigner, forge bool) int {
	signed := body
	if forge {
		signed = append([]byte("probe:"), body...) // a signature over other bytes
	}
	status, _ := w.cb.post(url, "application/json", body, func(h http.Header) { w.signHeaders(h, s, signed) })
	return status
}

// newNotificationID returns an id shaped like WeChat's notification ids.
func newNotificationID(now time.Time) string {
	b := make([]byte, 16)
	copy(b, randomDigits(16))
	return fmt.Sprintf("%s-%s", now.UTC().Format("20060102150405"), hex.EncodeToString(b)[:20])
}
