package sim

import (
	"errors"
	"net/http"
	"time"

	"banshi/internal/platform"
)

// Discrepancies the payment simulators put into a day's trade bill on
// request (POST /sim/wechatpay/bills/discrepancies and
// /sim/alipay/bills/discrepancies), so that reconciliation has something
// to find. They change the bill only: the orders themselves, their queries
// and callbacks stay as they were.
const (
	// DiscrepancyChannelOnly adds a success row for an order the merchant
	// does not have (长款).
	DiscrepancyChannelOnly = "channel_only"
	// DiscrepancyMissing leaves an order's rows out of the bill (短款).
	DiscrepancyMissing = "missing"
	// DiscrepancyAmount raises an order's amount in the bill by
	// DiscrepancyAmountFen.
	DiscrepancyAmount = "amount"

	// DiscrepancyAmountFen is what an amount discrepancy adds to the order's
	// amount in the bill (and what each further one adds again).
	DiscrepancyAmountFen = 100
	// DiscrepancyChannelOnlyFen is the amount of a channel-only row for an
	// order the simulator does not know either (one it knows, unpaid, keeps
	// its own amount).
	DiscrepancyChannelOnlyFen = 100
)

// billEdits are the discrepancies of one day's bill of one merchant (WeChat
// Pay mchid, Alipay app).
type billEdits struct {
	extra   []billExtra      // channel-only success rows
	missing map[string]bool  // out_trade_no → its rows are left out
	delta   map[string]int64 // out_trade_no → fen added to its payment row
}

// billExtra is a channel-only success row.
type billExtra struct {
	outTradeNo, tradeNo string
	appID               string // WeChat Pay: the appid column
	subject, attach     string
	payer               string // WeChat openid; Alipay buyer logon id
	tradeType           string // WeChat Pay: JSAPI or APP
	amountFen           int64
	at                  time.Time
}

// missingOf reports whether no's rows are left out; e may be nil.
func (e *billEdits) missingOf(no string) bool { return e != nil && e.missing[no] }

// deltaOf is what is added to no's amount; e may be nil.
func (e *billEdits) deltaOf(no string) int64 {
	if e == nil {
		return 0
	}
	return e.delta[no]
}

// extras are the channel-only rows; e may be nil.
func (e *billEdits) extras() []billExtra {
	if e == nil {
		return nil
	}
	return e.extra
}

// hasExtra reports whether a channel-only row of no exists.
func (e *billEdits) hasExtra(no string) bool {
	for _, x := range e.extras() {
		if x.outTradeNo == no {
			return true
		}
	}
	return false
}

// editsOf returns (creating) the edits of key in m.
func editsOf(m map[string]*billEdits, key string) *billEdits {
	e := m[key]
	if e == nil {
		e = &billEdits{missing: map[string]bool{}, delta: map[string]int64{}}
		m[key] = e
	}
	return e
}

// errBadDiscrepancy is a discrepancy request that makes no sense (400).
var errBadDiscrepancy = errors.New(`body must be {"date":"YYYY-MM-DD","kind":"channel_only"|"missing"|"amount","order_no"?}; missing and amount need order_no`)

// checkDiscrepancy validates a discrepancy request and returns the start
// of its Asia/Shanghai day. Errors: errBadDiscrepancy.
func checkDiscrepancy(date, kind, orderNo string) (time.Time, error) {
	day, err := time.ParseInLocation(time.DateOnly, date, platform.Shanghai())
	switch {
	case err != nil:
		return time.Time{}, errBadDiscrepancy
	case kind != DiscrepancyChannelOnly && kind != DiscrepancyMissing && kind != DiscrepancyAmount:
		return time.Time{}, errBadDiscrepancy
	case kind != DiscrepancyChannelOnly && orderNo == "":
		return time.Time{}, errBadDiscrepancy
	}
	return day, nil
}

// onDay reports whether t falls in the Asia/Shanghai day starting at day.
func onDay(t, day time.Time) bool {
	return !t.IsZero() && !t.Before(day) && t.Before(day.AddDate(0, 0, 1))
}

// discrepancyRequest is the body of POST …/bills/discrepancies.
type discrepancyRequest struct {
	Date    string `json:"date"`
	Kind    string `json:"kind"`
	OrderNo string `json:"order_no"`
}

// handleDiscrepancy serves POST …/bills/discrepancies with add (a
// simulator's AddBillDiscrepancy): 200 {"order_no","kind"}; 400 for a bad
// body, 404 and 409 as classify says.
func handleDiscrepancy(add func(date, kind, orderNo string) (string, error), classify func(rw http.ResponseWriter, err error)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		var req discrepancyRequest
		if err := decodeBody(r, &req); err != nil {
			writeControlError(rw, http.StatusBadRequest, "bad_request", errBadDiscrepancy.Error())
			return
		}
		no, err := add(req.Date, req.Kind, req.OrderNo)
		if err != nil {
			classify(rw, err)
			return
		}
		writeControl(rw, http.StatusOK, map[string]string{"order_no": no, "kind": req.Kind})
	}
}
