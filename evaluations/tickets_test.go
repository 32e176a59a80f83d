package evaluations

import (
	"bytes"
	"encoding/csv"
	"errors"
	"testing"
	"time"
)

func (f *fixture) badReview() Evaluation {
	f.t.Helper()
	v, err := f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{AppointmentID: "appt-done"},
		Level: LevelVeryDissatisfied, Indicators: []string{IndicatorAttitude}, Text: "窗口人员态度差"})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func TestTicketLifecycle(t *testing.T) {
	f := newFixture(t)
	v := f.badReview()
	if v.Ticket == nil || v.Ticket.State != StateOpen {
		t.Fatalf("ticket %+v", v.Ticket)
	}
	tk, err := f.svc.GetTicket(f.ctx, hallStaff, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Monday 16 March + 5 working days, Wednesday 18 a holiday: Tuesday 24
	// ends the deadline.
	if want := time.Date(2026, 3, 24, 16, 0, 0, 0, time.UTC); !tk.Deadline.Equal(want) || tk.Overdue {
		t.Fatalf("deadline %v (overdue %v), want %v", tk.Deadline, tk.Overdue, want)
	}
	// Another hall's staff do not see it.
	if _, err := f.svc.GetTicket(f.ctx, otherHall, v.ID); !isErr(err, ErrTicketNotFound) {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(f.ctx, otherHall, v.ID, "x"); !isErr(err, ErrTicketNotFound) {
		t.Fatal(err)
	}
	// Out of order: 409, nothing changed.
	for name, step := range map[string]func() (Ticket, error){
		"rectify":  func() (Ticket, error) { return f.svc.Rectify(f.ctx, hallStaff, v.ID, "改了") },
		"reply":    func() (Ticket, error) { return f.svc.Reply(f.ctx, hallStaff, v.ID, "已整改") },
		"callback": func() (Ticket, error) { return f.svc.Callback(f.ctx, hallStaff, v.ID, CallbackSatisfied, "") },
		"review":   func() (Ticket, error) { return f.svc.ReviewAppeal(f.ctx, admin, v.ID, true, "成立") },
	} {
		if _, err := step(); !isErr(err, ErrTicketState) {
			t.Fatalf("%s on an open ticket: %v", name, err)
		}
	}
	if _, err := f.svc.Verify(f.ctx, hallStaff, v.ID, ""); err == nil {
		t.Fatal("verify without a note")
	}
	if tk, _ := f.svc.GetTicket(f.ctx, admin, v.ID); tk.State != StateOpen || tk.Verify != nil {
		t.Fatalf("refused steps changed the ticket: %+v", tk)
	}
	// Overdue after the deadline.
	f.clock.Set(time.Date(2026, 3, 24, 16, 0, 1, 0, time.UTC))
	list, err := f.svc.ListTickets(f.ctx, hallStaff, TicketQuery{Overdue: true})
	if err != nil || len(list) != 1 || !list[0].Overdue {
		t.Fatalf("overdue list %+v %v", list, err)
	}
	if list, _ := f.svc.ListTickets(f.ctx, otherHall, TicketQuery{}); len(list) != 0 {
		t.Fatal("another hall lists the ticket")
	}
	if _, err := f.svc.ListTickets(f.ctx, admin, TicketQuery{State: "nope"}); err == nil {
		t.Fatal("bad state accepted")
	}
	steps := []func() (Ticket, error){
		func() (Ticket, error) { return f.svc.Verify(f.ctx, hallStaff, v.ID, "查看录像属实") },
		func() (Ticket, error) { return f.svc.Rectify(f.ctx, hallStaff, v.ID, "已对窗口人员批评教育") },
		func() (Ticket, error) {
			return f.svc.Reply(f.ctx, hallStaff, v.ID, "您好，已整改，感谢监督")
		},
	}
	for i, st := range steps {
		if _, err := st(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if _, err := f.svc.FileAppeal(f.ctx, hallStaff, v.ID, AppealMistaken, "误评"); !isErr(err, ErrTicketState) {
		t.Fatalf("appeal after the reply: %v", err)
	}
	sent := f.notes.sent()
	if m, ok := sent[replyMessageID(v.ID)]; len(sent) != 1 || !ok || m.UserID != userZhang || m.Kind != KindReply || m.Body != "您好，已整改，感谢监督" {
		t.Fatalf("reply messages %+v", sent)
	}
	mine, err := f.svc.ForUser(f.ctx, userZhang)
	if err != nil || len(mine) != 1 || mine[0].Ticket == nil || mine[0].Ticket.Reply != "您好，已整改，感谢监督" || mine[0].Ticket.RepliedAt == nil {
		t.Fatalf("citizen's view %+v %v", mine, err)
	}
	if _, err := f.svc.Callback(f.ctx, hallStaff, v.ID, "happy", ""); err == nil {
		t.Fatal("bad outcome accepted")
	}
	tk, err = f.svc.Callback(f.ctx, hallStaff, v.ID, CallbackSatisfied, "市民表示满意")
	if err != nil || tk.State != StateClosed || tk.Overdue || tk.Callback.Outcome != CallbackSatisfied {
		t.Fatalf("%+v %v", tk, err)
	}
	if _, err := f.svc.Callback(f.ctx, hallStaff, v.ID, CallbackSatisfied, ""); !isErr(err, ErrTicketState) {
		t.Fatal("called back twice")
	}
}

func TestAppeal(t *testing.T) {
	f := newFixture(t)
	v := f.badReview()
	if _, err := f.svc.FileAppeal(f.ctx, hallStaff, v.ID, "angry", "x"); err == nil {
		t.Fatal("bad kind accepted")
	}
	if _, err := f.svc.Verify(f.ctx, hallStaff, v.ID, "核实"); err != nil {
		t.Fatal(err)
	}
	tk, err := f.svc.FileAppeal(f.ctx, hallStaff, v.ID, AppealMalicious, "该市民未到窗口办理")
	if err != nil || tk.State != StateAppealed || tk.Appeal.From != StateVerified {
		t.Fatalf("%+v %v", tk, err)
	}
	if _, err := f.svc.ReviewAppeal(f.ctx, hallStaff, v.ID, true, "x"); !isErr(err, ErrForbidden) {
		t.Fatal("hall staff reviewed an appeal")
	}
	// Refused: back to verified; no second appeal.
	tk, err = f.svc.ReviewAppeal(f.ctx, admin, v.ID, false, "证据不足")
	if err != nil || tk.State != StateVerified || !f.evalDoc(v.ID).Effective {
		t.Fatalf("%+v %v", tk, err)
	}
	if _, err := f.svc.FileAppeal(f.ctx, hallStaff, v.ID, AppealMistaken, "再申诉"); !isErr(err, ErrTicketState) {
		t.Fatalf("second appeal: %v", err)
	}

	// Upheld on another ticket: the evaluation becomes ineffective.
	f.subs.putApp(f.app("A1", idxZhang, "", true, "ev-1"))
	w, err := f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelDissatisfied, Indicators: []string{IndicatorEfficiency}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FileAppeal(f.ctx, admin, w.ID, AppealMistaken, "市民选错等级"); err != nil {
		t.Fatal(err)
	}
	tk, err = f.svc.ReviewAppeal(f.ctx, admin, w.ID, true, "经回访确认误评")
	if err != nil || tk.State != StateAnnulled || f.evalDoc(w.ID).Effective {
		t.Fatalf("%+v %v", tk, err)
	}
	st, err := f.svc.Statistics(f.ctx, StatsQuery{By: ByDepartment, From: start.Add(-time.Hour), To: start.Add(time.Hour)})
	if err != nil || st.Total.Ineffective != 1 || st.Total.Total != 1 || st.Total.Tickets != 1 {
		t.Fatalf("%+v %v", st.Total, err)
	}
}

func TestStatisticsAndExport(t *testing.T) {
	f := newFixture(t)
	f.badReview()
	if _, err := f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelVerySatisfied}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Evaluate(f.ctx, userWang, Request{Subject: RequestSubject{ApplicationNo: "E1"}, Level: LevelSatisfied}); err != nil {
		t.Fatal(err)
	}
	q := StatsQuery{By: ByHall, From: start.Add(-time.Hour), To: start.Add(time.Hour)}
	st, err := f.svc.Statistics(f.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Groups) != 2 || st.Groups[0].Key != "" || st.Groups[1].Key != "hall-tianhe" {
		t.Fatalf("groups %+v", st.Groups)
	}
	hall := st.Groups[1]
	if hall.Total != 1 || hall.Counts[LevelVeryDissatisfied] != 1 || hall.BadRate != 1 || hall.Tickets != 1 || hall.RectificationRate != 0 {
		t.Fatalf("hall %+v", hall)
	}
	if st.Total.Total != 3 || st.Total.BadRate != 0.3333 {
		t.Fatalf("total %+v", st.Total)
	}
	for _, bad := range []StatsQuery{{By: "city", From: q.From, To: q.To}, {By: ByHall}, {By: ByHall, From: q.To, To: q.From},
		{By: ByHall, From: q.From, To: q.From.Add(400 * 24 * time.Hour)}} {
		if _, err := f.svc.Statistics(f.ctx, bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	for coding, want := range map[string]map[string]string{
		CodingGBT39046: {"appt-done": "5", "A1": "1"},
		CodingReversed: {"appt-done": "1", "A1": "5"},
	} {
		var buf bytes.Buffer
		if err := f.svc.WriteCSV(f.ctx, &buf, q, coding); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Fatalf("%d rows %v", len(rows), err)
		}
		for _, r := range rows[1:] {
			ref := r[1] + r[2]
			if w, ok := want[ref]; ok && r[12] != w {
				t.Fatalf("%s: %s level code %s, want %s", coding, ref, r[12], w)
			}
			if r[9] != "2" || r[17] != DefaultRegion {
				t.Fatalf("row %v", r)
			}
		}
	}
	if err := f.svc.WriteCSV(f.ctx, &bytes.Buffer{}, q, "gbt"); err == nil {
		t.Fatal("bad coding accepted")
	}
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 3, 16, 17, 0, 0, 0, time.UTC) // 17 March 01:00 in Guangzhou
	for _, c := range []struct {
		from, to string
		begin    string
		end      string
		bad      bool
	}{
		{"", "", "2026-02-15T16:00:00Z", "2026-03-17T16:00:00Z", false},
		{"2026-03-01", "2026-03-01", "2026-02-28T16:00:00Z", "2026-03-01T16:00:00Z", false},
		{"2026-03-02", "2026-03-01", "", "", true},
		{"2026/03/01", "", "", "", true},
		{"", "tomorrow", "", "", true},
	} {
		b, e, err := Period(c.from, c.to, now)
		if c.bad {
			if err == nil {
				t.Fatalf("%q..%q accepted", c.from, c.to)
			}
			continue
		}
		if err != nil || b.Format(time.RFC3339) != c.begin || e.Format(time.RFC3339) != c.end {
			t.Fatalf("%q..%q: %v %v %v", c.from, c.to, b, e, err)
		}
	}
}

// TestReplyMessageLost: a reply whose message cannot be published is still
// stored; the sweep publishes the message once the outbox is back.
func TestReplyMessageLost(t *testing.T) {
	f := newFixture(t)
	v := f.badReview()
	for _, st := range []func() (Ticket, error){
		func() (Ticket, error) { return f.svc.Verify(f.ctx, admin, v.ID, "核实") },
		func() (Ticket, error) { return f.svc.Rectify(f.ctx, admin, v.ID, "整改") },
	} {
		if _, err := st(); err != nil {
			t.Fatal(err)
		}
	}
	f.notes.setFail(errors.New("outbox down"))
	if tk, err := f.svc.Reply(f.ctx, admin, v.ID, "已整改"); err != nil || tk.State != StateReplied {
		t.Fatalf("%+v %v", tk, err)
	}
	if rep, err := f.svc.Sweep(f.ctx); err != nil || rep.Replies != 0 {
		t.Fatalf("sweep within the minute: %+v %v", rep, err)
	}
	f.notes.setFail(nil)
	f.clock.Advance(2 * time.Minute)
	if rep, err := f.svc.Sweep(f.ctx); err != nil || rep.Replies != 1 || len(f.notes.sent()) != 1 {
		t.Fatalf("sweep: %+v %v %v", rep, err, f.notes.sent())
	}
	if rep, _ := f.svc.Sweep(f.ctx); rep.Replies != 0 {
		t.Fatal("reply told twice")
	}
}
