package sim

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"banshi/internal/platform"
)

// The trade bill (交易账单) as shared/reference/payments.md describes it:
// UTF-8 with a BOM, a header row without backquotes, 27 columns for
// bill_type=ALL, every detail value prefixed by a backquote, refunds as rows
// of their own (交易状态 REFUND, 应结订单金额 0.00), amounts in yuan, fees to
// 5 decimals, then the totals header and the backquoted totals row.

// wxpBillHeader is the header row of bill_type=ALL.
const wxpBillHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

// wxpBillTotalsHeader heads the totals row.
const wxpBillTotalsHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// yuan formats fen as yuan with 2 decimals ("-" for negatives).
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// yuan5 formats milli-fen as yuan with 5 decimals.
func yuan5(milliFen int64) string {
	sign := ""
	if milliFen < 0 {
		sign, milliFen = "-", -milliFen
	}
	return fmt.Sprintf("%s%d.%05d", sign, milliFen/100000, milliFen%100000)
}

// billCell makes a value safe for the bill: no backquote, comma-backquote
// or line break can be forged by a description or attach.
func billCell(s string) string {
	return strings.NewReplacer("`", "'", "\r", " ", "\n", " ").Replace(s)
}

// billLine is one detail row and when it happened.
type billLine struct {
	at    time.Time
	cells []string
}

// tradeBillLocked renders the bill of mchID for the Asia/Shanghai day that
// starts at day, with the discrepancies added to it (AddBillDiscrepancy);
// ok is false when the day had no trade.
func (w *WeChatPay) tradeBillLocked(mchID string, day time.Time, billType string) (content []byte, ok bool) {
	edits := w.billEdits[orderKey(mchID, day.Format(time.DateOnly))]
	var lines []billLine
	var paid, refunded, fees, orderTotal, refundAsked int64
	payment := func(at time.Time, appID, transactionID, outTradeNo, payer, tradeType, description, attach string, amount int64) {
		fee := amount * wxpFeeMilliPerFen
		paid += amount
		orderTotal += amount
		fees += fee
		lines = append(lines, billLine{at: at, cells: []string{
			billTime(at), appID, mchID, "0", "",
			transactionID, outTradeNo, payer, tradeType, "SUCCESS", "OTHERS", "CNY",
			yuan(amount), "0.00", "0", "0", "0.00", "0.00", "", "",
			billCell(description), billCell(attach), yuan5(fee), "0.60%", yuan(amount), "0.00", "",
		}})
	}
	if billType == "ALL" || billType == "SUCCESS" {
		for _, o := range w.orders {
			if o.mchID != mchID || !onDay(o.paidAt, day) || edits.missingOf(o.outTradeNo) {
				continue
			}
			payment(o.paidAt, o.appID, o.transactionID, o.outTradeNo, o.payerOpenID, o.tradeType,
				o.description, o.attach, o.totalFen+edits.deltaOf(o.outTradeNo))
		}
		for _, x := range edits.extras() {
			payment(x.at, x.appID, x.tradeNo, x.outTradeNo, x.payer, x.tradeType, x.subject, x.attach, x.amountFen)
		}
	}
	if billType == "ALL" || billType == "REFUND" {
		for _, f := range w.refunds {
			if f.mchID != mchID || !onDay(f.created, day) || edits.missingOf(f.outTradeNo) {
				continue
			}
			o := w.orders[orderKey(f.mchID, f.outTradeNo)]
			fee := -f.refundFen * wxpFeeMilliPerFen
			refunded += f.refundFen
			refundAsked += f.refundFen
			fees += fee
			lines = append(lines, billLine{at: f.created, cells: []string{
				billTime(f.created), o.appID, f.mchID, "0", "",
				f.transactionID, f.outTradeNo, o.payerOpenID, o.tradeType, "REFUND", "OTHERS", "CNY",
				"0.00", "0.00", f.refundID, f.outRefundNo, yuan(f.refundFen), "0.00", "ORIGINAL", f.status,
				billCell(o.description), billCell(o.attach), yuan5(fee), "0.60%", "0.00", yuan(f.refundFen), "",
			}})
		}
	}
	if len(lines) == 0 {
		return nil, false
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	var b bytes.Buffer
	b.WriteString("\uFEFF" + wxpBillHeader + "\r\n")
	for _, l := range lines {
		b.WriteString("`" + strings.Join(l.cells, ",`") + "\r\n")
	}
	b.WriteString(wxpBillTotalsHeader + "\r\n")
	totals := []string{fmt.Sprint(len(lines)), yuan(paid), yuan(refunded), "0.00", yuan5(fees), yuan(orderTotal), yuan(refundAsked)}
	b.WriteString("`" + strings.Join(totals, ",`") + "\r\n")
	return b.Bytes(), true
}

// handleTradeBill answers {hash_type, hash_value, download_url} for
// ?bill_date=YYYY-MM-DD&bill_type=ALL|SUCCESS|REFUND. 400 PARAM_ERROR for a
// bad date or type, or one older than three months; 400 STATEMENT_CREATING
// before 10:00 the next day; 400 NO_STATEMENT_EXIST for a day without trade.
func (w *WeChatPay) handleTradeBill(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, _ []byte) {
	q := r.URL.Query()
	day, err := time.ParseInLocation(time.DateOnly, q.Get("bill_date"), platform.Shanghai())
	if err != nil {
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "bill_date 格式应为 YYYY-MM-DD")
		return
	}
	billType := q.Get("bill_type")
	if billType == "" {
		billType = "ALL"
	}
	if billType != "ALL" && billType != "SUCCESS" && billType != "REFUND" {
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "bill_type 应为 ALL、SUCCESS 或 REFUND")
		return
	}
	now := w.now()
	switch {
	case !w.billsAnyDay && now.Before(day.AddDate(0, 0, 1).Add(wxpBillReadyHour*time.Hour)):
		w.answerError(rw, r, http.StatusBadRequest, wxpStatementCreating, "账单生成中，请于次日10点后再获取")
		return
	case now.After(day.AddDate(0, 0, wxpBillMaxAgeDays+1)):
		w.answerError(rw, r, http.StatusBadRequest, wxpParamError, "仅支持下载三个月内的账单")
		return
	}
	w.mu.Lock()
	content, ok := w.tradeBillLocked(m.MchID, day, billType)
	if !ok {
		w.mu.Unlock()
		w.answerError(rw, r, http.StatusBadRequest, wxpNoStatement, "账单文件不存在，请检查当前商户号在指定日期内是否有成功的交易")
		return
	}
	for t, d := range w.downloads {
		if now.After(d.expires) {
			delete(w.downloads, t)
		}
	}
	token := randomAlnum(40)
	w.downloads[token] = &wxpDownload{mchID: m.MchID, content: content, expires: now.Add(wxpDownloadTTL)}
	w.mu.Unlock()
	sum := sha1.Sum(content)
	w.answer(rw, r, http.StatusOK, map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": "https://api.mch.weixin.qq.com/v3/billdownload/file?token=" + token,
	})
}

// handleDownload serves a bill file (not signed, as WeChat does: the hash
// of the tradebill answer proves it). 400 INVALID_REQUEST for an unknown or
// expired token or one of another merchant.
func (w *WeChatPay) handleDownload(rw http.ResponseWriter, r *http.Request, m *wxpMerchant, _ []byte) {
	now := w.now()
	w.mu.Lock()
	d := w.downloads[r.URL.Query().Get("token")]
	w.mu.Unlock()
	if d == nil || d.mchID != m.MchID || now.After(d.expires) {
		w.answerError(rw, r, http.StatusBadRequest, wxpInvalidRequest, "下载链接无效或已过期，请重新申请账单")
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(d.content)
}
