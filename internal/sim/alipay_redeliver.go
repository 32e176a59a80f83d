package sim

// findOrderLocked finds the trade out_trade_no no of any app: the
// simulator's control paths name orders by their number alone (Banshi's
// order_no is its out_trade_no).
func (a *Alipay) findOrderLocked(no string) *aliOrder {
	for id := range a.apps {
		if o := a.orders[aliOrderKey(id, no)]; o != nil {
			return o
		}
	}
	return nil
}

// Redeliver posts the TRADE_SUCCESS notification of the paid order orderNo
// (out_trade_no) times times at once — the same form, notify_id and
// signature each time, as Alipay re-sends a notification not answered
// "success" — waits for the answers and counts them by status ("0": no
// answer within 15 s). The deliveries bypass the injected faults and are
// not retried. Errors: errRedeliveryTimes (times not in 1..1000),
// errAliNotFound (never opened), errAliConflict (not paid).
func (a *Alipay) Redeliver(orderNo string, times int) (map[string]int, error) {
	if times < 1 || times > maxRedeliveries {
		return nil, errRedeliveryTimes
	}
	a.mu.Lock()
	o := a.findOrderLocked(orderNo)
	var url, body string
	if o != nil {
		url, body = o.notifyURL, o.successBody
	}
	a.mu.Unlock()
	switch {
	case o == nil:
		return nil, errAliNotFound
	case body == "":
		return nil, errAliConflict
	}
	return redeliver(times, func() int {
		status, _ := a.cb.post(url, "application/x-www-form-urlencoded; charset=utf-8", []byte(body), nil)
		return status
	}), nil
}
