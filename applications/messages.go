package applications

import (
	"fmt"
	"strings"
	"time"

	"banshi/internal/platform"
	"banshi/notify"
)

// Message kinds of application events.
const (
	KindProgress  = "application_progress"  // submitted, accepted, under_review
	KindMaterials = "application_materials" // needs_materials, with the list of what to bring
	KindResult    = "application_result"    // approved, rejected, withdrawn
	KindDelivered = "application_delivered" // delivered, with how
)

// MessageKinds describes the kinds above for notification preferences: all
// of them go at once, quiet hours or not.
func MessageKinds() []notify.KindInfo {
	return []notify.KindInfo{
		{Kind: KindProgress, Name: "办件进度"},
		{Kind: KindMaterials, Name: "补正材料"},
		{Kind: KindResult, Name: "办件结果"},
		{Kind: KindDelivered, Name: "结果送达"},
	}
}

// KindOf returns the message kind of an event status.
func KindOf(status string) string {
	switch status {
	case StatusNeedsMaterials:
		return KindMaterials
	case StatusApproved, StatusRejected, StatusWithdrawn:
		return KindResult
	case StatusDelivered:
		return KindDelivered
	}
	return KindProgress
}

// StatusText is the status as a citizen reads it, in at most five Chinese
// characters (a subscribe template's phrase).
func StatusText(status string) string {
	switch status {
	case StatusSubmitted:
		return "已提交"
	case StatusAccepted:
		return "已受理"
	case StatusNeedsMaterials:
		return "需补正材料"
	case StatusUnderReview:
		return "审核中"
	case StatusApproved:
		return "审批通过"
	case StatusRejected:
		return "未获批准"
	case StatusDelivered:
		return "结果已送达"
	case StatusWithdrawn:
		return "已撤回"
	}
	return "办理中"
}

// MessageID is the deterministic id of an event's message: publishing it
// again stores nothing twice.
func MessageID(source, applicationNo, eventID string) string {
	return "application:" + source + ":" + applicationNo + ":" + eventID
}

// message is what the owner is told about ev.
func message(ev eventDoc, owner string) notify.Message {
	e := ev.Entry
	no := ev.ApplicationNo
	at := platform.Local(e.OccurredAt).Format("2006-01-02 15:04")
	var title, body string
	switch e.Status {
	case StatusSubmitted:
		title, body = "办件已提交", fmt.Sprintf("您的办件（编号 %s）已于 %s 提交，请等待部门受理。", no, at)
	case StatusAccepted:
		title, body = "办件已受理", fmt.Sprintf("您的办件（编号 %s）已于 %s 受理，部门正在办理。", no, at)
	case StatusUnderReview:
		title, body = "办件审核中", fmt.Sprintf("您的办件（编号 %s）已于 %s 进入审核，请耐心等待结果。", no, at)
	case StatusNeedsMaterials:
		title = "请补正材料"
		var b strings.Builder
		fmt.Fprintf(&b, "您的办件（编号 %s）需要补正材料。请一次性备齐以下材料：", no)
		for i, m := range e.MaterialsMissing {
			if i > 0 {
				b.WriteString("；")
			}
			fmt.Fprintf(&b, "%d. %s", i+1, m.Name)
			if m.Reason != "" {
				fmt.Fprintf(&b, "（%s）", m.Reason)
			}
		}
		b.WriteString("。")
		body = b.String()
	case StatusApproved:
		title, body = "办件审批通过", fmt.Sprintf("您的办件（编号 %s）已于 %s 审批通过。", no, at)
	case StatusRejected:
		title, body = "办件未获批准", fmt.Sprintf("很遗憾，您的办件（编号 %s）于 %s 未获批准。", no, at)
	case StatusWithdrawn:
		title, body = "办件已撤回", fmt.Sprintf("您的办件（编号 %s）已于 %s 撤回。", no, at)
	case StatusDelivered:
		title = "办件结果已送达"
		switch d := e.Delivery; {
		case d != nil && d.Method == DeliveryPost:
			body = fmt.Sprintf("您的办件（编号 %s）结果已于 %s 寄出：%s，运单号 %s。", no, at, d.Carrier, d.TrackingNo)
		case d != nil && d.Method == DeliveryPickup:
			body = fmt.Sprintf("您的办件（编号 %s）结果已可领取，请携带身份证到办理窗口领取。", no)
		default:
			body = fmt.Sprintf("您的办件（编号 %s）结果已于 %s 电子送达，可在小程序中查看。", no, at)
		}
	}
	if e.Note != "" {
		body += "说明：" + e.Note
	}
	// Beside the ids, the values subscribe templates show: a short status
	// text, when it happened (RFC 3339, +08:00), the materials to bring and
	// the department's note.
	data := map[string]string{"application_no": no, "service_code": e.ServiceCode, "status": e.Status,
		"status_text": StatusText(e.Status), "occurred_at": platform.Local(e.OccurredAt).Format(time.RFC3339)}
	if len(e.MaterialsMissing) > 0 {
		names := make([]string, len(e.MaterialsMissing))
		for i, m := range e.MaterialsMissing {
			names[i] = m.Name
		}
		data["materials"] = strings.Join(names, "、")
	}
	if e.Note != "" {
		data["note"] = e.Note
	}
	if d := e.Delivery; d != nil {
		data["delivery_method"] = d.Method
		if d.Carrier != "" {
			data["carrier"] = d.Carrier
		}
		if d.TrackingNo != "" {
			data["tracking_no"] = d.TrackingNo
		}
	}
	return notify.Message{
		ID: MessageID(ev.Source, no, e.EventID), UserID: owner, Kind: KindOf(e.Status),
		Title: title, Body: body, Data: data, CreatedAt: ev.ReceivedAt,
	}
}
