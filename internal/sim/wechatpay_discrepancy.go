package sim

import (
	"slices"
	"time"

	"banshi/internal/platform"
)

// findOrderLocked finds the order out_trade_no no of any merchant: the
// simulator's control paths name orders by their number alone (Banshi's
// order_no is its out_trade_no).
func (w *WeChatPay) findOrderLocked(no string) *wxpOrder {
	for id := range w.merchants {
		if o := w.orders[orderKey(id, no)]; o != nil {
			return o
		}
	}
	return nil
}

// AddBillDiscrepancy changes the trade bill of date (YYYY-MM-DD,
// Asia/Shanghai) as kind says and returns the order number concerned:
//
//   - DiscrepancyChannelOnly adds a SUCCESS row of orderNo (generated when
//     "") that the merchant does not have: of DiscrepancyChannelOnlyFen, or
//     of the order's own amount when orderNo is an unpaid order the
//     simulator knows;
//   - DiscrepancyMissing leaves orderNo's rows (payment and refunds) out of
//     that day's bill;
//   - DiscrepancyAmount adds DiscrepancyAmountFen to orderNo's payment row
//     (fee and totals follow).
//
// The totals row always agrees with the rows. Errors: errBadDiscrepancy;
// errWxpNotFound for an unknown orderNo (missing, amount); errWxpConflict
// for a channel-only row of an order that is paid or already has one, or an
// order without rows (missing) or without a payment row (amount) that day;
// errWxpMerchant when the merchant cannot be told.
func (w *WeChatPay) AddBillDiscrepancy(date, kind, orderNo string) (string, error) {
	day, err := checkDiscrepancy(date, kind, orderNo)
	if err != nil {
		return "", err
	}
	if orderNo != "" && !wxpNoPattern.MatchString(orderNo) {
		return "", errBadDiscrepancy
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var o *wxpOrder
	mchID := ""
	if orderNo != "" {
		if o = w.findOrderLocked(orderNo); o != nil {
			mchID = o.mchID
		}
	}
	m := w.merchantLocked(mchID)
	if m == nil {
		return "", errWxpMerchant
	}
	key := orderKey(m.MchID, day.Format(time.DateOnly))
	switch kind {
	case DiscrepancyChannelOnly:
		if (o != nil && !o.paidAt.IsZero()) || w.billEdits[key].hasExtra(orderNo) {
			return "", errWxpConflict
		}
		x := billExtra{
			outTradeNo: orderNo, tradeNo: "42000" + day.Format("20060102") + randomDigits(15),
			subject: "模拟长款", payer: "o" + randomURLSafe(27), tradeType: "JSAPI",
			amountFen: DiscrepancyChannelOnlyFen, at: day.Add(12 * time.Hour),
		}
		if x.outTradeNo == "" {
			x.outTradeNo = "SIM" + day.Format("20060102") + randomDigits(12)
		}
		if o != nil {
			x.appID, x.subject, x.attach, x.tradeType, x.amountFen = o.appID, o.description, o.attach, o.tradeType, o.totalFen
			if o.payerOpenID != "" {
				x.payer = o.payerOpenID
			}
		} else {
			apps := make([]string, 0, len(m.appIDs))
			for a := range m.appIDs {
				apps = append(apps, a)
			}
			slices.Sort(apps)
			if len(apps) > 0 {
				x.appID = apps[0]
			}
		}
		e := editsOf(w.billEdits, key)
		e.extra = append(e.extra, x)
		return x.outTradeNo, nil
	case DiscrepancyMissing:
		if o == nil {
			return "", errWxpNotFound
		}
		if !w.hasRowsLocked(o, day) {
			return "", errWxpConflict
		}
		editsOf(w.billEdits, key).missing[orderNo] = true
	default: // DiscrepancyAmount
		if o == nil {
			return "", errWxpNotFound
		}
		if !onDay(o.paidAt, day) || w.billEdits[key].missingOf(orderNo) {
			return "", errWxpConflict
		}
		editsOf(w.billEdits, key).delta[orderNo] += DiscrepancyAmountFen
	}
	return orderNo, nil
}

// hasRowsLocked reports whether o has a row in the bill of day: its payment
// or one of its refunds.
func (w *WeChatPay) hasRowsLocked(o *wxpOrder, day time.Time) bool {
	if onDay(o.paidAt, day) {
		return true
	}
	for _, f := range w.refunds {
		if f.mchID == o.mchID && f.outTradeNo == o.outTradeNo && onDay(f.created, day) {
			return true
		}
	}
	return false
}

// billTime formats a bill row's time.
func billTime(t time.Time) string { return t.In(platform.Shanghai()).Format(time.DateTime) }
