package sim

import "time"

// AddBillDiscrepancy changes the trade bill (the zip's 业务明细 and its
// 汇总) of date (YYYY-MM-DD, Asia/Shanghai) as kind says and returns the
// order number concerned:
//
//   - DiscrepancyChannelOnly adds a 交易 row of orderNo (generated when "")
//     that the merchant does not have: of DiscrepancyChannelOnlyFen, or of
//     the trade's own amount when orderNo is an unpaid trade the simulator
//     knows;
//   - DiscrepancyMissing leaves orderNo's rows (交易 and 退款) out of that
//     day's bill;
//   - DiscrepancyAmount adds DiscrepancyAmountFen to orderNo's 交易 row
//     (订单金额 and 商家实收; the fee follows).
//
// The footer and the summary file always agree with the rows. Errors:
// errBadDiscrepancy; errAliNotFound for an unknown orderNo (missing,
// amount); errAliConflict for a channel-only row of a paid trade or one
// that already has one, or a trade without rows (missing) or without a
// payment row (amount) that day; errAliApp when the app cannot be told.
func (a *Alipay) AddBillDiscrepancy(date, kind, orderNo string) (string, error) {
	day, err := checkDiscrepancy(date, kind, orderNo)
	if err != nil {
		return "", err
	}
	if orderNo != "" && !aliNoPattern.MatchString(orderNo) {
		return "", errBadDiscrepancy
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var o *aliOrder
	appID := ""
	if orderNo != "" {
		if o = a.findOrderLocked(orderNo); o != nil {
			appID = o.appID
		}
	}
	app := a.appLocked(appID)
	if app == nil {
		return "", errAliApp
	}
	key := aliOrderKey(app.AppID, day.Format(time.DateOnly))
	switch kind {
	case DiscrepancyChannelOnly:
		if (o != nil && o.paid()) || a.billEdits[key].hasExtra(orderNo) {
			return "", errAliConflict
		}
		x := billExtra{
			outTradeNo: orderNo, tradeNo: day.Format("20060102") + "22001" + randomDigits(15),
			subject: "模拟长款", payer: "159****" + randomDigits(4),
			amountFen: DiscrepancyChannelOnlyFen, at: day.Add(12 * time.Hour),
		}
		if x.outTradeNo == "" {
			x.outTradeNo = "SIM" + day.Format("20060102") + randomDigits(12)
		}
		if o != nil {
			x.tradeNo, x.subject, x.amountFen = o.tradeNo, o.subject, o.totalFen
		}
		e := editsOf(a.billEdits, key)
		e.extra = append(e.extra, x)
		return x.outTradeNo, nil
	case DiscrepancyMissing:
		if o == nil {
			return "", errAliNotFound
		}
		if !a.hasRowsLocked(o, day) {
			return "", errAliConflict
		}
		editsOf(a.billEdits, key).missing[orderNo] = true
	default: // DiscrepancyAmount
		if o == nil {
			return "", errAliNotFound
		}
		if !onDay(o.paidAt, day) || a.billEdits[key].missingOf(orderNo) {
			return "", errAliConflict
		}
		editsOf(a.billEdits, key).delta[orderNo] += DiscrepancyAmountFen
	}
	return orderNo, nil
}

// hasRowsLocked reports whether o has a row in the bill of day: its payment
// or one of its refunds.
func (a *Alipay) hasRowsLocked(o *aliOrder, day time.Time) bool {
	if onDay(o.paidAt, day) {
		return true
	}
	for _, f := range a.refunds {
		if f.appID == o.appID && f.outTradeNo == o.outTradeNo && onDay(f.at, day) {
			return true
		}
	}
	return false
}
