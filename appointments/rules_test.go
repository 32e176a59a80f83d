package appointments

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

func TestBookRejectionsChangeNothing(t *testing.T) {
	ok := Citizen{ID: "u1", RealnameLevel: 3}
	cases := []struct {
		name    string
		setup   func(f *fixture)
		who     Citizen
		slot    string
		service string
		want    error
	}{
		{name: "malformed slot", who: ok, slot: "nonsense", service: "s1", want: ErrInvalid},
		{name: "empty slot", who: ok, slot: "", service: "s1", want: ErrInvalid},
		{name: "malformed service", who: ok, slot: raceSlot, service: "S 1", want: ErrInvalid},
		{name: "no citizen", who: Citizen{RealnameLevel: 4}, slot: raceSlot, service: "s1", want: ErrInvalid},
		{name: "unknown service", who: ok, slot: raceSlot, service: "nope", want: ErrNotFound},
		{name: "unknown schedule", who: ok, slot: "zz.20260310.0900", service: "s1", want: ErrNotFound},
		{name: "time off the pattern", who: ok, slot: "sc1.20260310.0930", service: "s1", want: ErrNotFound},
		{name: "lunch break", who: ok, slot: "sc1.20260310.1200", service: "s1", want: ErrNotFound},
		{name: "weekend without hours", who: ok, slot: "sc1.20260314.0900", service: "s1", want: ErrNotFound},
		{name: "real-name level 2", who: Citizen{ID: "u1", RealnameLevel: 2}, slot: raceSlot, service: "s1", want: ErrRealnameRequired},
		{name: "slot of another hall", who: ok, slot: "sc3.20260310.0900", service: "s1", want: ErrSlotMismatch},
		{name: "slot of another department", who: ok, slot: "sc2.20260310.0900", service: "s1", want: ErrSlotMismatch},
		{name: "schedule for other services", who: ok, slot: "sc9.20260310.0900", service: "s1", want: ErrSlotMismatch,
			setup: func(f *fixture) {
				if _, err := f.svc.CreateSchedule(f.ctx, Schedule{ID: "sc9", HallID: "h1", DepartmentID: "d1",
					ServiceIDs: []string{"s2"}, SlotMinutes: 60, Capacity: 3}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "past slot", who: ok, slot: "sc1.20260306.0900", service: "s1", want: ErrSlotClosed},
		{name: "started slot", who: ok, slot: "sc1.20260309.0900", service: "s1", want: ErrSlotClosed},
		{name: "later today", who: ok, slot: "sc1.20260309.1330", service: "s1", want: ErrOutsideWindow},
		{name: "eighth working day", who: ok, slot: "sc1.20260319.0900", service: "s1", want: ErrOutsideWindow},
		{name: "hall closure", who: ok, slot: "sc1.20260311.0900", service: "s1", want: ErrSlotClosed,
			setup: func(f *fixture) {
				if _, err := f.svc.PutCalendarDay(f.ctx, CalendarDay{HallID: "h1", Date: "2026-03-11", Kind: DayClosure, Name: "设备检修"}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "public holiday", who: ok, slot: "sc1.20260312.0900", service: "s1", want: ErrSlotClosed,
			setup: func(f *fixture) {
				if _, err := f.svc.PutCalendarDay(f.ctx, CalendarDay{Date: "2026-03-12", Kind: DayHoliday, Name: "测试假日"}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "suspended", who: ok, slot: raceSlot, service: "s1", want: ErrBookingSuspended,
			setup: func(f *fixture) {
				if _, err := f.db.Collection("appt_penalties").InsertOne(f.ctx, bson.M{"_id": "u1", "suspended_until": t0.Add(48 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "full", who: ok, slot: "sc2.20260310.0900", service: "s3", want: ErrSlotFull,
			setup: func(f *fixture) {
				f.mustBook(citizen(101), "sc2.20260310.0900", "s3")
				f.mustBook(citizen(102), "sc2.20260310.0900", "s3")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.setup != nil {
				c.setup(f)
			}
			before := f.state()
			_, err := f.book(c.who, c.slot, c.service)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if Code(err) == "" {
				t.Fatalf("error %v has no code", err)
			}
			f.sameState(before)
		})
	}
}

func TestSuspendedErrorCarriesTheEnd(t *testing.T) {
	f := newFixture(t)
	until := t0.Add(72 * time.Hour)
	if _, err := f.db.Collection("appt_penalties").InsertOne(f.ctx, bson.M{"_id": "u0001", "suspended_until": until}); err != nil {
		t.Fatal(err)
	}
	_, err := f.book(citizen(1), raceSlot, "s1")
	se, _ := platform.AsError(err)
	if se == nil || !se.Until.Equal(until) || !errors.Is(err, ErrBookingSuspended) || Code(err) != "booking_suspended" {
		t.Fatalf("got %#v", err)
	}
	f.clock.Set(until.Add(time.Minute)) // Thursday: the window moved on
	if _, err := f.book(citizen(1), "sc1.20260313.0900", "s1"); err != nil {
		t.Fatalf("after the suspension: %v", err)
	}
}

func TestDuplicateAndLimitRules(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	first := f.mustBook(u, "sc1.20260310.0900", "s1")
	if first.Status != StatusBooked || first.CheckinCode == "" || first.CheckinQR == "" || first.HallID != "h1" ||
		first.ServiceName != "事项s1" || !first.Slot.Start.Equal(time.Date(2026, 3, 10, 9, 0, 0, 0, t0.Location())) {
		t.Fatalf("answer %+v", first)
	}
	steps := []struct {
		slot, service string
		want          error
	}{
		{"sc1.20260310.1000", "s1", ErrDuplicateBooking}, // same service, same day
		{"sc1.20260310.1000", "s2", nil},                 // another service that day
		{"sc1.20260311.0900", "s1", nil},                 // same service another day
		{"sc2.20260312.0900", "s3", ErrBookingLimit},     // a fourth active booking
	}
	for _, st := range steps {
		before := f.state()
		_, err := f.book(u, st.slot, st.service)
		if !errors.Is(err, st.want) {
			t.Fatalf("%s %s: got %v, want %v", st.slot, st.service, err, st.want)
		}
		if err != nil {
			f.sameState(before)
		}
	}
	if _, err := f.svc.Cancel(f.ctx, u.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	f.mustBook(u, "sc2.20260312.0900", "s3")          // the limit freed a place
	f.mustBook(citizen(2), "sc1.20260310.0900", "s1") // and the seat is free
	mine, err := f.svc.ListMine(f.ctx, u.ID, false, 0)
	if err != nil || len(mine) != 4 {
		t.Fatalf("mine: %d %v", len(mine), err)
	}
	up, err := f.svc.ListMine(f.ctx, u.ID, true, 0)
	if err != nil || len(up) != 3 || up[0].Slot.Start.After(up[1].Slot.Start) {
		t.Fatalf("upcoming: %+v %v", up, err)
	}
}

func TestCancelRules(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	a := f.mustBook(u, "sc1.20260310.0900", "s1") // starts Tue 09:00
	cases := []struct {
		name string
		user string
		id   string
		now  time.Time
		want error
	}{
		{"malformed id", u.ID, "x", t0, ErrInvalid},
		{"unknown id", u.ID, "ap00000000000000000000", t0, ErrNotFound},
		{"another citizen", "u0002", a.ID, t0, ErrNotFound},
		{"less than two hours before", u.ID, a.ID, time.Date(2026, 3, 10, 7, 0, 1, 0, t0.Location()), ErrCancelTooLate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.clock.Set(c.now)
			before := f.state()
			if _, err := f.svc.Cancel(f.ctx, c.user, c.id); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			f.sameState(before)
		})
	}
	f.clock.Set(time.Date(2026, 3, 10, 7, 0, 0, 0, t0.Location())) // exactly two hours before
	got, err := f.svc.Cancel(f.ctx, u.ID, a.ID)
	if err != nil || got.Status != StatusCancelled || got.CancelledAt == nil {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if _, err := f.svc.Cancel(f.ctx, u.ID, a.ID); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("second cancel: %v", err)
	}
	if n := f.count("appt_seats", nil) + f.count("appt_daylocks", nil) + f.count("appt_userslots", nil); n != 0 {
		t.Fatalf("%d arbiters left after cancel", n)
	}
	msgs, _ := f.inbox.List(f.ctx, u.ID, 10)
	kinds := []string{}
	for _, m := range msgs {
		kinds = append(kinds, m.Kind)
	}
	if !slices.Contains(kinds, KindBooked) || !slices.Contains(kinds, KindCancelled) {
		t.Fatalf("inbox kinds %v", kinds)
	}
}

func TestCalendarWindowAndAvailability(t *testing.T) {
	f := newFixture(t)
	for _, d := range []CalendarDay{
		{HallID: "h1", Date: "2026-03-11", Kind: DayClosure, Name: "检修"},
		{Date: "2026-03-12", Kind: DayHoliday, Name: "假日"},
		{Date: "2026-03-14", Kind: DayWorkday, Name: "调休上班"}, // Saturday, with Monday's hours
	} {
		if _, err := f.svc.PutCalendarDay(f.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	win, err := f.svc.BookingWindow(f.ctx, "h1")
	want := []string{"2026-03-10", "2026-03-13", "2026-03-14", "2026-03-16", "2026-03-17", "2026-03-18", "2026-03-19"}
	if err != nil || !slices.Equal(win, want) {
		t.Fatalf("h1 window %v %v", win, err)
	}
	win2, _ := f.svc.BookingWindow(f.ctx, "h2")
	if want2 := []string{"2026-03-10", "2026-03-11", "2026-03-13", "2026-03-14", "2026-03-16", "2026-03-17", "2026-03-18"}; !slices.Equal(win2, want2) {
		t.Fatalf("h2 window %v", win2)
	}
	f.mustBook(citizen(1), "sc1.20260314.0900", "s1") // the make-up Saturday
	av, err := f.svc.Availability(f.ctx, "h1", "s1")
	if err != nil || len(av.Dates) != 7 {
		t.Fatalf("availability %+v %v", av, err)
	}
	for _, d := range av.Dates {
		want := 6 * 20 // six slots of 20 a day: 09, 10, 11, 13:30, 14:30, 15:30
		if d.Date == "2026-03-14" {
			want--
		}
		if d.Remaining != want {
			t.Fatalf("%s remaining %d, want %d", d.Date, d.Remaining, want)
		}
	}
	ds, err := f.svc.DaySlots(f.ctx, "h1", "s1", "2026-03-11")
	if err != nil || len(ds.Slots) != 0 {
		t.Fatalf("closure day slots %+v %v", ds, err)
	}
	ds, err = f.svc.DaySlots(f.ctx, "h1", "s1", "2026-03-16")
	if err != nil || len(ds.Slots) != 6 || ds.Slots[3].ID != "sc1.20260316.1330" || ds.Slots[0].Capacity != 20 || ds.Slots[0].Remaining != 20 {
		t.Fatalf("slots %+v %v", ds, err)
	}
	if ds.Slots[0].Start.Format(time.RFC3339) != "2026-03-16T09:00:00+08:00" {
		t.Fatalf("start %s", ds.Slots[0].Start.Format(time.RFC3339))
	}
	bad := []struct {
		hall, service, date string
		want                error
	}{
		{"h1", "s1", "2026-3-16", ErrInvalid},
		{"h1", "s1", "2026-02-30", ErrInvalid},
		{"h1", "", "2026-03-16", ErrInvalid},
		{"h1", "s4", "2026-03-16", ErrInvalid}, // service of another hall
		{"hx", "s1", "2026-03-16", ErrNotFound},
		{"h1", "sx", "2026-03-16", ErrNotFound},
		{"h1", "s1", "2026-03-09", ErrOutsideWindow},
		{"h1", "s1", "2026-03-20", ErrOutsideWindow},
	}
	for _, b := range bad {
		before := f.state()
		if _, err := f.svc.DaySlots(f.ctx, b.hall, b.service, b.date); !errors.Is(err, b.want) {
			t.Fatalf("%+v: got %v", b, err)
		}
		f.sameState(before)
	}
	if _, err := f.svc.Availability(f.ctx, "h1", "s4"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("availability of another hall's service: %v", err)
	}
}
