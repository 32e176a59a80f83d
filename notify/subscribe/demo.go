package subscribe

// DemoTemplates returns the templates of the demo mini-program, one per
// event kind the progress push tells (the kinds of appointments/messages.go
// and applications/messages.go, and payment_result of the payments issue).
// Their Data keys are those the features put into Message.Data; the
// payment_result keys (order_no, amount such as "¥12.50", status_text,
// paid_at in RFC 3339) are what the payments feature is to provide. In
// development the simulated mini-program must have added the same
// templates: for each t, sim.WeChat.AddTemplate(appID, t.TemplateID,
// t.Keys(), t.Enums()).
func DemoTemplates() []Template {
	appt := "pages/appointments/detail?id={appointment_id}"
	progress := "pages/progress/index?no={application_no}"
	f := func(key, label, from, def string) Field {
		return Field{Key: key, Type: KeyType(key), Label: label, From: from, Default: def}
	}
	return []Template{
		{Event: "appointment_booked", TemplateID: "DEMO-APPOINTMENT-BOOKED", Title: "预约成功通知", Page: appt, Fields: []Field{
			f("thing1", "办理事项", "service_name", ""), f("thing2", "办理地点", "hall_name", ""),
			f("time3", "预约时间", "start", ""), f("character_string4", "签到码", "checkin_code", "-"),
		}},
		{Event: "appointment_reminder", TemplateID: "DEMO-APPOINTMENT-REMINDER", Title: "预约到期提醒", Page: appt, Fields: []Field{
			f("thing1", "办理事项", "service_name", ""), f("thing2", "办理地点", "hall_name", ""),
			f("time3", "预约时间", "start", ""), f("thing4", "温馨提示", FromTitle, "请按时到场签到"),
		}},
		{Event: "appointment_cancelled", TemplateID: "DEMO-APPOINTMENT-CANCELLED", Title: "预约取消通知", Page: appt, Fields: []Field{
			f("thing1", "办理事项", "service_name", ""), f("time2", "预约时间", "start", ""),
			f("thing3", "取消原因", "reason", "您已取消本次预约"),
		}},
		{Event: "application_progress", TemplateID: "DEMO-APPLICATION-PROGRESS", Title: "办件进度通知", Page: progress, Fields: []Field{
			f("character_string1", "办件编号", "application_no", ""), f("phrase2", "办理状态", "status_text", "办理中"),
			f("time3", "更新时间", "occurred_at", ""), f("thing4", "备注", FromTitle, "请在小程序内查看详情"),
		}},
		{Event: "application_materials", TemplateID: "DEMO-APPLICATION-MATERIALS", Title: "材料补正提醒", Page: progress, Fields: []Field{
			f("character_string1", "办件编号", "application_no", ""), f("thing2", "需补正材料", "materials", "请在小程序内查看详情"),
			f("thing3", "温馨提示", "note", "请一次性备齐材料"),
		}},
		{Event: "application_result", TemplateID: "DEMO-APPLICATION-RESULT", Title: "办件结果通知", Page: progress, Fields: []Field{
			f("character_string1", "办件编号", "application_no", ""), f("phrase2", "办理结果", "status_text", ""),
			f("time3", "办结时间", "occurred_at", ""), f("thing4", "备注", "note", "请在小程序内查看详情"),
		}},
		{Event: "payment_result", TemplateID: "DEMO-PAYMENT-RESULT", Title: "缴费结果通知", Page: "pages/me/index", Fields: []Field{
			f("character_string1", "订单编号", "order_no", ""), f("amount2", "缴费金额", "amount", ""),
			f("phrase3", "缴费状态", "status_text", ""), f("time4", "缴费时间", "paid_at", ""),
		}},
	}
}
