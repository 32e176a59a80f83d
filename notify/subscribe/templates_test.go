package subscribe

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/sim"
	"banshi/notify"
)

// TestRecordRefusesBadResults: a template Banshi does not list, a result
// word other than accept/reject/ban/filter, a failed errMsg, no template, or
// more than three are invalid_argument, and nothing is written — not even
// for the good templates beside the bad one.
func TestRecordRefusesBadResults(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &fakeSender{})
	userID, _ := f.person(t)
	for name, tc := range map[string]struct {
		result       map[string]string
		field, check string
	}{
		"unknown template": {map[string]string{tplBooked: "accept", "NOT-LISTED": "accept"}, "NOT-LISTED", "unknown_template"},
		"unknown word":     {map[string]string{tplBooked: "accept", tplProgress: "maybe"}, tplProgress, "enum"},
		"upper-case word":  {map[string]string{tplBooked: "ACCEPT"}, tplBooked, "enum"},
		"failed call":      {map[string]string{tplBooked: "accept", "errMsg": "requestSubscribeMessage:fail cancel"}, "errMsg", "enum"},
		"no template":      {map[string]string{"errMsg": "requestSubscribeMessage:ok"}, "body", "required"},
		"empty":            {map[string]string{}, "body", "required"},
		"four templates": {map[string]string{tplBooked: "accept", tplProgress: "accept", "DEMO-APPLICATION-RESULT": "accept",
			"DEMO-PAYMENT-RESULT": "accept"}, "body", "length"},
	} {
		_, err := f.svc.Record(ctx, userID, tc.result)
		var pe *platform.Error
		if !errors.As(err, &pe) || pe.Code != platform.CodeInvalid || pe.Field != tc.field || pe.Check != tc.check {
			t.Errorf("%s: %v, want invalid_argument %s/%s", name, err, tc.field, tc.check)
		}
	}
	if n, err := f.db.Collection(collCredits).CountDocuments(ctx, bson.M{}); err != nil || n != 0 {
		t.Fatalf("%d credit documents after refused results (%v)", n, err)
	}
}

// TestDemoTemplatesFitTheirMessages: every demo template is valid, and
// messages shaped as the features send them render into values the
// simulator accepts, with the page the template names.
func TestDemoTemplatesFitTheirMessages(t *testing.T) {
	created := time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC)
	data := map[string]map[string]string{
		"appointment_booked":    bookedMessage("u", "ap-1").Data,
		"appointment_reminder":  bookedMessage("u", "ap-1").Data,
		"appointment_cancelled": {"appointment_id": "ap-1", "service_name": "社保卡补办", "start": "2026-03-09T09:00:00+08:00"},
		"application_progress": {"application_no": "GZ2026031600001", "service_code": "11440100MB2C", "status": "accepted",
			"status_text": "已受理", "occurred_at": "2026-03-16T10:00:00+08:00"},
		"application_materials": {"application_no": "GZ2026031600001", "status": "needs_materials", "status_text": "需补正",
			"occurred_at": "2026-03-16T10:00:00+08:00", "materials": "户口簿原件、近期免冠照片（白底两寸）、居住证明"},
		"application_result": {"application_no": "GZ2026031600001", "status": "approved", "status_text": "审批通过",
			"occurred_at": "2026-03-16T10:00:00+08:00"},
		"payment_result": {"order_no": "P20260309000123", "amount": "¥125.00", "status_text": "缴费成功", "paid_at": "2026-03-09T10:00:00+08:00"},
	}
	for _, tpl := range DemoTemplates() {
		if err := tpl.validate(); err != nil {
			t.Errorf("%s: %v", tpl.Event, err)
			continue
		}
		d, ok := data[tpl.Event]
		if !ok {
			t.Errorf("%s: no sample message", tpl.Event)
			continue
		}
		page, values, err := tpl.Render(notify.Message{ID: "m", UserID: "u", Kind: tpl.Event, Title: "办件已受理", Body: "正文", Data: d, CreatedAt: created})
		if err != nil {
			t.Errorf("%s: %v", tpl.Event, err)
			continue
		}
		for _, fl := range tpl.Fields {
			if p := sim.CheckSubscribeValue(fl.Key, values[fl.Key], fl.Enum); p != "" {
				t.Errorf("%s %s = %q: %s", tpl.Event, fl.Key, values[fl.Key], p)
			}
		}
		if page == "" || page[0] == '/' {
			t.Errorf("%s: page %q", tpl.Event, page)
		}
	}
}

// TestTemplatePutValidates: bad definitions are refused and not stored;
// Seed keeps a template an operator changed.
func TestTemplatePutValidates(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &fakeSender{})
	s := f.svc.Templates()
	good := Field{Key: "thing1", Type: TypeThing, Label: "事项", From: "service_name"}
	for name, tpl := range map[string]Template{
		"no event":        {TemplateID: "T1", Fields: []Field{good}},
		"bad template id": {Event: "k", TemplateID: "T 1", Fields: []Field{good}},
		"no fields":       {Event: "k", TemplateID: "T1"},
		"type mismatch":   {Event: "k", TemplateID: "T1", Fields: []Field{{Key: "thing1", Type: TypePhrase, From: "x"}}},
		"unknown type":    {Event: "k", TemplateID: "T1", Fields: []Field{{Key: "colour1", Type: "colour", From: "x"}}},
		"duplicate key":   {Event: "k", TemplateID: "T1", Fields: []Field{good, good}},
		"no source":       {Event: "k", TemplateID: "T1", Fields: []Field{{Key: "thing1", Type: TypeThing}}},
		"enum no values":  {Event: "k", TemplateID: "T1", Fields: []Field{{Key: "enum1", Type: TypeEnum, From: "x"}}},
		"bad page":        {Event: "k", TemplateID: "T1", Page: "pages/x?a=<b>", Fields: []Field{good}},
	} {
		var pe *platform.Error
		if err := s.Put(ctx, tpl); !errors.As(err, &pe) || pe.Code != platform.CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
		if _, ok, _ := s.Get(ctx, "k"); ok {
			t.Fatalf("%s: stored", name)
		}
	}
	changed := DemoTemplates()[0]
	changed.TemplateID = "OPERATORS-OWN"
	if err := s.Put(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, changed.Event); got.TemplateID != "OPERATORS-OWN" {
		t.Fatalf("seed replaced the operator's template: %+v", got)
	}
	list, err := f.svc.Catalog(ctx)
	if err != nil || len(list) != len(DemoTemplates()) {
		t.Fatalf("catalog: %d, %v", len(list), err)
	}
}

// TestRenderFailureSpendsNothing: a message whose value fits no rule is a
// permanent failure found before a credit is taken or anything sent.
func TestRenderFailureSpendsNothing(t *testing.T) {
	ctx := context.Background()
	s := &fakeSender{}
	f := newFixture(t, s)
	userID, _ := f.person(t)
	if _, err := f.svc.Record(ctx, userID, map[string]string{tplBooked: "accept"}); err != nil {
		t.Fatal(err)
	}
	m := bookedMessage(userID, "ap-1")
	m.Data["start"] = "明天上午"
	if o := deliver(t, f, m); o != "permanent template_data" || s.calls != 0 || f.count(t, userID, tplBooked) != 1 {
		t.Fatalf("%s, %d sends, %d credits", o, s.calls, f.count(t, userID, tplBooked))
	}
}
