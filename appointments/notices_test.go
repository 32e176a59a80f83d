package appointments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/notify"
)

// flakyNotifier fails while down, and otherwise publishes into the inbox.
type flakyNotifier struct {
	mu    sync.Mutex
	down  bool
	inbox *notify.Inbox
}

func (n *flakyNotifier) Publish(ctx context.Context, msgs []notify.Message) error {
	n.mu.Lock()
	down := n.down
	n.mu.Unlock()
	if down {
		return errors.New("notifier down")
	}
	return n.inbox.Publish(ctx, msgs)
}

func (n *flakyNotifier) setDown(down bool) {
	n.mu.Lock()
	n.down = down
	n.mu.Unlock()
}

func (f *fixture) messagesOf(kind string, userID string) int {
	return int(f.count("inbox", bson.M{"user_id": userID, "kind": kind}))
}

// TestConfirmationSurvivesAFailedPublish: a booking whose confirmation could
// not be published (the notifier was down, or the process died right after
// the commit) keeps a notice; the sweeper publishes it once after a minute.
func TestConfirmationSurvivesAFailedPublish(t *testing.T) {
	n := &flakyNotifier{down: true}
	f := newFixture(t, func(f *fixture, d *Deps) { n.inbox = f.inbox; d.Notifier = n })
	u := citizen(1)
	a := f.mustBook(u, "sc1.20260310.0900", "s1")
	if f.messagesOf(KindBooked, u.ID) != 0 || f.count("appointments", bson.M{"_id": a.ID, "notice": KindBooked}) != 1 {
		t.Fatal("the owed confirmation is not marked on the appointment")
	}
	n.setDown(false)
	f.clock.Advance(30 * time.Second)
	if r, _ := f.svc.SweepOnce(f.ctx); r.Notices != 0 {
		t.Fatalf("published within the grace (its request may still do it): %+v", r)
	}
	f.clock.Advance(31 * time.Second)
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.Notices != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if f.messagesOf(KindBooked, u.ID) != 1 || f.count("appointments", bson.M{"notice": bson.M{"$exists": true}}) != 0 {
		t.Fatal("the confirmation was not published once, or its notice stayed")
	}
	if r, _ := f.svc.SweepOnce(f.ctx); r.Notices != 0 {
		t.Fatalf("second sweep %+v", r)
	}
}

// TestClosureCancelsEveryBookingInBulk: closing a day with 45 bookings
// cancels them all at once, releases their seats and the citizens' limits,
// tells each citizen once, and leaves other days alone. With the notifier
// down the messages stay owed and the sweeper publishes them.
func TestClosureCancelsEveryBookingInBulk(t *testing.T) {
	n := &flakyNotifier{}
	f := newFixture(t, func(f *fixture, d *Deps) { n.inbox = f.inbox; d.Notifier = n })
	var booked []Appointment
	for i := range 45 {
		slot := fmt.Sprintf("sc1.20260310.%02d00", 9+i/20)
		booked = append(booked, f.mustBook(citizen(i), slot, "s1"))
	}
	other := f.mustBook(citizen(100), "sc1.20260311.0900", "s1")
	n.setDown(true)
	if _, err := f.svc.PutCalendarDay(f.ctx, CalendarDay{HallID: "h1", Date: "2026-03-10", Kind: DayClosure, Name: "台风停工"}); err != nil {
		t.Fatal(err)
	}
	if c := f.count("appointments", bson.M{"date": "2026-03-10", "status": StatusCancelled, "released": true, "cancelled_by": cancelledBySystem}); c != 45 {
		t.Fatalf("%d of 45 cancelled and released", c)
	}
	for _, coll := range []string{"appt_seats", "appt_daylocks", "appt_userslots"} {
		if c := f.count(coll, bson.M{"appointment_id": bson.M{"$ne": other.ID}}); c != 0 {
			t.Fatalf("%d %s of the closed day still held", c, coll)
		}
	}
	if got, _ := f.svc.Get(f.ctx, citizen(100).ID, other.ID); got.Status != StatusBooked {
		t.Fatalf("a booking of another day: %+v", got)
	}
	if c := f.count("inbox", bson.M{"kind": KindCancelled}); c != 0 {
		t.Fatalf("%d messages with the notifier down", c)
	}
	n.setDown(false)
	f.clock.Advance(time.Minute + time.Second)
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.Notices != 45 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	for i, a := range booked {
		if f.messagesOf(KindCancelled, citizen(i).ID) != 1 {
			t.Fatalf("citizen %d told %d times about %s", i, f.messagesOf(KindCancelled, citizen(i).ID), a.ID)
		}
	}
	// The limits are free again: a citizen of the closed day books elsewhere.
	f.mustBook(citizen(0), "sc1.20260311.1000", "s1")
}

// TestRemindersTheDayBeforeAndTwoHoursBefore: each goes once.
func TestRemindersTheDayBeforeAndTwoHoursBefore(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	a := f.mustBook(u, "sc1.20260310.0900", "s1")
	for range 2 {
		if _, err := f.svc.SweepOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("inbox", bson.M{"_id": KindReminder + ":" + a.ID}); n != 1 {
		t.Fatalf("day-before reminders: %d", n)
	}
	f.clock.Set(shanghaiAt("2026-03-10", "06:59"))
	f.svc.SweepOnce(f.ctx)
	if n := f.count("inbox", bson.M{"_id": KindReminder + "_2h:" + a.ID}); n != 0 {
		t.Fatal("the 2-hour reminder went early")
	}
	f.clock.Set(shanghaiAt("2026-03-10", "07:05"))
	for range 2 {
		if _, err := f.svc.SweepOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("inbox", bson.M{"_id": KindReminder + "_2h:" + a.ID}); n != 1 {
		t.Fatalf("2-hour reminders: %d", n)
	}
}
