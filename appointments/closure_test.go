package appointments

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func shanghaiAt(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, t0.Location())
	if err != nil {
		panic(err)
	}
	return t
}

// TestSameDayClosureNeverMakesNoShows: the hall declares a closure on the
// morning of the day. Its bookings are cancelled by the closure at once (the
// citizen has nothing left to cancel), and none becomes a no-show nor
// suspends anyone.
func TestSameDayClosureNeverMakesNoShows(t *testing.T) {
	f := newFixture(t)
	u, v := citizen(1), citizen(2)
	a := f.mustBook(u, "sc1.20260310.0900", "s1")
	b := f.mustBook(u, "sc2.20260310.1000", "s3")
	c := f.mustBook(v, "sc1.20260310.0900", "s2")
	f.clock.Set(shanghaiAt("2026-03-10", "08:30"))
	if _, err := f.svc.PutCalendarDay(f.ctx, CalendarDay{HallID: "h1", Date: "2026-03-10", Kind: DayClosure, Name: "停电闭厅"}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		who Citizen
		id  string
	}{{u, a.ID}, {u, b.ID}, {v, c.ID}} {
		got, _ := f.svc.Get(f.ctx, x.who.ID, x.id)
		if got.Status != StatusCancelled || got.CancelReason != "大厅当日不办公（停电闭厅）" {
			t.Errorf("%s after the closure: %+v", x.id, got)
		}
	}
	if _, err := f.svc.Cancel(f.ctx, v.ID, c.ID); !errors.Is(err, ErrNotCancellable) {
		t.Errorf("cancelling a booking the closure cancelled: %v", err)
	}
	f.clock.Set(shanghaiAt("2026-03-10", "18:00"))
	for range 2 {
		if _, err := f.svc.SweepOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if until, err := f.svc.SuspendedUntil(f.ctx, u.ID); err != nil || !until.IsZero() {
		t.Errorf("suspended until %v (%v) after a closed day", until, err)
	}
	if n := f.count("appt_noshows", nil); n != 0 {
		t.Errorf("%d no-shows recorded on a closed day", n)
	}
	for _, id := range []string{a.ID, b.ID} {
		got, _ := f.svc.Get(f.ctx, u.ID, id)
		if got.Status == StatusNoShow {
			t.Errorf("%s became a no-show on a closed day", id)
		}
	}
	msgs, _ := f.inbox.List(f.ctx, u.ID, 20)
	for _, m := range msgs {
		if m.Kind == KindNoShow || m.Kind == KindSuspended {
			t.Errorf("message %s: %s", m.Kind, m.Body)
		}
	}
	// Nothing of the closed day holds the citizen's booking limit.
	if n := f.count("appt_daylocks", bson.M{"user_id": u.ID}) + f.count("appt_userslots", bson.M{"user_id": u.ID}); n != 0 {
		t.Errorf("%d personal arbiters still held after the closed day", n)
	}
}

// TestClosureSweptBookingsAreCancelledAndTold: a booking left on a closed
// day (the closure's own cancellation never ran: written by another process
// that died, say) is cancelled by the sweep, with the reason, and the
// citizen is told.
func TestClosureSweptBookingsAreCancelledAndTold(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	a := f.mustBook(u, "sc1.20260310.0900", "s1")
	day := CalendarDay{ID: calendarID("h1", "2026-03-10"), HallID: "h1", Date: "2026-03-10", Kind: DayClosure, Name: "停电闭厅"}
	if _, err := f.db.Collection("appt_calendar").InsertOne(f.ctx, day); err != nil {
		t.Fatal(err)
	}
	f.svc.cat.changed(f.ctx)
	f.clock.Set(shanghaiAt("2026-03-10", "08:00"))
	r, err := f.svc.SweepOnce(f.ctx)
	if err != nil || r.NoShows != 0 || r.ClosureCancelled != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	got, _ := f.svc.Get(f.ctx, u.ID, a.ID)
	if got.Status != StatusCancelled || got.CancelReason == "" || got.CancelledAt == nil {
		t.Fatalf("after the sweep: %+v", got)
	}
	msgs, _ := f.inbox.List(f.ctx, u.ID, 20)
	told := false
	for _, m := range msgs {
		told = told || (m.Kind == KindCancelled && m.Data["appointment_id"] == a.ID)
	}
	if !told {
		t.Fatalf("inbox %+v", msgs)
	}
	if n := f.count("appt_seats", bson.M{"appointment_id": a.ID}); n != 0 {
		t.Fatalf("seat still held")
	}
	if r, _ := f.svc.SweepOnce(f.ctx); r.ClosureCancelled != 0 {
		t.Fatalf("second sweep %+v", r)
	}
}

// TestStaffCancelWithAReason: hall staff of the hall, or an admin, cancel a
// booked appointment at any time with a reason; the citizen is told and the
// seat is free at once. Bad input and other actors change nothing.
func TestStaffCancelWithAReason(t *testing.T) {
	f := newFixture(t)
	a := f.mustBook(citizen(1), twoSeats, "s3")
	f.mustBook(citizen(2), twoSeats, "s3")
	long := ""
	for range 201 {
		long += "因"
	}
	bad := []struct {
		name   string
		actor  StaffActor
		id     string
		reason string
		want   error
		field  string
	}{
		{"no reason", h1Staff, a.ID, "", ErrInvalid, "reason"},
		{"blank reason", h1Staff, a.ID, " \t ", ErrInvalid, "reason"},
		{"201 characters", h1Staff, a.ID, long, ErrInvalid, "reason"},
		{"control character", h1Staff, a.ID, "设备\x00故障", ErrInvalid, "reason"},
		{"malformed id", h1Staff, "ap123", "设备故障", ErrInvalid, "id"},
		{"unknown id", h1Staff, "ap00000000000000000000", "设备故障", ErrNotFound, ""},
		{"finance", StaffActor{ID: "fin", Role: RoleFinance}, a.ID, "设备故障", ErrForbidden, ""},
		{"staff of another hall", StaffActor{ID: "h2", Role: RoleHallStaff, HallIDs: []string{"h2"}}, a.ID, "设备故障", ErrWrongHall, ""},
	}
	for _, c := range bad {
		before := f.state()
		_, err := f.svc.CancelByStaff(f.ctx, c.actor, c.id, c.reason)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.field != "" && !errors.Is(err, invalid(c.field, "", "")) {
			t.Fatalf("%s: %v, want field %s", c.name, err, c.field)
		}
		f.sameState(before)
	}
	// On the day, after the citizen's cut-off: staff still may.
	f.clock.Set(shanghaiAt("2026-03-10", "08:45"))
	if _, err := f.svc.Cancel(f.ctx, citizen(1).ID, a.ID); !errors.Is(err, ErrCancelTooLate) {
		t.Fatalf("citizen at 08:45: %v", err)
	}
	got, err := f.svc.CancelByStaff(f.ctx, h1Staff, a.ID, "  窗口设备故障，今日无法办理  ")
	if err != nil || got.Status != StatusCancelled || got.CancelReason != "窗口设备故障，今日无法办理" || got.CancelledBy != h1Staff.ID {
		t.Fatalf("staff cancel: %+v %v", got, err)
	}
	if mine, _ := f.svc.Get(f.ctx, citizen(1).ID, a.ID); mine.CancelReason != got.CancelReason {
		t.Fatalf("the citizen's view: %+v", mine)
	}
	msgs, _ := f.inbox.List(f.ctx, citizen(1).ID, 20)
	told := false
	for _, m := range msgs {
		told = told || (m.Kind == KindCancelled && m.Data["appointment_id"] == a.ID && m.Data["reason"] == got.CancelReason)
	}
	if !told {
		t.Fatalf("inbox %+v", msgs)
	}
	f.clock.Set(t0)
	f.mustBook(citizen(3), twoSeats, "s3") // the seat is free at once
	if _, err := f.svc.CancelByStaff(f.ctx, admin, a.ID, "重复"); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancelling twice: %v", err)
	}
}

// TestStaffCancelRacesCitizenAndCheckIn: staff in two processes, the citizen
// and a check-in desk act on one booking at once; exactly one of them wins,
// the seat is freed at most once and the citizen told at most once.
func TestStaffCancelRacesCitizenAndCheckIn(t *testing.T) {
	for round := range 4 {
		f := newFixture(t)
		other := f.another()
		u := citizen(1)
		a := f.mustBook(u, twoSeats, "s3")
		f.mustBook(citizen(2), twoSeats, "s3")
		checkInToo := round%2 == 1
		if checkInToo { // on the day, after the citizen's cut-off
			f.clock.Set(shanghaiAt("2026-03-10", "08:00"))
		}
		var wins, checkedIn atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				svc := []*Service{f.svc, other}[i%2]
				var err error
				switch i % 3 {
				case 0:
					_, err = svc.CancelByStaff(f.ctx, h1Staff, a.ID, "窗口临时关闭")
				case 1:
					_, err = svc.Cancel(f.ctx, u.ID, a.ID)
				case 2:
					if checkInToo {
						if _, err = svc.CheckIn(f.ctx, h1Staff, a.CheckinCode); err == nil {
							checkedIn.Add(1)
						}
					} else {
						_, err = svc.CancelByStaff(f.ctx, admin, a.ID, "管理员取消")
					}
				}
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrNotCancellable), errors.Is(err, ErrCancelTooLate), errors.Is(err, ErrAlreadyCheckedIn), errors.Is(err, ErrNotActive):
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners, want 1", round, wins.Load())
		}
		d, _ := f.svc.findAppt(f.ctx, a.ID)
		cancelled := d.Status == StatusCancelled
		if cancelled == (checkedIn.Load() == 1) {
			t.Fatalf("round %d: status %s, %d check-ins", round, d.Status, checkedIn.Load())
		}
		if n := f.count("appt_seats", bson.M{"appointment_id": a.ID}); cancelled != (n == 0) {
			t.Fatalf("round %d: %s with %d seats", round, d.Status, n)
		}
		if n := f.count("inbox", bson.M{"user_id": u.ID, "kind": KindCancelled}); n > 1 || cancelled != (n == 1) {
			t.Fatalf("round %d: %s, %d cancellation messages", round, d.Status, n)
		}
		if !checkInToo {
			if r := f.remainingOf(twoSeats, "h1", "s3", "2026-03-10"); r != 1 {
				t.Fatalf("round %d: remaining %d", round, r)
			}
		}
	}
}
