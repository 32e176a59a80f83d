package sim

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// Callback faults (PUT /sim/wechatpay/control/faults "callback").
const (
	wxpFaultDrop      = "drop"      // the callback is never sent
	wxpFaultDuplicate = "duplicate" // delivered twice (each with its retries)
	wxpFaultDelay     = "delay"     // the first attempt waits callback_delay
	wxpFaultReorder   = "reorder"   // held, then delivered newest first
)

// wxpFaults are the faults injected by the control API.
type wxpFaults struct {
	// APIStatus answers protocol calls with this status (500, 502, 503:
	// SYSTEM_ERROR; 429: FREQUENCY_LIMITED); APICount calls, 0 = every call.
	APIStatus int `json:"api_status"`
	APICount  int `json:"api_count"`
	// Callback is drop, duplicate, delay or reorder, for the next
	// CallbackCount callbacks (0 = every callback; for reorder: hold until
	// POST /control/callbacks/release).
	Callback      string `json:"callback"`
	CallbackCount int    `json:"callback_count"`
	CallbackDelay string `json:"callback_delay"` // Go duration, for delay
	delay         time.Duration
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
	f := &w.faults
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

// notifyLocked records a callback of event for o (and refund f) and sends
// it, honouring the injected callback fault. Nothing is sent without a
// notify_url.
func (w *WeChatPay) notifyLocked(event, summary string, o *wxpOrder, f *wxpRefund) {
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
		return
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
	w.callbacks = append(w.callbacks, cb)
	if len(w.callbacks) > wxpMaxCallbacks {
		w.callbacks = slices.Delete(w.callbacks, 0, len(w.callbacks)-wxpMaxCallbacks)
	}
	fault := w.faults.Callback
	if fault != "" && fault != wxpFaultReorder && w.faults.CallbackCount > 0 {
		w.faults.CallbackCount--
		if w.faults.CallbackCount == 0 {
			w.faults.Callback = ""
		}
	}
	cb.Fault = fault
	switch fault {
	case wxpFaultDrop:
		w.log.Debug("sim wechatpay: callback dropped", "id", id)
	case wxpFaultDuplicate:
		w.deliverLocked(cb, 0)
		w.deliverLocked(cb, 0)
	case wxpFaultDelay:
		w.deliverLocked(cb, w.faults.delay)
	case wxpFaultReorder:
		w.held = append(w.held, cb)
		if w.faults.CallbackCount > 0 && len(w.held) >= w.faults.CallbackCount {
			w.releaseLocked()
		}
	default:
		w.deliverLocked(cb, 0)
	}
}

// releaseLocked delivers the held callbacks newest first (each first
// attempt after the previous one's, so the order is certain) and ends the
// reorder fault.
func (w *WeChatPay) releaseLocked() int {
	held := slices.Clone(w.held)
	slices.Reverse(held)
	w.held = nil
	if w.faults.Callback == wxpFaultReorder {
		w.faults.Callback = ""
		w.faults.CallbackCount = 0
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for _, cb := range held {
			if w.ctx.Err() != nil {
				return
			}
			if !w.attempt(cb) {
				w.startRetries(cb)
			}
		}
	}()
	return len(held)
}

// deliverLocked starts delivering cb after delay, retried on the schedule
// until the merchant answers 2xx or the schedule ends. Deliveries of one
// callback never overlap; different callbacks go in parallel, as at WeChat.
func (w *WeChatPay) deliverLocked(cb *wxpCallback, delay time.Duration) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if w.sleep(delay) && !w.attempt(cb) {
			w.retries(cb)
		}
	}()
}

// startRetries starts the retries of cb, whose first attempt failed.
func (w *WeChatPay) startRetries(cb *wxpCallback) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.retries(cb)
	}()
}

// retries re-sends cb on the retry schedule until it is acknowledged.
func (w *WeChatPay) retries(cb *wxpCallback) {
	for _, d := range w.retrySchedule {
		if !w.sleep(d) || w.attempt(cb) {
			return
		}
	}
}

// sleep waits d unless the simulator is closed first.
func (w *WeChatPay) sleep(d time.Duration) bool {
	if d <= 0 {
		return w.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// attempt POSTs cb once, signed afresh, and records the answer.
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
	ctx, cancel := context.WithTimeout(w.ctx, wxpCallbackWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	signed := body
	if forge {
		signed = append([]byte("probe:"), body...) // a signature over other bytes
	}
	w.signHeaders(req.Header, s, signed)
	res, err := w.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	_ = res.Body.Close()
	return res.StatusCode
}

// newNotificationID returns an id shaped like WeChat's notification ids.
func newNotificationID(now time.Time) string {
	b := make([]byte, 16)
	copy(b, randomDigits(16))
	return fmt.Sprintf("%s-%s", now.UTC().Format("20060102150405"), hex.EncodeToString(b)[:20])
}
