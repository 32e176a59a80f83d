package appointments

import (
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestAbandonedArbitersAreRepaired(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	lock := dayLockID(u.ID, "s1", "2026-03-10")
	young := bson.M{"_id": lock, "appointment_id": "ap11111111111111111111", "user_id": u.ID, "n": 0, "created_at": t0}
	if _, err := f.db.Collection("appt_daylocks").InsertOne(f.ctx, young); err != nil {
		t.Fatal(err)
	}
	// a booking in progress (young arbiter, no appointment yet) holds the lock
	if _, err := f.book(u, raceSlot, "s1"); !errors.Is(err, ErrDuplicateBooking) {
		t.Fatalf("young: %v", err)
	}
	// three minutes later it counts as abandoned: tombstoned and taken over
	f.clock.Advance(3 * time.Minute)
	a, err := f.book(u, raceSlot, "s1")
	if err != nil {
		t.Fatalf("after repair: %v", err)
	}
	tomb, err := f.svc.findAppt(f.ctx, "ap11111111111111111111")
	if err != nil || tomb.Status != statusFailed || tomb.FailCode != "abandoned" {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
	// a stale seat (its appointment cancelled but the seat left behind)
	var d apptDoc
	if err := f.db.Collection("appointments").FindOneAndUpdate(f.ctx, bson.M{"_id": a.ID},
		bson.M{"$set": bson.M{"status": StatusCancelled, "released": false}}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	cat, _ := f.svc.cat.get(f.ctx)
	sl, _, _ := cat.lookupSlot(d.SlotID)
	if err := f.svc.pool.release(f.ctx, sl, d.Seat); err != nil {
		t.Fatal(err)
	}
	// fill every seat: the stale one is repaired by the insert that meets it
	res := FlashCrowd(f.ctx, f.svc, raceSlot, "s1", citizens(40)[10:])
	if res.Booked != 20 {
		t.Fatalf("booked %d over a stale seat", res.Booked)
	}
	if n, s := f.booked(raceSlot); n != 20 || s != 20 {
		t.Fatalf("%d appointments %d seats", n, s)
	}
}

func TestSlowBookingLosesToItsTombstone(t *testing.T) {
	f := newFixture(t)
	cat, _ := f.svc.cat.get(f.ctx)
	sl, _, _ := cat.lookupSlot(raceSlot)
	b := &booking{s: f.svc, cat: cat, who: citizen(1), svc: cat.services["s1"], sl: sl, id: newAppointmentID(), limitSlot: -1, seat: -1}
	if err := f.svc.tombstone(f.ctx, b.id, "abandoned"); err != nil { // a repairer got there first
		t.Fatal(err)
	}
	before := f.state()
	if _, err := b.run(f.ctx); !errors.Is(err, errAbandoned) {
		t.Fatalf("got %v", err)
	}
	f.sameState(before)
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 20 {
		t.Fatalf("remaining %d", r)
	}
}

func TestSweeperFinishesAnInterruptedCancel(t *testing.T) {
	f := newFixture(t)
	const slot = "sc2.20260310.0900"
	a := f.mustBook(citizen(1), slot, "s3")
	f.mustBook(citizen(2), slot, "s3")
	// the process died right after deciding the cancellation
	if _, err := f.db.Collection("appointments").UpdateOne(f.ctx, bson.M{"_id": a.ID},
		bson.M{"$set": bson.M{"status": StatusCancelled, "cancelled_at": t0, "released": false}}); err != nil {
		t.Fatal(err)
	}
	if r := f.remainingOf(slot, "h1", "s3", "2026-03-10"); r != 0 {
		t.Fatalf("remaining before the sweep %d", r)
	}
	f.clock.Advance(2 * time.Minute)
	r, err := f.svc.SweepOnce(f.ctx)
	if err != nil || r.Released != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if n := f.count("appt_seats", bson.M{"appointment_id": a.ID}) + f.count("appt_daylocks", bson.M{"appointment_id": a.ID}); n != 0 {
		t.Fatalf("%d arbiters left", n)
	}
	if r := f.remainingOf(slot, "h1", "s3", "2026-03-10"); r != 1 {
		t.Fatalf("remaining after the sweep %d", r)
	}
	f.mustBook(citizen(3), slot, "s3")
	if r, _ := f.svc.SweepOnce(f.ctx); r.Released != 0 {
		t.Fatalf("second sweep released %d", r.Released)
	}
}

func TestLostSeatNumbersComeBack(t *testing.T) {
	f := newFixture(t)
	f.mustBook(citizen(1), raceSlot, "s1")
	cat, _ := f.svc.cat.get(f.ctx)
	sl, _, _ := cat.lookupSlot(raceSlot)
	// a release that met a missing pool: number 7 is in neither set
	if err := f.rdb.ZRem(f.ctx, f.svc.pool.keys(sl)[1], "7").Err(); err != nil {
		t.Fatal(err)
	}
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 18 {
		t.Fatalf("remaining %d", r)
	}
	r, err := f.svc.SweepOnce(f.ctx)
	if err != nil || r.SeatsReturn != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 19 {
		t.Fatalf("remaining after reconcile %d", r)
	}
}

func TestUnconfirmedLeasesExpire(t *testing.T) {
	f := newFixture(t)
	const slot = "sc2.20260310.0900"
	cat, _ := f.svc.cat.get(f.ctx)
	sl, _, _ := cat.lookupSlot(slot)
	// a process takes both seat leases and dies
	for range 2 {
		if _, err := f.svc.takeToken(f.ctx, sl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.book(citizen(1), slot, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("while leased: %v", err)
	}
	f.clock.Advance(31 * time.Second)
	f.mustBook(citizen(1), slot, "s3")
	f.mustBook(citizen(2), slot, "s3")
	if _, err := f.book(citizen(3), slot, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("third: %v", err)
	}
}

// TestRepeatedReleaseDoesNotReturnATakenSeat: a cancellation interrupted
// after its decision leaves its seat document; a booking then takes that
// seat over (its holder is cancelled). When the sweeper finishes the
// release, the seat is someone else's: its number must not go back to the
// pool, or availability shows a seat that is not free.
func TestRepeatedReleaseDoesNotReturnATakenSeat(t *testing.T) {
	f := newFixture(t)
	const slot = "sc2.20260310.0900"
	a := f.mustBook(citizen(1), slot, "s3")
	f.mustBook(citizen(2), slot, "s3")
	if _, err := f.db.Collection("appointments").UpdateOne(f.ctx, bson.M{"_id": a.ID},
		bson.M{"$set": bson.M{"status": StatusCancelled, "cancelled_at": t0, "released": false}}); err != nil {
		t.Fatal(err)
	}
	cat, _ := f.svc.cat.get(f.ctx)
	sl, _, _ := cat.lookupSlot(slot)
	if err := f.rdb.Del(f.ctx, f.svc.pool.keys(sl)...).Err(); err != nil { // Redis lost the pool
		t.Fatal(err)
	}
	taker := f.mustBook(citizen(3), slot, "s3") // the rebuilt pool offers the cancelled seat
	if r := f.remainingOf(slot, "h1", "s3", "2026-03-10"); r != 0 {
		t.Fatalf("remaining %d before the sweep", r)
	}
	f.clock.Advance(2 * time.Minute)
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.Released != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if r := f.remainingOf(slot, "h1", "s3", "2026-03-10"); r != 0 {
		t.Fatalf("remaining %d after the sweep finished a release whose seat %s holds", r, taker.ID)
	}
}
