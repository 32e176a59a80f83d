package main

import (
	"context"
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/appointments"
	"banshi/evaluations"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// evalCount counts the evaluations of the applications of department d.
func (s *stack) evalCount(t *testing.T, d dept) int64 {
	t.Helper()
	return s.countWhere(t, "evaluations", bson.M{"source": d.ID})
}

// approve reports application no of the person idNumber through d's signed
// hook: submitted, then approved.
func (s *stack) approve(t *testing.T, d dept, no, idNumber string) {
	t.Helper()
	s.must(t, 200, s.hook(t, d, s.appEvent("e-"+no+"-1", no, "submitted", idNumber, nil), nil))
	s.app.Clock.Advance(time.Millisecond)
	s.must(t, 200, s.hook(t, d, s.appEvent("e-"+no+"-2", no, "approved", idNumber, nil), nil))
}

// TestEvaluationBadReviewHandled: an application approved through the signed
// hook is rated 非常不满意 by its applicant; the 差评's ticket goes through
// verify, rectify, reply and call-back over the staff API (out-of-order steps
// refused with 409, every step audited); the citizen sees the reply.
func TestEvaluationBadReviewHandled(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	desk := s.staffLogin(t, staff.DemoStaff)
	d := s.newDept(t, admin, "applications")
	p, token := levelThree(t, s)
	no := "SQ" + platformtest.RandomID()
	s.approve(t, d, no, p.IDNumber)

	ev := s.must(t, 201, s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{
		"subject": map[string]string{"application_no": no}, "level": "very_dissatisfied",
		"indicators": []string{"efficiency", "guide_accuracy"}, "text": "材料反复提交三次",
	}))
	id := ev.str("id")
	if ev.str("sequence") != "1" || ev.str("mode") != "online" || ev.str("channel") != "mobile" ||
		ev.str("ticket", "state") != "open" || ev.str("department") != d.ID || ev.str("level_name") != "非常不满意" {
		t.Fatalf("evaluation: %s", ev.Raw)
	}
	tp := apiV1 + "/staff/evaluation-tickets/" + id

	// The application's ticket is the admins' (no hall); hall staff neither
	// list nor handle it.
	var list struct {
		Tickets []evaluations.Ticket `json:"tickets"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/staff/evaluation-tickets?state=open", admin, nil)), &list)
	found := false
	for _, tk := range list.Tickets {
		found = found || tk.ID == id
	}
	if !found {
		t.Fatalf("admin's open tickets lack %s", id)
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/staff/evaluation-tickets", desk, nil)), &list)
	for _, tk := range list.Tickets {
		if tk.ID == id {
			t.Fatal("hall staff list an application's ticket")
		}
	}
	if x := s.call(t, "POST", tp+"/verify", desk, map[string]string{"note": "x"}); x.Status != 404 || x.errCode() != "ticket_not_found" {
		t.Fatalf("hall staff verify: %d %s", x.Status, x.Raw)
	}
	// Out of order: 409 and nothing changed.
	for _, step := range []struct {
		path string
		body any
	}{
		{"/rectify", map[string]string{"note": "改"}},
		{"/reply", map[string]string{"reply": "已整改"}},
		{"/callback", map[string]string{"outcome": "satisfied"}},
		{"/review", map[string]any{"upheld": true, "note": "x"}},
	} {
		if x := s.call(t, "POST", tp+step.path, admin, step.body); x.Status != 409 || x.errCode() != "ticket_state" {
			t.Fatalf("%s on an open ticket: %d %s", step.path, x.Status, x.Raw)
		}
	}
	if x := s.call(t, "POST", tp+"/verify", admin, map[string]string{"note": ""}); x.Status != 400 {
		t.Fatalf("verify without a note: %d %s", x.Status, x.Raw)
	}
	if got := s.must(t, 200, s.call(t, "GET", tp, admin, nil)).str("state"); got != "open" {
		t.Fatalf("refused steps moved the ticket to %s", got)
	}
	s.must(t, 200, s.call(t, "POST", tp+"/verify", admin, map[string]string{"note": "经核实，补正告知不完整"}))
	s.must(t, 200, s.call(t, "POST", tp+"/rectify", admin, map[string]string{"note": "已修订办事指南并一次性告知"}))
	reply := "您好，已修订办事指南，感谢您的监督"
	s.must(t, 200, s.call(t, "POST", tp+"/reply", admin, map[string]string{"reply": reply}))
	if x := s.call(t, "POST", tp+"/callback", admin, map[string]string{"outcome": "happy"}); x.Status != 400 || x.errField("field") != "outcome" {
		t.Fatalf("bad outcome: %d %s", x.Status, x.Raw)
	}
	done := s.must(t, 200, s.call(t, "POST", tp+"/callback", admin, map[string]string{"outcome": "satisfied", "note": "市民认可"}))
	if done.str("state") != "closed" || done.str("callback", "outcome") != "satisfied" || done.str("overdue") != "false" {
		t.Fatalf("closed ticket: %s", done.Raw)
	}

	// The citizen sees the reply.
	var mine struct {
		Evaluations []evaluations.Evaluation `json:"evaluations"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/evaluations", token, nil)), &mine)
	if len(mine.Evaluations) != 1 || mine.Evaluations[0].Ticket == nil || mine.Evaluations[0].Ticket.Reply != reply ||
		mine.Evaluations[0].Ticket.State != "closed" {
		t.Fatalf("citizen's evaluations: %+v", mine.Evaluations)
	}
	// …and is told in the inbox.
	msgs := s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages", token, nil))
	if !strings.Contains(string(msgs.Raw), "evaluation_reply") || !strings.Contains(string(msgs.Raw), reply) {
		t.Fatalf("inbox lacks the reply: %s", msgs.Raw)
	}
	// Every step is in the audit log.
	for _, action := range []string{"evaluations.tickets.verify", "evaluations.tickets.reply", "evaluations.tickets.callback"} {
		a := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/audit?action="+action, admin, nil))
		if !strings.Contains(string(a.Raw), id) {
			t.Fatalf("audit of %s lacks %s: %s", action, id, a.Raw)
		}
	}

	// Statistics and the export count it, in either coding.
	st := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/admin/evaluations/stats?by=department", admin, nil))
	if !strings.Contains(string(st.Raw), `"key":"`+d.ID+`"`) {
		t.Fatalf("stats lack %s: %s", d.ID, st.Raw)
	}
	for coding, want := range map[string]string{"gbt39046": "5", "reversed": "1"} {
		x := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/admin/evaluations/export?coding="+coding, admin, nil))
		rows, err := csv.NewReader(strings.NewReader(string(x.Raw))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		ok := false
		for _, r := range rows[1:] {
			if r[0] == id {
				ok = r[12] == want && r[1] == no
			}
		}
		if !ok {
			t.Fatalf("export in %s lacks %s coded %s", coding, id, want)
		}
	}
	for _, q := range []string{"stats?by=city", "stats?by=hall&from=2026-13-01", "export?coding=gbt"} {
		if x := s.call(t, "GET", apiV1+"/staff/admin/evaluations/"+q, admin, nil); x.Status != 400 {
			t.Fatalf("%s: %d %s", q, x.Status, x.Raw)
		}
	}
	if x := s.call(t, "GET", apiV1+"/staff/admin/evaluations/stats?by=hall", desk, nil); x.Status != 403 {
		t.Fatalf("hall staff read the statistics: %d", x.Status)
	}
}

// TestEvaluationBadInputs: someone else's or unfinished subjects, a second
// evaluation without a new result, wrong indicators, too long a text and
// malformed bodies are 4xx and store nothing.
func TestEvaluationBadInputs(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	p, token := levelThree(t, s)
	_, other := levelThree(t, s)
	no, open := "SQ"+platformtest.RandomID(), "SQ"+platformtest.RandomID()
	s.approve(t, d, no, p.IDNumber)
	s.must(t, 200, s.hook(t, d, s.appEvent("e-"+open, open, "under_review", p.IDNumber, nil), nil))
	app := map[string]string{"application_no": no}
	s.must(t, 201, s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{"subject": app, "level": "satisfied"}))
	if n := s.evalCount(t, d); n != 1 {
		t.Fatalf("%d evaluations", n)
	}
	for _, c := range []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"someone else's", other, map[string]any{"subject": app, "level": "satisfied"}, 404, "evaluation_subject_not_found"},
		{"another department's number", token, map[string]any{"subject": map[string]string{"application_no": no, "source": "t-none"}, "level": "satisfied"}, 404, "evaluation_subject_not_found"},
		{"unfinished", token, map[string]any{"subject": map[string]string{"application_no": open}, "level": "satisfied"}, 409, "evaluation_not_open"},
		{"second without a new result", token, map[string]any{"subject": app, "level": "very_satisfied"}, 409, "already_evaluated"},
		{"wrong indicators", token, map[string]any{"subject": map[string]string{"application_no": open}, "level": "dissatisfied", "indicators": []string{"attitude"}}, 400, "invalid_argument"},
		{"a 差评 without indicators", token, map[string]any{"subject": map[string]string{"application_no": open}, "level": "dissatisfied"}, 400, "invalid_argument"},
		{"text too long", token, map[string]any{"subject": map[string]string{"application_no": open}, "level": "satisfied", "text": strings.Repeat("长", 501)}, 400, "invalid_argument"},
		{"unknown level", token, map[string]any{"subject": app, "level": "5"}, 400, "invalid_argument"},
		{"both subjects", token, map[string]any{"subject": map[string]string{"application_no": no, "appointment_id": "x"}, "level": "basic"}, 400, "invalid_argument"},
		{"unknown field", token, map[string]any{"subject": app, "level": "basic", "score": 5}, 400, "invalid_argument"},
		{"not JSON", token, "level=basic", 400, "invalid_argument"},
		{"no session", "", map[string]any{"subject": app, "level": "basic"}, 401, "unauthenticated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := s.call(t, "POST", apiV1+"/evaluations", c.token, c.body)
			if x.Status != c.status || x.errCode() != c.code {
				t.Fatalf("%d %s, want %d %s", x.Status, x.Raw, c.status, c.code)
			}
			if n := s.evalCount(t, d); n != 1 {
				t.Fatalf("%d evaluations stored", n)
			}
		})
	}
	if n := s.countWhere(t, "eval_tickets", bson.M{"source": d.ID}); n != 0 {
		t.Fatalf("%d tickets", n)
	}
	// A booked appointment (not completed) cannot be rated either.
	_, sl := s.openSlot(t, appointments.DemoHallTianhe, thRSJ, 0, 1, true)
	appt := s.must(t, 201, s.book(t, token, sl.ID, thRSJ)).str("id")
	x := s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{"subject": map[string]string{"appointment_id": appt}, "level": "satisfied"})
	if x.Status != 409 || x.errCode() != "evaluation_not_open" {
		t.Fatalf("booked appointment: %d %s", x.Status, x.Raw)
	}
	if x := s.call(t, "POST", apiV1+"/evaluations", other, map[string]any{"subject": map[string]string{"appointment_id": appt}, "level": "satisfied"}); x.Status != 404 {
		t.Fatalf("someone else's appointment: %d %s", x.Status, x.Raw)
	}
	s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+appt+"/cancel", token, nil))
	if n := s.countWhere(t, "evaluations", bson.M{"subject_ref": appt}); n != 0 {
		t.Fatalf("%d evaluations of the appointment", n)
	}
}

// TestEvaluationConcurrent: 12 evaluations of one result at once store one;
// the others answer 409 already_evaluated.
func TestEvaluationConcurrent(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	p, token := levelThree(t, s)
	no := "SQ" + platformtest.RandomID()
	s.approve(t, d, no, p.IDNumber)
	const n = 12
	status := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.try("POST", apiV1+"/evaluations", token, map[string]any{
				"subject": map[string]string{"application_no": no}, "level": "dissatisfied", "indicators": []string{"overall"}})
			if err != nil {
				t.Error(err)
				return
			}
			status[i] = a.Status
		}()
	}
	wg.Wait()
	created := 0
	for _, st := range status {
		switch st {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("statuses %v", status)
		}
	}
	if created != 1 || s.evalCount(t, d) != 1 || s.countWhere(t, "eval_tickets", bson.M{"source": d.ID}) != 1 {
		t.Fatalf("statuses %v, %d stored", status, s.evalCount(t, d))
	}
}

// TestEvaluationDefault: a result left unrated for 7 days is rated 基本满意
// by default by the sweep; the citizen sees it and can no longer rate that
// result. The sweep runs with a clock 8 days ahead (moving the shared
// stack's clock would end every other test's sessions).
func TestEvaluationDefault(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	p, token := levelThree(t, s)
	no := "SQ" + platformtest.RandomID()
	s.approve(t, d, no, p.IDNumber)

	sweep := func(ahead time.Duration) evaluations.SweepReport {
		t.Helper()
		ev, err := evaluations.NewService(evaluations.Deps{DB: s.app.Mongo.DB, Clock: platform.NewManualClock(s.app.Clock.Now().Add(ahead)),
			Subjects: evalSubjects{apps: s.app.Apps, booking: s.app.Booking}, Identities: provenOwners{s.app.Accounts},
			Calendar: s.app.Booking}, evaluations.Config{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ev.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	sweep(6 * 24 * time.Hour)
	if n := s.evalCount(t, d); n != 0 {
		t.Fatalf("a default after 6 days: %d", n)
	}
	sweep(8 * 24 * time.Hour)
	if n := s.evalCount(t, d); n != 1 {
		t.Fatalf("%d evaluations after 8 days", n)
	}
	var mine struct {
		Evaluations []evaluations.Evaluation `json:"evaluations"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/evaluations", token, nil)), &mine)
	if len(mine.Evaluations) != 1 || !mine.Evaluations[0].Default || mine.Evaluations[0].Level != "basic" ||
		mine.Evaluations[0].Channel != "system_default" || mine.Evaluations[0].Subject.ApplicationNo != no {
		t.Fatalf("citizen's evaluations: %+v", mine.Evaluations)
	}
	x := s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{"subject": map[string]string{"application_no": no}, "level": "satisfied"})
	if x.Status != 409 || x.errCode() != "already_evaluated" {
		t.Fatalf("rating a defaulted result: %d %s", x.Status, x.Raw)
	}
	sweep(9 * 24 * time.Hour)
	if n := s.evalCount(t, d); n != 1 {
		t.Fatalf("swept twice: %d", n)
	}
}

// TestEvaluationVisitAppealUpheld: a completed visit rated 非常不满意 opens a
// ticket of its hall, which that hall's staff handle; the hall appeals it as
// malicious, only an admin reviews, and the upheld appeal makes the
// evaluation ineffective (left out of the counts).
func TestEvaluationVisitAppealUpheld(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	desk := s.staffLogin(t, staff.DemoStaff) // hall_staff of hall-tianhe
	_, token := levelThree(t, s)
	appt := s.completedVisit(t, token)
	sub := map[string]string{"appointment_id": appt}
	// An online indicator is not in the on-site set.
	if x := s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{"subject": sub, "level": "very_dissatisfied",
		"indicators": []string{"ease_of_use"}}); x.Status != 400 || x.errField("check") != "not_in_level_set" {
		t.Fatalf("online indicator on site: %d %s", x.Status, x.Raw)
	}
	ev := s.must(t, 201, s.call(t, "POST", apiV1+"/evaluations", token, map[string]any{"subject": sub,
		"level": "very_dissatisfied", "indicators": []string{"attitude"}, "text": "窗口人员不耐烦"}))
	if ev.str("mode") != "onsite" || ev.str("hall_id") != appointments.DemoHallTianhe || ev.str("ticket", "state") != "open" {
		t.Fatalf("visit evaluation: %s", ev.Raw)
	}
	tp := apiV1 + "/staff/evaluation-tickets/" + ev.str("id")
	tk := s.must(t, 200, s.call(t, "GET", tp, desk, nil))
	if tk.str("staff_id") != staff.DemoStaff || tk.str("hall_id") != appointments.DemoHallTianhe {
		t.Fatalf("ticket: %s", tk.Raw)
	}
	if x := s.call(t, "POST", tp+"/appeal", desk, map[string]string{"kind": "angry", "reason": "x"}); x.Status != 400 || x.errField("field") != "kind" {
		t.Fatalf("bad appeal kind: %d %s", x.Status, x.Raw)
	}
	s.must(t, 200, s.call(t, "POST", tp+"/appeal", desk, map[string]string{"kind": "malicious", "reason": "监控显示该市民未到窗口"}))
	if x := s.call(t, "POST", tp+"/review", desk, map[string]any{"upheld": true, "note": "自行复核"}); x.Status != 403 {
		t.Fatalf("hall staff review: %d %s", x.Status, x.Raw)
	}
	if x := s.call(t, "POST", tp+"/review", admin, map[string]any{"note": "缺少结论"}); x.Status != 400 || x.errField("field") != "upheld" {
		t.Fatalf("review without a decision: %d %s", x.Status, x.Raw)
	}
	r := s.must(t, 200, s.call(t, "POST", tp+"/review", admin, map[string]any{"upheld": true, "note": "经核查，申诉成立"}))
	if r.str("state") != "annulled" || r.str("appeal", "review", "upheld") != "true" {
		t.Fatalf("review: %s", r.Raw)
	}
	var mine struct {
		Evaluations []evaluations.Evaluation `json:"evaluations"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/evaluations", token, nil)), &mine)
	if len(mine.Evaluations) != 1 || mine.Evaluations[0].Effective || mine.Evaluations[0].Ticket.State != "annulled" {
		t.Fatalf("citizen's evaluations: %+v", mine.Evaluations)
	}
	if x := s.call(t, "POST", tp+"/verify", desk, map[string]string{"note": "x"}); x.Status != 409 {
		t.Fatalf("verify an annulled ticket: %d %s", x.Status, x.Raw)
	}
}

// completedVisit books a visit to hall-tianhe for the citizen of token and
// marks it served by demo-staff. Check-in is for the visit's day, which the
// shared clock does not reach: the visit is marked served as Complete marks
// it.
func (s *stack) completedVisit(t *testing.T, token string) string {
	t.Helper()
	_, sl := s.openSlot(t, appointments.DemoHallTianhe, thRSJ, 0, 1, true)
	appt := s.must(t, 201, s.book(t, token, sl.ID, thRSJ)).str("id")
	done := s.app.Clock.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.app.Mongo.DB.Collection("appointments").UpdateOne(context.Background(), bson.M{"_id": appt},
		bson.M{"$set": bson.M{"status": "completed", "completed_at": done, "completed_by": staff.DemoStaff}}); err != nil {
		t.Fatal(err)
	}
	return appt
}
