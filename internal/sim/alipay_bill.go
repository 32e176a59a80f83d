package sim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"banshi/internal/platform"
)

// The trade bill (业务明细) as shared/reference/payments.md describes it: a
// zip of two GBK CSV files, "<PID>_<yyyyMMdd>_业务明细.csv" and
// "<PID>_<yyyyMMdd>_业务明细(汇总).csv" (names in GBK too, without zip's
// UTF-8 flag). The detail file has "#" header lines, a 25-column header
// row, one row per payment (业务类型 交易) and per refund (退款, negative
// amounts), ID-like values ending in a tab, and "#" footer lines with the
// totals. Fees (服务费) are 0.6 % rounded to the fen: negative on payments
// (charged), positive on refunds (given back).

// aliBillHeader is the detail file's header row.
const aliBillHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

// aliFeeFen is Alipay's 0.6 % fee on fen, rounded half up.
func aliFeeFen(fen int64) int64 { return (fen*6 + 500) / 1000 }

// cnDateTime formats t as the bill's "2026年03月16日 00:00:00".
func cnDateTime(t time.Time) string {
	return t.In(platform.Shanghai()).Format("2006年01月02日 15:04:05")
}

// billZipLocked renders app's bill of the Asia/Shanghai day that starts at
// day, exported at now, with the discrepancies added to it
// (AddBillDiscrepancy).
func (a *Alipay) billZipLocked(app *AlipayApp, day, now time.Time) []byte {
	end := day.AddDate(0, 0, 1)
	edits := a.billEdits[aliOrderKey(app.AppID, day.Format(time.DateOnly))]
	type line struct {
		at    time.Time
		cells []string
	}
	var lines []line
	var nPaid, nRefund, paidFen, refundFen, feeFen int64
	payment := func(tradeNo, outTradeNo, subject, buyer string, created, paidAt time.Time, amount int64) {
		fee := aliFeeFen(amount)
		nPaid++
		paidFen += amount
		feeFen -= fee
		lines = append(lines, line{paidAt, []string{
			tradeNo + "\t", outTradeNo + "\t", "交易", billCell(subject), aliTime(created), aliTime(paidAt),
			"", "", "", "", buyer, yuan(amount), yuan(amount), "0.00", "0.00", "0.00", "0.00", "0.00", "",
			"0.00", "0.00", "", yuan(-fee), "0.00", "",
		}})
	}
	for _, o := range a.orders {
		if o.appID != app.AppID || !onDay(o.paidAt, day) || edits.missingOf(o.outTradeNo) {
			continue
		}
		payment(o.tradeNo, o.outTradeNo, o.subject, o.buyerLogonID, o.created, o.paidAt, o.totalFen+edits.deltaOf(o.outTradeNo))
	}
	for _, x := range edits.extras() {
		payment(x.tradeNo, x.outTradeNo, x.subject, x.payer, x.at, x.at, x.amountFen)
	}
	for _, f := range a.refunds {
		if f.appID != app.AppID || !onDay(f.at, day) || edits.missingOf(f.outTradeNo) {
			continue
		}
		o := a.orders[aliOrderKey(f.appID, f.outTradeNo)]
		fee := aliFeeFen(f.refundFen)
		nRefund++
		refundFen += f.refundFen
		feeFen += fee
		lines = append(lines, line{f.at, []string{
			f.tradeNo + "\t", f.outTradeNo + "\t", "退款", billCell(o.subject), aliTime(o.created), aliTime(f.at),
			"", "", "", "", o.buyerLogonID, yuan(-f.refundFen), yuan(-f.refundFen), "0.00", "0.00", "0.00", "0.00", "0.00", "",
			"0.00", "0.00", f.outRequestNo + "\t", yuan(fee), "0.00", billCell(f.reason),
		}})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })

	var detail bytes.Buffer
	detail.WriteString("#支付宝业务明细查询\r\n")
	fmt.Fprintf(&detail, "#账号：[%s]\r\n", app.SellerID)
	fmt.Fprintf(&detail, "#起始日期：[%s]   终止日期：[%s]\r\n", cnDateTime(day), cnDateTime(end))
	detail.WriteString("#-----------------------------------------业务明细列表----------------------------------------\r\n")
	detail.WriteString(aliBillHeader + "\r\n")
	w := csv.NewWriter(&detail)
	w.UseCRLF = true
	for _, l := range lines {
		_ = w.Write(l.cells)
	}
	w.Flush()
	detail.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
	fmt.Fprintf(&detail, "#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元\r\n", nPaid, yuan(paidFen))
	fmt.Fprintf(&detail, "#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元\r\n", nRefund, yuan(-refundFen))
	fmt.Fprintf(&detail, "#导出时间：[%s]\r\n", cnDateTime(now))

	var summary bytes.Buffer
	summary.WriteString("#支付宝业务汇总查询\r\n")
	fmt.Fprintf(&summary, "#账号：[%s]\r\n", app.SellerID)
	fmt.Fprintf(&summary, "#起始日期：[%s]   终止日期：[%s]\r\n", cnDateTime(day), cnDateTime(end))
	summary.WriteString("#-----------------------------------------业务汇总列表----------------------------------------\r\n")
	summary.WriteString("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,服务费（元）,实收净额（元）\r\n")
	fmt.Fprintf(&summary, "合计,,%d,%d,%s,%s,%s,%s\r\n", nPaid, nRefund, yuan(paidFen-refundFen), yuan(paidFen-refundFen), yuan(feeFen), yuan(paidFen-refundFen+feeFen))
	summary.WriteString("#-----------------------------------------业务汇总列表结束------------------------------------\r\n")
	fmt.Fprintf(&summary, "#导出时间：[%s]\r\n", cnDateTime(now))

	gbk := encoding.ReplaceUnsupported(simplifiedchinese.GBK.NewEncoder())
	base := app.SellerID + "_" + day.Format("20060102")
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range []struct {
		name string
		body []byte
	}{{base + "_业务明细.csv", detail.Bytes()}, {base + "_业务明细(汇总).csv", summary.Bytes()}} {
		name, _ := gbk.String(f.name)
		body, _ := gbk.Bytes(f.body)
		fw, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, NonUTF8: true, Modified: now})
		_, _ = fw.Write(body)
	}
	_ = zw.Close()
	return out.Bytes()
}
