package appointments

import (
	"context"
	"fmt"
	"time"

	"banshi/internal/platform"
	"banshi/notify"
)

// Message kinds sent to the citizen's inbox. IDs are "<kind>:<appointment
// id>", so a repeated send (retry, second sweeper replica) stores one message.
const (
	KindBooked    = "appointment_booked"
	KindCancelled = "appointment_cancelled"
	KindReminder  = "appointment_reminder" // the day before, and again 2 hours before
	KindNoShow    = "appointment_no_show"
	KindSuspended = "booking_suspended"
)

// MessageKinds describes the kinds above for notification preferences:
// reminders may wait for the end of quiet hours on push channels.
func MessageKinds() []notify.KindInfo {
	return []notify.KindInfo{
		{Kind: KindBooked, Name: "预约成功"},
		{Kind: KindCancelled, Name: "预约取消"},
		{Kind: KindReminder, Name: "预约提醒", Deferred: true},
		{Kind: KindNoShow, Name: "爽约提醒"},
		{Kind: KindSuspended, Name: "预约受限"},
		{Kind: KindCalled, Name: "叫号提醒"},
	}
}

// send publishes msgs; failures are logged and returned, never worth failing
// the action that caused them: whatever the appointment still owes its
// citizen is marked on it (notice) and the sweeper publishes it again.
func (s *Service) send(ctx context.Context, msgs ...notify.Message) error {
	if s.notify == nil || len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.notify.Publish(ctx, msgs); err != nil {
		s.log.Warn("messages not published; the sweeper publishes them again", "messages", len(msgs), "first", msgs[0].ID, "err", err)
		return err
	}
	return nil
}

func names(cat *catalog, d *apptDoc) (hall, service string) {
	hall, service = d.HallID, d.ServiceID
	if cat != nil {
		if h := cat.halls[d.HallID]; h != nil {
			hall = h.Name
		}
		if v := cat.services[d.ServiceID]; v != nil {
			service = v.Name
		}
	}
	return hall, service
}

func when(d *apptDoc) string {
	return d.Start.In(shanghai()).Format("2006-01-02 15:04") + "-" + d.End.In(shanghai()).Format("15:04")
}

// msg is a message of kind about d. Its Data carries the ids a client links
// to and the values subscribe templates show: service_name, hall_name, start
// (RFC 3339, +08:00), end, and checkin_code while the appointment has one.
func msg(cat *catalog, kind string, d *apptDoc, title, body string) notify.Message {
	hall, svc := names(cat, d)
	data := map[string]string{"appointment_id": d.ID, "hall_id": d.HallID, "service_id": d.ServiceID,
		"service_name": svc, "hall_name": hall,
		"start": platform.Local(d.Start).Format(time.RFC3339), "end": platform.Local(d.End).Format(time.RFC3339)}
	if d.CheckinCode != "" {
		data["checkin_code"] = d.CheckinCode
	}
	return notify.Message{ID: kind + ":" + d.ID, UserID: d.UserID, Kind: kind, Title: title, Body: body, Data: data}
}

func bookedMessage(cat *catalog, d *apptDoc) notify.Message {
	hall, svc := names(cat, d)
	return msg(cat, KindBooked, d, "预约成功",
		fmt.Sprintf("您已预约%s「%s」，时间%s。签到码%s，请携带所需材料按时到场签到。", hall, svc, when(d), d.CheckinCode))
}

func cancelledMessage(cat *catalog, d *apptDoc) notify.Message {
	hall, svc := names(cat, d)
	if d.CancelReason == "" {
		return msg(cat, KindCancelled, d, "预约已取消", fmt.Sprintf("您在%s「%s」%s的预约已取消。", hall, svc, when(d)))
	}
	m := msg(cat, KindCancelled, d, "预约已被大厅取消",
		fmt.Sprintf("您在%s「%s」%s的预约已被大厅取消，原因：%s。此次取消不计爽约，如需办理请重新预约。", hall, svc, when(d), d.CancelReason))
	m.Data["reason"] = d.CancelReason
	return m
}

func reminderMessage(cat *catalog, d *apptDoc) notify.Message {
	hall, svc := names(cat, d)
	return msg(cat, KindReminder, d, "明日预约提醒",
		fmt.Sprintf("您明天在%s有「%s」的预约，时间%s，签到码%s。如不能到场请提前取消。", hall, svc, when(d), d.CheckinCode))
}

// soonReminderMessage is the reminder 2 hours before the start: another
// message (its own ID) of the same kind.
func soonReminderMessage(cat *catalog, d *apptDoc) notify.Message {
	hall, svc := names(cat, d)
	m := msg(cat, KindReminder, d, "预约即将开始",
		fmt.Sprintf("您在%s「%s」的预约将于%s开始，签到码%s，请按时到场签到。", hall, svc, when(d), d.CheckinCode))
	m.ID = KindReminder + "_2h:" + d.ID
	return m
}

// noticeMessage is the message a state change of d owes its citizen, by the
// kind recorded in d.Notice ("" when the kind has no such message).
func noticeMessage(cat *catalog, d *apptDoc) (notify.Message, bool) {
	switch d.Notice {
	case KindBooked:
		return bookedMessage(cat, d), true
	case KindCancelled:
		return cancelledMessage(cat, d), true
	case KindCalled:
		// Only while the call stands: a citizen already served, skipped
		// or sent to another department is not sent to the window late.
		if d.Status == StatusCheckedIn && d.CallState == queueCalled {
			return calledMessage(cat, d), true
		}
	}
	return notify.Message{}, false
}

func noShowMessage(cat *catalog, d *apptDoc, limit int, period time.Duration) notify.Message {
	hall, svc := names(cat, d)
	return msg(cat, KindNoShow, d, "爽约提醒",
		fmt.Sprintf("您在%s「%s」%s的预约未按时签到，已记爽约一次。%d天内爽约%d次将暂停预约资格。",
			hall, svc, when(d), int(period.Hours()/24), limit))
}

func suspendedMessage(cat *catalog, d *apptDoc, until time.Time) notify.Message {
	hall, svc := names(cat, d)
	m := msg(cat, KindSuspended, d, "预约资格已暂停",
		fmt.Sprintf("您在%s「%s」%s的预约未按时签到。因多次爽约，预约资格暂停至%s。",
			hall, svc, when(d), until.In(shanghai()).Format("2006-01-02 15:04")))
	m.Data["suspended_until"] = platform.Local(until).Format(time.RFC3339)
	return m
}
