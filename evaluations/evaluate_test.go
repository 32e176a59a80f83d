package evaluations

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	app := RequestSubject{ApplicationNo: "A1"}
	appt := RequestSubject{AppointmentID: "appt-done"}
	for _, c := range []struct {
		name  string
		r     Request
		field string
		check string
	}{
		{"no subject", Request{Level: LevelSatisfied}, "subject", "one_of"},
		{"two subjects", Request{Subject: RequestSubject{ApplicationNo: "A1", AppointmentID: "x"}, Level: LevelSatisfied}, "subject", "one_of"},
		{"bad application no", Request{Subject: RequestSubject{ApplicationNo: "A 1"}, Level: LevelSatisfied}, "subject.application_no", "format"},
		{"bad source", Request{Subject: RequestSubject{ApplicationNo: "A1", Source: "Dept A"}, Level: LevelSatisfied}, "subject.source", "format"},
		{"source with appointment", Request{Subject: RequestSubject{AppointmentID: "x", Source: "dept-a"}, Level: LevelSatisfied}, "subject.source", "not_allowed"},
		{"bad appointment id", Request{Subject: RequestSubject{AppointmentID: "x/y"}, Level: LevelSatisfied}, "subject.appointment_id", "format"},
		{"unknown level", Request{Subject: app, Level: "good"}, "level", "enum"},
		{"numeric level", Request{Subject: app, Level: "1"}, "level", "enum"},
		{"on-site indicator online", Request{Subject: app, Level: LevelSatisfied, Indicators: []string{IndicatorAttitude}}, "indicators[0]", "not_in_level_set"},
		{"online indicator on site", Request{Subject: appt, Level: LevelSatisfied, Indicators: []string{IndicatorOverall, IndicatorEaseOfUse}}, "indicators[1]", "not_in_level_set"},
		{"unknown indicator", Request{Subject: app, Level: LevelDissatisfied, Indicators: []string{"speed"}}, "indicators[0]", "not_in_level_set"},
		{"duplicate indicator", Request{Subject: app, Level: LevelSatisfied, Indicators: []string{IndicatorOverall, IndicatorOverall}}, "indicators[1]", "duplicate"},
		{"too many indicators", Request{Subject: appt, Level: LevelSatisfied, Indicators: []string{"overall", "efficiency", "competence", "attitude", "overall"}}, "indicators", "length"},
		{"bad review without indicator", Request{Subject: app, Level: LevelVeryDissatisfied}, "indicators", "required"},
		{"text too long", Request{Subject: app, Level: LevelSatisfied, Text: strings.Repeat("好", MaxText+1)}, "text", "length"},
		{"control character", Request{Subject: app, Level: LevelSatisfied, Text: "a\x07b"}, "text", "format"},
		{"invalid utf-8", Request{Subject: app, Level: LevelSatisfied, Text: "\xff"}, "text", "format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := c.r.Validate()
			wantCode(t, err, "invalid_argument")
			if !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), c.check) {
				t.Fatalf("error %v: want field %s check %s", err, c.field, c.check)
			}
		})
	}
	for _, ok := range []Request{
		{Subject: app, Level: LevelVerySatisfied},
		{Subject: app, Level: LevelBasic, Indicators: []string{IndicatorGuideAccuracy}, Text: "第一行\n第二行"},
		{Subject: appt, Level: LevelVeryDissatisfied, Indicators: []string{IndicatorAttitude, IndicatorCompetence}, Text: strings.Repeat("差", MaxText)},
	} {
		if _, _, err := ok.Validate(); err != nil {
			t.Fatalf("%+v: %v", ok, err)
		}
	}
}

func TestLevelCodes(t *testing.T) {
	for _, c := range []struct{ level, gbt, rev string }{
		{LevelVerySatisfied, "1", "5"}, {LevelSatisfied, "2", "4"}, {LevelBasic, "3", "3"},
		{LevelDissatisfied, "4", "2"}, {LevelVeryDissatisfied, "5", "1"}, {"nope", "", ""},
	} {
		if g, r := LevelCode(c.level, CodingGBT39046), LevelCode(c.level, CodingReversed); g != c.gbt || r != c.rev {
			t.Errorf("%s: %s/%s, want %s/%s", c.level, g, r, c.gbt, c.rev)
		}
	}
	if LevelCode(LevelBasic, "other") != "" || ChannelCode(ChannelMobile) != "2" || ChannelCode(ChannelSystemDefault) != "8" {
		t.Fatal("codings")
	}
	if IndicatorLabel(LevelVeryDissatisfied, ModeOnsite, IndicatorAttitude) != "服务态度差" ||
		IndicatorLabel(LevelSatisfied, ModeOnsite, IndicatorAttitude) != "服务热情" ||
		IndicatorLabel(LevelSatisfied, ModeOnline, IndicatorAttitude) != "" {
		t.Fatal("labels")
	}
}

func TestEvaluateOwnSubjects(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		user string
		sub  RequestSubject
		mode string
		who  evaluatorDoc
	}{
		{userZhang, RequestSubject{ApplicationNo: "A1"}, ModeOnline, evaluatorDoc{Type: EvaluatorPerson, UserID: userZhang, IDIndex: idxZhang}},
		{userWang, RequestSubject{ApplicationNo: "E1", Source: "dept-a"}, ModeOnline, evaluatorDoc{Type: EvaluatorEnterprise, UserID: userWang, USCC: usccDemo}},
		{userZhang, RequestSubject{AppointmentID: "appt-done"}, ModeOnsite, evaluatorDoc{Type: EvaluatorPerson, UserID: userZhang}},
	} {
		v, err := f.svc.Evaluate(f.ctx, c.user, Request{Subject: c.sub, Level: LevelSatisfied, Indicators: []string{IndicatorEfficiency}, Text: "很快"})
		if err != nil {
			t.Fatalf("%+v: %v", c.sub, err)
		}
		d := f.evalDoc(v.ID)
		if v.Sequence != 1 || d.Mode != c.mode || d.Evaluator != c.who || d.Channel != ChannelMobile || d.Default ||
			!d.Effective || d.Region != DefaultRegion || d.ServiceCode == "" || d.Department == "" || d.TicketPending {
			t.Fatalf("%+v: stored %+v", c.sub, d)
		}
		if c.sub.AppointmentID != "" && (d.StaffID != "staff01" || d.HallID != "hall-tianhe") {
			t.Fatalf("visit's staff and hall not recorded: %+v", d)
		}
		if v.CreatedAt.Location().String() != "Asia/Shanghai" {
			t.Fatalf("time %v not local", v.CreatedAt)
		}
	}
	if f.count(collTickets) != 0 {
		t.Fatal("a good review opened a ticket")
	}
}

// TestEvaluateBadInputs: every refusal is a 4xx code and stores nothing.
func TestEvaluateBadInputs(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{AppointmentID: "appt-done"}, Level: LevelBasic}); err != nil {
		t.Fatal(err)
	}
	good := func(sub RequestSubject) Request {
		return Request{Subject: sub, Level: LevelVeryDissatisfied, Indicators: []string{IndicatorOverall}}
	}
	for _, c := range []struct {
		name string
		user string
		r    Request
		code string
	}{
		{"someone else's application", userLi, good(RequestSubject{ApplicationNo: "A1"}), "evaluation_subject_not_found"},
		{"someone else's appointment", userLi, good(RequestSubject{AppointmentID: "appt-done"}), "evaluation_subject_not_found"},
		{"an enterprise one does not act for", userZhang, good(RequestSubject{ApplicationNo: "E1"}), "evaluation_subject_not_found"},
		{"unknown application", userZhang, good(RequestSubject{ApplicationNo: "NOPE"}), "evaluation_subject_not_found"},
		{"application of another department", userZhang, good(RequestSubject{ApplicationNo: "A1", Source: "dept-b"}), "evaluation_subject_not_found"},
		{"unknown appointment", userZhang, good(RequestSubject{AppointmentID: "nope"}), "evaluation_subject_not_found"},
		{"unproven citizen", "u-nobody", good(RequestSubject{ApplicationNo: "A1"}), "evaluation_subject_not_found"},
		{"unfinished application", userLi, good(RequestSubject{ApplicationNo: "L1"}), "evaluation_not_open"},
		{"appointment not completed", userZhang, good(RequestSubject{AppointmentID: "appt-booked"}), "evaluation_not_open"},
		{"second without a new result", userZhang, good(RequestSubject{AppointmentID: "appt-done"}), "already_evaluated"},
		{"wrong indicators", userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelDissatisfied, Indicators: []string{IndicatorAttitude}}, "invalid_argument"},
		{"text too long", userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelSatisfied, Text: strings.Repeat("x", MaxText+1)}, "invalid_argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.Evaluate(f.ctx, c.user, c.r)
			wantCode(t, err, c.code)
			if n, m := f.count(collEvaluations), f.count(collTickets); n != 1 || m != 0 {
				t.Fatalf("stored %d evaluations, %d tickets", n, m)
			}
		})
	}
}

// TestSecondEvaluation: a second evaluation only after a new final result
// that came after the first, never a third.
func TestSecondEvaluation(t *testing.T) {
	f := newFixture(t)
	r := Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelSatisfied}
	if v, err := f.svc.Evaluate(f.ctx, userZhang, r); err != nil || v.Sequence != 1 {
		t.Fatal(v, err)
	}
	_, err := f.svc.Evaluate(f.ctx, userZhang, r)
	wantCode(t, err, "already_evaluated")

	// A new result that occurred before evaluation 1 was made does not open a second.
	old := f.app("A1", idxZhang, "", true, "ev-2")
	old.ResultAt = start.Add(-time.Hour)
	f.subs.putApp(old)
	_, err = f.svc.Evaluate(f.ctx, userZhang, r)
	wantCode(t, err, "already_evaluated")

	f.clock.Advance(48 * time.Hour)
	f.subs.putApp(f.app("A1", idxZhang, "", true, "ev-3"))
	f.clock.Advance(time.Minute)
	v, err := f.svc.Evaluate(f.ctx, userZhang, r)
	if err != nil || v.Sequence != 2 {
		t.Fatal(v, err)
	}
	f.clock.Advance(48 * time.Hour)
	f.subs.putApp(f.app("A1", idxZhang, "", true, "ev-4"))
	f.clock.Advance(time.Minute)
	_, err = f.svc.Evaluate(f.ctx, userZhang, r)
	wantCode(t, err, "already_evaluated")
	if n := f.count(collEvaluations); n != 2 {
		t.Fatalf("%d evaluations, want 2", n)
	}
}

// TestConcurrentEvaluations: of 20 goroutines rating one result at once,
// exactly one is stored; the others are told it is rated.
func TestConcurrentEvaluations(t *testing.T) {
	f := newFixture(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			level := LevelVerySatisfied
			ind := []string{}
			if i%2 == 0 {
				level, ind = LevelDissatisfied, []string{IndicatorAttitude}
			}
			_, errs[i] = f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{AppointmentID: "appt-done"}, Level: level, Indicators: ind})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !isErr(err, ErrAlreadyEvaluated):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || f.count(collEvaluations) != 1 {
		t.Fatalf("%d succeeded, %d stored", ok, f.count(collEvaluations))
	}
	d := f.evalDoc(evalID(KindAppointment, "appt-done", 1))
	wantTickets := int64(0)
	if Bad(d.Level) {
		wantTickets = 1
	}
	if f.count(collTickets) != wantTickets {
		t.Fatalf("%d tickets for a %s", f.count(collTickets), d.Level)
	}
}
