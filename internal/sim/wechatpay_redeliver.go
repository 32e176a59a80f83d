package sim

// Redeliver delivers the TRANSACTION.SUCCESS callback of the paid order
// orderNo (out_trade_no) times times at once — the same notification and
// resource, each delivery signed afresh (timestamp, nonce, signature), as
// WeChat re-sends a callback it believes unanswered — waits for the
// answers and counts them by status ("0": no answer within 5 s). The
// deliveries bypass the injected faults and are not retried. Errors:
// errRedeliveryTimes (times not in 1..1000), errWxpNotFound,
// errWxpConflict (the order was never paid).
func (w *WeChatPay) Redeliver(orderNo string, times int) (map[string]int, error) {
	if times < 1 || times > maxRedeliveries {
		return nil, errRedeliveryTimes
	}
	w.mu.Lock()
	o := w.findOrderLocked(orderNo)
	var url string
	var body []byte
	if o != nil {
		url, body = o.notifyURL, o.successBody
	}
	w.mu.Unlock()
	switch {
	case o == nil:
		return nil, errWxpNotFound
	case body == nil:
		return nil, errWxpConflict
	}
	return redeliver(times, func() int { return w.post(url, body, w.signerFor(""), false) }), nil
}
