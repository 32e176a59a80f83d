package appointments

import (
	"testing"
	"time"
)

// TestServedAndCompleted: a completed visit is read with its service code,
// department, hall and completer; CompletedBetween pages through completed
// visits in (completed_at, _id) order, on the embedded engine.
func TestServedAndCompleted(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.EnsureEvaluationIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	a1 := f.mustBook(citizen(1), "sc1.20260310.0900", "s1")
	a2 := f.mustBook(citizen(2), "sc1.20260310.1000", "s2")
	a3 := f.mustBook(citizen(3), "sc2.20260310.0900", "s3")
	f.clock.Set(time.Date(2026, 3, 10, 8, 45, 0, 0, t0.Location()))
	for _, a := range []Appointment{a1, a2, a3} {
		if _, err := f.svc.CheckIn(f.ctx, h1Staff, a.CheckinCode); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []Appointment{a2, a1} {
		f.clock.Advance(time.Minute)
		if _, err := f.svc.Complete(f.ctx, h1Staff, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	v, ok, err := f.svc.ServedAppointment(f.ctx, a1.ID)
	if err != nil || !ok || v.UserID != "u0001" || v.Status != StatusCompleted || v.ServiceCode != "CODE-s1" ||
		v.DepartmentID != "d1" || v.DepartmentName != "部门一" || v.HallID != "h1" || v.CompletedBy != "staff-h1" || v.CompletedAt.IsZero() {
		t.Fatalf("served %+v %v %v", v, ok, err)
	}
	if v, ok, _ := f.svc.ServedAppointment(f.ctx, a3.ID); !ok || v.Status != StatusCheckedIn || !v.CompletedAt.IsZero() {
		t.Fatalf("checked in %+v", v)
	}
	for _, id := range []string{"nope", "a/b"} {
		if _, ok, err := f.svc.ServedAppointment(f.ctx, id); ok || err != nil {
			t.Fatalf("%s: %v %v", id, ok, err)
		}
	}
	var order []string
	at, key := t0, ""
	for range 3 {
		page, err := f.svc.CompletedBetween(f.ctx, at, key, f.clock.Now(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		order = append(order, page[0].ID)
		at, key = page[0].CompletedAt, page[0].ID
	}
	if len(order) != 2 || order[0] != a2.ID || order[1] != a1.ID {
		t.Fatalf("completed pages %v, want %s %s", order, a2.ID, a1.ID)
	}
}

// TestAddWorkingDays: Monday to Friday count, public holidays do not, make-up
// working days do, a hall's own closure does not stop the count; the answer
// is the start of the day after the last working day.
func TestAddWorkingDays(t *testing.T) {
	f := newFixture(t)
	for _, c := range []CalendarDay{
		{HallID: "", Date: "2026-03-11", Kind: DayHoliday, Name: "假日"},
		{HallID: "", Date: "2026-03-14", Kind: DayWorkday, Name: "调休上班"},
		{HallID: "h1", Date: "2026-03-12", Kind: DayClosure, Name: "检修"},
	} {
		if _, err := f.svc.PutCalendarDay(f.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		from time.Time
		n    int
		want string
	}{
		// Monday 9 March: 10 (Tue), 12 (Thu), 13 (Fri), 14 (Sat, make-up), 16 (Mon).
		{t0, 5, "2026-03-17"},
		{t0, 1, "2026-03-11"},
		// Friday 13 March evening: 14 (make-up Saturday).
		{time.Date(2026, 3, 13, 23, 0, 0, 0, t0.Location()), 1, "2026-03-15"},
		{time.Date(2026, 3, 15, 10, 0, 0, 0, t0.Location()), 0, "2026-03-17"}, // n < 1 counts one
	} {
		got, err := f.svc.AddWorkingDays(f.ctx, c.from, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if d := got.In(t0.Location()); d.Format("2006-01-02") != c.want || d.Hour() != 0 || d.Minute() != 0 {
			t.Errorf("%v + %d working days: %v, want the start of %s", c.from, c.n, d, c.want)
		}
	}
}
