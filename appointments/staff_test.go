package appointments

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"

	"go.mongodb.org/mongo-driver/v2/bson"
)

var (
	admin     = StaffActor{ID: "demo-admin", Role: RoleAdmin}
	h1Staff   = StaffActor{ID: "staff-h1", Role: RoleHallStaff, HallIDs: []string{"h1"}}
	h2Staff   = StaffActor{ID: "staff-h2", Role: RoleHallStaff, HallIDs: []string{"h2"}}
	financier = StaffActor{ID: "fin", Role: RoleFinance}
)

func TestCheckInCodesAndQueueNumbers(t *testing.T) {
	f := newFixture(t)
	a1 := f.mustBook(citizen(1), "sc1.20260310.0900", "s1")
	a2 := f.mustBook(citizen(2), "sc1.20260310.1000", "s2")
	b1 := f.mustBook(citizen(3), "sc2.20260310.0900", "s3")
	w1 := f.mustBook(citizen(4), "sc1.20260311.0900", "s1")
	tampered := strings.Replace(a1.CheckinQR, "20260310", "20260311", 1)
	otherSig := a1.CheckinQR[:strings.LastIndex(a1.CheckinQR, ".")+1] + "AAAAAAAAAAAAAAAAAAAAAAAA"

	f.clock.Set(time.Date(2026, 3, 10, 8, 45, 0, 0, t0.Location())) // Tuesday morning
	bad := []struct {
		name  string
		actor StaffActor
		code  string
		want  error
	}{
		{"finance", financier, a1.CheckinCode, ErrForbidden},
		{"other hall's staff", h2Staff, a1.CheckinCode, ErrWrongHall},
		{"other hall's staff with QR", h2Staff, a1.CheckinQR, ErrWrongHall},
		{"malformed", h1Staff, "abc", ErrInvalid},
		{"unknown code", h1Staff, "ZZZZZZZZ", ErrNotFound},
		{"QR for another day", h1Staff, tampered, ErrInvalid},
		{"forged QR", h1Staff, otherSig, ErrInvalid},
		{"tomorrow's appointment", h1Staff, w1.CheckinCode, ErrCheckinNotToday},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			before := f.state()
			if _, err := f.svc.CheckIn(f.ctx, b.actor, b.code); !errors.Is(err, b.want) {
				t.Fatalf("got %v, want %v", err, b.want)
			}
			f.sameState(before)
		})
	}
	got, err := f.svc.CheckIn(f.ctx, h1Staff, strings.ToLower(a1.CheckinCode[:4])+"-"+a1.CheckinCode[4:])
	if err != nil || got.QueueNumber != "A001" || got.Status != StatusCheckedIn || got.Name != "市民u0001" || got.IDNumberMasked == "" {
		t.Fatalf("check-in 1: %+v %v", got, err)
	}
	if _, err := f.svc.CheckIn(f.ctx, h1Staff, a1.CheckinQR); !errors.Is(err, ErrAlreadyCheckedIn) {
		t.Fatalf("again: %v", err)
	}
	got, err = f.svc.CheckIn(f.ctx, admin, a2.CheckinQR)
	if err != nil || got.QueueNumber != "A002" {
		t.Fatalf("check-in 2: %+v %v", got, err)
	}
	got, err = f.svc.CheckIn(f.ctx, h1Staff, b1.CheckinCode)
	if err != nil || got.QueueNumber != "B001" {
		t.Fatalf("department B: %+v %v", got, err)
	}
	// checking in frees the person's booking limit and day lock
	if n := f.count("appt_userslots", bson.M{"user_id": "u0001"}); n != 0 {
		t.Fatalf("user slot kept after check-in: %d", n)
	}
	// completion
	if _, err := f.svc.Complete(f.ctx, h2Staff, a1.ID); !errors.Is(err, ErrWrongHall) {
		t.Fatalf("complete by other hall: %v", err)
	}
	done, err := f.svc.Complete(f.ctx, h1Staff, a1.ID)
	if err != nil || done.Status != StatusCompleted || done.CompletedAt == nil {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if again, err := f.svc.Complete(f.ctx, h1Staff, a1.ID); err != nil || again.Status != StatusCompleted {
		t.Fatalf("complete twice: %+v %v", again, err)
	}
	if _, err := f.svc.CheckIn(f.ctx, h1Staff, a1.CheckinCode); !errors.Is(err, ErrAlreadyCheckedIn) {
		t.Fatalf("check-in after completion: %v", err)
	}
	// next day the numbers start again
	f.clock.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, t0.Location()))
	if got, err := f.svc.CheckIn(f.ctx, h1Staff, w1.CheckinCode); err != nil || got.QueueNumber != "A001" {
		t.Fatalf("next day: %+v %v", got, err)
	}
	if _, err := f.svc.Complete(f.ctx, h1Staff, "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("complete malformed: %v", err)
	}
}

func TestCheckInStatesAndConcurrency(t *testing.T) {
	f := newFixture(t)
	a := f.mustBook(citizen(1), "sc1.20260310.1000", "s1")
	c := f.mustBook(citizen(2), "sc1.20260310.1000", "s1")
	if _, err := f.svc.Cancel(f.ctx, citizen(2).ID, c.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, t0.Location()))
	if _, err := f.svc.CheckIn(f.ctx, h1Staff, c.CheckinCode); !errors.Is(err, ErrNotActive) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := f.svc.Complete(f.ctx, h1Staff, a.ID); !errors.Is(err, ErrNotCheckedIn) {
		t.Fatalf("complete before check-in: %v", err)
	}
	// ten desks scan the same code at once: one wins
	results := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := f.svc.CheckIn(f.ctx, h1Staff, a.CheckinQR)
			results <- err
		}()
	}
	wins := 0
	for range 10 {
		err := <-results
		switch {
		case err == nil:
			wins++
		case errors.Is(err, ErrAlreadyCheckedIn):
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d check-ins won", wins)
	}
}

func TestStaffListsAndCSV(t *testing.T) {
	f := newFixture(t)
	f.people.names["u0001"] = "=HYPERLINK(\"x\")"
	for i := range 25 {
		slot := []string{"sc1.20260310.0900", "sc1.20260310.1000", "sc1.20260310.1330"}[i%3]
		f.mustBook(citizen(i), slot, "s1")
	}
	f.mustBook(citizen(50), "sc2.20260310.0900", "s3")
	f.mustBook(citizen(51), "sc3.20260310.0900", "s4") // hall 2
	gone := f.mustBook(citizen(52), "sc2.20260310.0900", "s3")
	if _, err := f.svc.Cancel(f.ctx, citizen(52).ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	q := StaffListQuery{HallID: "h1", Date: "2026-03-10", PageSize: 10}
	p1, err := f.svc.ListForStaff(f.ctx, h1Staff, q)
	if err != nil || p1.Total != 27 || len(p1.Items) != 10 || p1.Page != 1 {
		t.Fatalf("page 1: total %d items %d %v", p1.Total, len(p1.Items), err)
	}
	q.Page = 3
	p3, _ := f.svc.ListForStaff(f.ctx, h1Staff, q)
	if len(p3.Items) != 7 || p3.Items[6].Slot.Start.Before(p3.Items[0].Slot.Start) {
		t.Fatalf("page 3: %d items", len(p3.Items))
	}
	filtered, _ := f.svc.ListForStaff(f.ctx, admin, StaffListQuery{HallID: "h1", Date: "2026-03-10", DepartmentID: "d2"})
	if filtered.Total != 2 {
		t.Fatalf("department filter: %d", filtered.Total)
	}
	cancelled, _ := f.svc.ListForStaff(f.ctx, admin, StaffListQuery{HallID: "h1", Date: "2026-03-10", Status: StatusCancelled})
	if cancelled.Total != 1 || cancelled.Items[0].ID != gone.ID || cancelled.Items[0].Name != "市民u0052" {
		t.Fatalf("status filter: %+v", cancelled)
	}
	bad := []struct {
		actor StaffActor
		q     StaffListQuery
		want  error
	}{
		{h2Staff, StaffListQuery{HallID: "h1"}, ErrForbidden},
		{financier, StaffListQuery{HallID: "h1"}, ErrForbidden},
		{admin, StaffListQuery{HallID: "nope"}, ErrNotFound},
		{admin, StaffListQuery{HallID: "h1", Date: "10/03/2026"}, ErrInvalid},
		{admin, StaffListQuery{HallID: "h1", Status: "lost"}, ErrInvalid},
		{admin, StaffListQuery{HallID: "h1", PageSize: 1000}, ErrInvalid},
		{admin, StaffListQuery{HallID: "h1", Page: -1}, ErrInvalid},
	}
	for _, b := range bad {
		if _, err := f.svc.ListForStaff(f.ctx, b.actor, b.q); !errors.Is(err, b.want) {
			t.Fatalf("%+v: got %v, want %v", b, err, b.want)
		}
		if b.q.Page != 0 || b.q.PageSize != 0 {
			continue // the CSV export ignores paging
		}
		var buf bytes.Buffer
		if err := f.svc.WriteStaffCSV(f.ctx, &buf, b.actor, b.q); !errors.Is(err, b.want) || buf.Len() != 0 {
			t.Fatalf("csv %+v: got %v, %d bytes", b, err, buf.Len())
		}
	}
	var buf bytes.Buffer
	if err := f.svc.WriteStaffCSV(f.ctx, &buf, h1Staff, StaffListQuery{HallID: "h1", Date: "2026-03-10"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\xEF\xBB\xBF日期,开始,结束,部门,事项,姓名,证件号码,状态,排队号,预约编号\r\n") {
		t.Fatalf("header: %q", out[:min(len(out), 120)])
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	if len(lines) != 28 {
		t.Fatalf("%d lines, want header + 27", len(lines))
	}
	if !strings.Contains(out, "2026-03-10,10:00,11:00,部门一,事项s1,\"'=HYPERLINK(\"\"x\"\")\",4401**********1234,已预约,,") {
		t.Fatalf("formula not defused or row wrong:\n%s", out)
	}
	if !strings.Contains(out, "已取消") || strings.Contains(out, "u0051") {
		t.Fatal("statuses or hall scoping wrong")
	}
	// hall 2's list for hall 2's staff, with a person the directory does not know
	f.people.names["u0051"] = ""
	p, err := f.svc.ListForStaff(f.ctx, h2Staff, StaffListQuery{HallID: "h2", Date: "2026-03-10"})
	if err != nil || p.Total != 1 {
		t.Fatalf("hall 2: %+v %v", p, err)
	}
}

func TestNoShowsWarnThenSuspend(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	a := f.mustBook(u, "sc1.20260310.0900", "s1") // ends Tue 10:00
	b := f.mustBook(u, "sc1.20260311.0900", "s1") // ends Wed 10:00
	f.clock.Set(time.Date(2026, 3, 10, 10, 29, 0, 0, t0.Location()))
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.NoShows != 0 {
		t.Fatalf("29 minutes after: %+v %v", r, err)
	}
	f.clock.Set(time.Date(2026, 3, 10, 10, 31, 0, 0, t0.Location()))
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.NoShows != 1 || r.Penalized != 1 {
		t.Fatalf("31 minutes after: %+v %v", r, err)
	}
	got, _ := f.svc.Get(f.ctx, u.ID, a.ID)
	if got.Status != StatusNoShow || got.NoShowAt == nil || !got.NoShowAt.Equal(time.Date(2026, 3, 10, 10, 30, 0, 0, t0.Location())) {
		t.Fatalf("first: %+v", got)
	}
	if _, err := f.svc.CheckIn(f.ctx, h1Staff, a.CheckinCode); !errors.Is(err, ErrNotActive) {
		t.Fatalf("check-in after no-show: %v", err)
	}
	if until, _ := f.svc.SuspendedUntil(f.ctx, u.ID); !until.IsZero() {
		t.Fatalf("suspended after one no-show until %v", until)
	}
	// a no-show releases the booking limit: booking still works
	f.mustBook(u, "sc1.20260312.0900", "s1")
	f.clock.Set(time.Date(2026, 3, 11, 11, 0, 0, 0, t0.Location()))
	for range 2 { // the second sweep changes nothing
		if _, err := f.svc.SweepOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Date(2026, 3, 11, 10, 30, 0, 0, t0.Location()).Add(30 * 24 * time.Hour)
	if got, _ := f.svc.SuspendedUntil(f.ctx, u.ID); !got.Equal(until) {
		t.Fatalf("suspended until %v, want %v", got, until)
	}
	before := f.state()
	_, err := f.book(u, "sc1.20260313.0900", "s2")
	if se, ok := platform.AsError(err); !ok || !errors.Is(err, ErrBookingSuspended) || !se.Until.Equal(until) {
		t.Fatalf("booking while suspended: %v", err)
	}
	f.sameState(before)
	msgs, _ := f.inbox.List(f.ctx, u.ID, 20)
	count := map[string]int{}
	for _, m := range msgs {
		count[m.Kind]++
	}
	if count[KindNoShow] != 1 || count[KindSuspended] != 1 || count[KindBooked] != 3 {
		t.Fatalf("inbox %v", count)
	}
	if got, _ := f.svc.Get(f.ctx, u.ID, b.ID); got.Status != StatusNoShow {
		t.Fatalf("second: %s", got.Status)
	}
	if n := f.count("appt_noshows", nil); n != 2 {
		t.Fatalf("%d no-shows recorded", n)
	}
}

func TestNoShowsFarApartOnlyWarn(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	f.mustBook(u, "sc1.20260310.0900", "s1")
	f.clock.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, t0.Location()))
	if _, err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2026, 4, 13, 9, 0, 0, 0, t0.Location())) // 33 days later (a Monday)
	f.mustBook(u, "sc1.20260414.0900", "s1")
	f.clock.Set(time.Date(2026, 4, 15, 9, 0, 0, 0, t0.Location()))
	if _, err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if until, _ := f.svc.SuspendedUntil(f.ctx, u.ID); !until.IsZero() {
		t.Fatalf("suspended for no-shows 35 days apart until %v", until)
	}
	msgs, _ := f.inbox.List(f.ctx, u.ID, 20)
	warnings := 0
	for _, m := range msgs {
		if m.Kind == KindNoShow {
			warnings++
		}
	}
	if warnings != 2 {
		t.Fatalf("%d warnings", warnings)
	}
}

func TestDayBeforeReminders(t *testing.T) {
	f := newFixture(t)
	a := f.mustBook(citizen(1), "sc1.20260310.0900", "s1")
	f.mustBook(citizen(2), "sc1.20260311.0900", "s1")
	c := f.mustBook(citizen(3), "sc1.20260310.1000", "s1")
	if _, err := f.svc.Cancel(f.ctx, citizen(3).ID, c.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r, err := f.svc.SweepOnce(f.ctx)
		if err != nil || r.Reminders != 1-i {
			t.Fatalf("sweep %d: %+v %v", i, r, err)
		}
	}
	msgs, _ := f.inbox.List(f.ctx, citizen(1).ID, 10)
	reminded := 0
	for _, m := range msgs {
		if m.ID == KindReminder+":"+a.ID && strings.Contains(m.Body, a.CheckinCode) {
			reminded++
			// The display values subscribe templates show, beside the ids.
			start, err := time.Parse(time.RFC3339, m.Data["start"])
			if m.Data["appointment_id"] != a.ID || m.Data["service_name"] != a.ServiceName || m.Data["hall_name"] != a.HallName ||
				m.Data["checkin_code"] != a.CheckinCode || err != nil || !strings.HasSuffix(m.Data["start"], "+08:00") ||
				!start.Equal(a.Slot.Start) {
				t.Errorf("reminder data %v for %+v", m.Data, a)
			}
		}
	}
	if len(msgs) != 2 || reminded != 1 {
		t.Fatalf("inbox %+v", msgs)
	}
	for _, u := range []int{2, 3} {
		msgs, _ := f.inbox.List(f.ctx, citizen(u).ID, 10)
		for _, m := range msgs {
			if m.Kind == KindReminder {
				t.Fatalf("citizen %d reminded", u)
			}
		}
	}
}
