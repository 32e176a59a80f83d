package appointments

import (
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// setCapacity changes schedule id's capacity as an admin does.
func (f *fixture) setCapacity(id string, capacity int) error {
	f.t.Helper()
	var sc Schedule
	if err := f.svc.schedules.FindOne(f.ctx, bson.M{"_id": id}).Decode(&sc); err != nil {
		f.t.Fatal(err)
	}
	sc.Capacity = capacity
	_, err := f.svc.UpdateSchedule(f.ctx, sc)
	return err
}

// TestCapacityBackToAnEarlierValue: 2 → 3 → 2 must not bring back the seat
// pool built while the capacity was 2 the first time: a seat freed since is
// free.
func TestCapacityBackToAnEarlierValue(t *testing.T) {
	f := newFixture(t)
	a := f.mustBook(citizen(1), twoSeats, "s3")
	f.mustBook(citizen(2), twoSeats, "s3")
	if _, err := f.book(citizen(3), twoSeats, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("full at 2: %v", err)
	}
	if err := f.setCapacity("sc2", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Cancel(f.ctx, citizen(1).ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.setCapacity("sc2", 2); err != nil {
		t.Fatalf("lowering to 2 with seat 1 held: %v", err)
	}
	if r := f.remainingOf(twoSeats, "h1", "s3", "2026-03-10"); r != 1 {
		t.Errorf("remaining %d, want 1 (seat 0 was freed)", r)
	}
	if _, err := f.bookKey(citizen(3), twoSeats, "s3", "k-back"); err != nil {
		t.Fatalf("booking the free seat: %v", err)
	}
	if _, err := f.book(citizen(4), twoSeats, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("full again: %v", err)
	}
	if n, s := f.booked(twoSeats); n != 2 || s != 2 {
		t.Fatalf("%d appointments %d seats", n, s)
	}
}

// TestFastPathRefusalIsNotAKeysFinalAnswer: a seat pool that lost a number
// refuses a booking the seats in MongoDB allow; under an Idempotency-Key
// that refusal must not be replayed once the pool is repaired.
func TestFastPathRefusalIsNotAKeysFinalAnswer(t *testing.T) {
	f := newFixture(t)
	f.mustBook(citizen(1), twoSeats, "s3")
	cat, _ := f.svc.cat.get(f.ctx)
	sl, _, _ := cat.lookupSlot(twoSeats)
	// a release that met a missing pool: number 1 is in neither set
	if err := f.rdb.ZRem(f.ctx, f.svc.pool.keys(sl)[1], "1").Err(); err != nil {
		t.Fatal(err)
	}
	u := citizen(2)
	if _, err := f.bookKey(u, twoSeats, "s3", "k-fast"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("with the number lost: %v (the pool is expected to refuse)", err)
	}
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.SeatsReturn != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if _, err := f.bookKey(u, twoSeats, "s3", "k-fast"); err != nil {
		t.Fatalf("retry under the key once the pool is repaired: %v", err)
	}
}
