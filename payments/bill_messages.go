package payments

import (
	"fmt"
	"strconv"
	"time"

	"banshi/notify"
)

// Message kinds of bill events.
const (
	MsgBillIssued    = "bill_issued"
	MsgBillCancelled = "bill_cancelled"
	MsgBillAdjusted  = "bill_adjusted"
)

// BillMessageKinds describes the kinds above for notification preferences.
func BillMessageKinds() []notify.KindInfo {
	return []notify.KindInfo{
		{Kind: MsgBillIssued, Name: "新账单"},
		{Kind: MsgBillCancelled, Name: "账单撤销"},
		{Kind: MsgBillAdjusted, Name: "账单调整"},
	}
}

// BillMessageID is the deterministic id of a bill event's message:
// publishing it again stores nothing twice.
func BillMessageID(source, billNo, eventID string) string {
	return "bill:" + source + ":" + billNo + ":" + eventID
}

// billMessage is what the payer's owner is told about event ev, which left
// the bill d.
func billMessage(source string, ev BillEvent, d billDoc, owner string, now time.Time) notify.Message {
	var kind, title, body string
	switch ev.Action {
	case BillIssue:
		kind, title = MsgBillIssued, "您有一笔新账单"
		body = fmt.Sprintf("%s开具了账单（编号 %s）：%s，金额 %s 元，缴款期限 %s。", d.Unit.Name, d.ID, d.Item, Yuan(d.AmountFen), d.DueDate)
		if d.LateFee != nil {
			body += fmt.Sprintf("自 %s 起每日加收金额的千分之%d。", d.LateFee.From, d.LateFee.PermillePerDay)
		}
	case BillCancel:
		kind, title = MsgBillCancelled, "账单已撤销"
		body = fmt.Sprintf("%s撤销了账单（编号 %s）：%s，无需缴纳。", d.Unit.Name, d.ID, d.Item)
	default:
		kind, title = MsgBillAdjusted, "账单已调整"
		body = fmt.Sprintf("%s调整了账单（编号 %s）：%s，金额 %s 元，缴款期限 %s。", d.Unit.Name, d.ID, d.Item, Yuan(d.AmountFen), d.DueDate)
	}
	return notify.Message{
		ID: BillMessageID(source, d.ID, ev.EventID), UserID: owner, Kind: kind, Title: title, Body: body,
		Data: map[string]string{"bill_no": d.ID, "action": ev.Action, "item": d.Item,
			"amount_fen": strconv.FormatInt(d.AmountFen, 10), "due_date": d.DueDate, "state": d.State},
		CreatedAt: now.UTC().Truncate(time.Millisecond),
	}
}
