package appointments

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The commit of a booking is the insert of its appointment document. When
// that insert's reply is lost (the request's context ends, the driver times
// out, the network drops), the outcome is unknown: these tests force each
// outcome with a dialer that delivers the insert and holds back its reply
// (or never delivers it), and cancel the request's context meanwhile.

const twoSeats = "sc2.20260310.0900" // capacity 2, service s3

var bookedInsert = isInsertOf("appointments", StatusBooked)

// bookLosingTheCommit books for who while fn interferes with the commit as
// armed, cancelling the request's context as soon as fn acted.
func bookLosingTheCommit(f *fixture, fired <-chan struct{}, who Citizen, key string) (Appointment, error) {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	go func() {
		select {
		case <-fired:
			cancel()
		case <-ctx.Done():
		}
	}()
	return f.svc.Book(ctx, who, BookRequest{SlotID: twoSeats, ServiceID: "s3"}, key)
}

// checkHeld fails unless appointment id is booked and holds its seat, day
// lock and user slot.
func (f *fixture) checkHeld(id string) {
	f.t.Helper()
	d, err := f.svc.findAppt(f.ctx, id)
	if err != nil || d.Status != StatusBooked {
		f.t.Fatalf("appointment %s: %+v %v", id, d, err)
	}
	for _, c := range []string{"appt_seats", "appt_daylocks", "appt_userslots", "appt_codes"} {
		if n := f.count(c, bson.M{"appointment_id": id}); n != 1 {
			f.t.Errorf("%s: %d documents of the booked appointment %s, want 1", c, n, id)
		}
	}
}

// bookedBy returns the ID of the one appointment of userID.
func (f *fixture) bookedBy(userID string) string {
	f.t.Helper()
	var d apptDoc
	if err := f.db.Collection("appointments").FindOne(f.ctx, bson.M{"user_id": userID}).Decode(&d); err != nil {
		f.t.Fatal(err)
	}
	return d.ID
}

func TestLostCommitReplyNeverFreesTheBooking(t *testing.T) {
	for _, key := range []string{"", "lost-reply-key"} {
		t.Run("key="+key, func(t *testing.T) {
			fn := newFaultNet()
			f := newFixture(t, withFaultDB(fn))
			u := citizen(1)
			held, _ := fn.add(bookedInsert, loseReply, true)
			a, err := bookLosingTheCommit(f, held, u, key)
			if err != nil {
				t.Errorf("the appointment was saved but Book answered %v", err)
				a.ID = f.bookedBy(u.ID)
			}
			f.checkHeld(a.ID)
			if key != "" {
				again, err := f.bookKey(u, twoSeats, "s3", key)
				if err != nil || again.ID != a.ID {
					t.Fatalf("retry under the key: %+v %v, want %s", again, err, a.ID)
				}
			}
			// What it holds is not given to anyone else.
			if _, err := f.book(u, twoSeats, "s3"); !errors.Is(err, ErrDuplicateBooking) {
				t.Errorf("the same citizen again: %v, want ErrDuplicateBooking", err)
			}
			f.mustBook(citizen(2), twoSeats, "s3")
			if _, err := f.book(citizen(3), twoSeats, "s3"); !errors.Is(err, ErrSlotFull) {
				t.Fatalf("a third citizen: %v, want ErrSlotFull", err)
			}
			if n, s := f.booked(twoSeats); n != 2 || s != 2 {
				t.Fatalf("capacity 2: %d booked appointments, %d seats", n, s)
			}
		})
	}
}

func TestLostCommitRequestReleasesEverything(t *testing.T) {
	fn := newFaultNet()
	f := newFixture(t, withFaultDB(fn))
	u := citizen(1)
	f.mustBook(citizen(9), "sc1.20260311.0900", "s1") // the pools and the catalog exist
	before := f.state()
	lost, _ := fn.add(bookedInsert, swallow, true)
	if _, err := bookLosingTheCommit(f, lost, u, ""); err == nil {
		t.Fatal("an appointment never written was answered as booked")
	}
	if n := f.count("appointments", bson.M{"status": StatusBooked, "user_id": u.ID}); n != 0 {
		t.Fatalf("%d booked", n)
	}
	for _, c := range []string{"appt_seats", "appt_daylocks", "appt_userslots", "appt_codes"} {
		if after := f.count(c, nil); after != before[c] {
			t.Errorf("%s: %d before, %d after", c, before[c], after)
		}
	}
	if r := f.remainingOf(twoSeats, "h1", "s3", "2026-03-10"); r != 2 {
		t.Fatalf("remaining %d, want 2", r)
	}
	f.mustBook(u, twoSeats, "s3")
}

func TestUndecidableCommitHoldsEverything(t *testing.T) {
	fn := newFaultNet()
	f := newFixture(t, withFaultDB(fn))
	u := citizen(1)
	held, _ := fn.add(bookedInsert, loseReply, true)
	// While the outcome is being decided MongoDB refuses every write of an
	// appointment: the outcome stays unknown.
	_, heal := fn.add(isInsertOf("appointments"), fail, false)
	a, err := bookLosingTheCommit(f, held, u, "")
	heal()
	if err == nil {
		t.Fatalf("an undecided booking was answered as booked: %+v", a)
	}
	f.checkHeld(f.bookedBy(u.ID))
	if _, err := f.book(u, twoSeats, "s3"); !errors.Is(err, ErrDuplicateBooking) {
		t.Errorf("the same citizen again: %v, want ErrDuplicateBooking", err)
	}
	f.mustBook(citizen(2), twoSeats, "s3")
	if _, err := f.book(citizen(3), twoSeats, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("a third citizen: %v, want ErrSlotFull", err)
	}
}

// TestLostArbiterReplyIsStaleAtOnce: a seat insert whose reply is lost may
// have taken the seat; the booking cannot release what it does not know it
// holds, but it settles its appointment as failed, so whatever it may hold
// is stale at once: availability shows the seat free and a booking takes it.
func TestLostArbiterReplyIsStaleAtOnce(t *testing.T) {
	fn := newFaultNet()
	f := newFixture(t, withFaultDB(fn))
	f.mustBook(citizen(9), "sc1.20260311.0900", "s1") // the catalog and pools exist
	held, _ := fn.add(isInsertOf("appt_seats"), loseReply, true)
	if _, err := bookLosingTheCommit(f, held, citizen(1), ""); err == nil {
		t.Fatal("a booking whose seat insert was lost answered success")
	}
	if n := f.count("appt_seats", bson.M{"slot_id": twoSeats}); n != 1 {
		t.Fatalf("%d seat documents: the fault did not hit the seat insert", n)
	}
	if r := f.remainingOf(twoSeats, "h1", "s3", "2026-03-10"); r != 2 {
		t.Errorf("remaining %d, want 2: the lost attempt's seat counts as held", r)
	}
	f.mustBook(citizen(1), twoSeats, "s3")
	f.mustBook(citizen(2), twoSeats, "s3")
	if n, s := f.booked(twoSeats); n != 2 || s != 2 {
		t.Fatalf("%d booked, %d seats", n, s)
	}
}
