package payments

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"

	"banshi/internal/platform"
)

// reconKindLabels are the kinds as finance reads them.
var reconKindLabels = map[string]string{
	ReconChannelOnly:      "长款（仅渠道有）",
	ReconMissingAtChannel: "短款（渠道缺失）",
	ReconAmountMismatch:   "金额不符",
	ReconStatusMismatch:   "状态不符",
	ReconRefundMismatch:   "退款不符",
}

// reconActionLabels are the resolutions as finance reads them.
var reconActionLabels = map[string]string{
	ReconTakeChannel: "以渠道为准",
	ReconRefund:      "退款",
	ReconExplained:   "已说明",
}

// WriteCSV writes the discrepancies of date and channel (as Get lists them)
// as CSV that Excel opens directly: UTF-8 with a byte order mark, CRLF line
// ends, a header row in Chinese, amounts in yuan; cells a spreadsheet would
// read as a formula (an order number from a bill is outside input) are
// prefixed with an apostrophe. Suggested file name
// "reconciliation-<date>-<channel>.csv", content type "text/csv;
// charset=utf-8".
//
// Errors: as Get (returned before anything is written), or the writer's.
func (r *Reconciler) WriteCSV(ctx context.Context, w io.Writer, date, channel string) error {
	rec, err := r.Get(ctx, date, channel)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	_ = cw.Write([]string{"差错编号", "对账日期", "渠道", "类型", "商户订单号", "退款单号", "渠道交易号",
		"办事通金额（元）", "渠道金额（元）", "办事通状态", "说明", "本次对账已消失", "处理方式", "处理说明", "处理人", "处理时间"})
	for _, it := range rec.Items {
		gone := "否"
		if it.Gone {
			gone = "是"
		}
		var action, note, by, at string
		if res := it.Resolution; res != nil {
			action, note, by = reconActionLabels[res.Action], res.Note, res.By
			if !res.Done {
				action += "（处理中）"
			}
			at = platform.Local(res.At).Format("2006-01-02 15:04:05")
		}
		row := []string{it.ID, rec.Date, rec.Channel, reconKindLabels[it.Kind], it.OrderNo, it.RefundNo, it.ChannelTradeNo,
			Yuan(it.AmountFen), Yuan(it.ChannelAmountFen), it.BanshiState, it.Detail, gone, action, note, by, at}
		for i := range row {
			row[i] = platform.CSVSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
