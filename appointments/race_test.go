package appointments

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform/platformtest"
)

const raceSlot = "sc1.20260310.0900" // Tuesday, 20 seats

func TestFiveHundredRaceForTwentySeats(t *testing.T) {
	f := newFixture(t)
	res := FlashCrowd(f.ctx, f.svc, raceSlot, "s1", citizens(500))
	if res.Booked != 20 || res.Full != 480 || len(res.Errors) != 0 {
		t.Fatalf("booked %d, full %d, other %v; want 20, 480, none", res.Booked, res.Full, res.Errors)
	}
	if a, s := f.booked(raceSlot); a != 20 || s != 20 {
		t.Fatalf("MongoDB has %d appointments and %d seats, want 20 and 20", a, s)
	}
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 0 {
		t.Fatalf("remaining %d, want 0", r)
	}
	seen := map[string]bool{}
	for _, id := range res.IDs {
		_, err := f.svc.Get(f.ctx, "", id)
		if err == nil || !errors.Is(err, ErrNotFound) {
			t.Fatalf("another citizen must not see %s: %v", id, err)
		}
		seen[id] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d distinct appointments", len(seen))
	}
}

func TestOnePersonFiftyConcurrentBookings(t *testing.T) {
	f := newFixture(t)
	who := citizen(1)
	var ok, dup, full atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.book(who, raceSlot, "s1")
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrDuplicateBooking):
				dup.Add(1)
			case errors.Is(err, ErrSlotFull):
				full.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || ok.Load()+dup.Load()+full.Load() != 50 {
		t.Fatalf("ok %d dup %d full %d", ok.Load(), dup.Load(), full.Load())
	}
	if a, s := f.booked(raceSlot); a != 1 || s != 1 {
		t.Fatalf("appointments %d seats %d, want 1 and 1", a, s)
	}
	// every other seat went back to the pool
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 19 {
		t.Fatalf("remaining %d, want 19", r)
	}
}

func TestOnePersonFiftyConcurrentDifferentBookingsHitsTheLimit(t *testing.T) {
	f := newFixture(t)
	who := citizen(1)
	dates := []string{"20260310", "20260311", "20260312", "20260313", "20260316", "20260317", "20260318"}
	var ok, limit atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := []string{"s1", "s2"}[i%2]
			slot := "sc1." + dates[(i/2)%len(dates)] + []string{".0900", ".1000", ".1100", ".1330"}[i/14%4]
			_, err := f.book(who, slot, svc)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBookingLimit), errors.Is(err, ErrDuplicateBooking):
				limit.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 3 {
		t.Fatalf("%d bookings, want exactly 3", ok.Load())
	}
	if n := f.count("appointments", bson.M{"user_id": who.ID, "status": StatusBooked}); n != 3 {
		t.Fatalf("%d booked in MongoDB", n)
	}
	if n := f.count("appt_seats", nil); n != 3 {
		t.Fatalf("%d seats held, want 3", n)
	}
}

func TestTwoProcessesRaceExactly(t *testing.T) {
	f := newFixture(t)
	other := f.another()
	users := citizens(400)
	var a, b FlashCrowdResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = FlashCrowd(f.ctx, f.svc, raceSlot, "s1", users[:200]) }()
	go func() { defer wg.Done(); b = FlashCrowd(f.ctx, other, raceSlot, "s1", users[200:]) }()
	wg.Wait()
	if a.Booked+b.Booked != 20 || a.Full+b.Full != 380 || len(a.Errors)+len(b.Errors) != 0 {
		t.Fatalf("process A %d/%d %v, B %d/%d %v", a.Booked, a.Full, a.Errors, b.Booked, b.Full, b.Errors)
	}
	if n, s := f.booked(raceSlot); n != 20 || s != 20 {
		t.Fatalf("appointments %d seats %d", n, s)
	}
}

func TestFlushAllMidRaceNeverOverbooks(t *testing.T) {
	m, rdb := platformtest.MiniRedis(t)
	f := newFixture(t, withRedis(rdb))
	other := f.another()
	users := citizens(300)
	var flushes atomic.Int32
	var wg sync.WaitGroup
	var booked atomic.Int32
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := f.svc
			if i%2 == 1 {
				svc = other
			}
			_, err := svc.Book(f.ctx, u, BookRequest{SlotID: raceSlot, ServiceID: "s1"}, "")
			switch {
			case err == nil:
				if booked.Add(1)%5 == 0 {
					m.FlushAll() // Redis loses everything, several times, mid-race
					flushes.Add(1)
				}
			case errors.Is(err, ErrSlotFull):
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if booked.Load() != 20 {
		t.Fatalf("%d booked, want exactly 20 (flushes: %d)", booked.Load(), flushes.Load())
	}
	if n, s := f.booked(raceSlot); n != 20 || s != 20 {
		t.Fatalf("appointments %d seats %d", n, s)
	}
	m.FlushAll()
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 0 {
		t.Fatalf("remaining after rebuild %d, want 0", r)
	}
	if _, err := f.book(citizen(999), raceSlot, "s1"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("after rebuild: %v, want ErrSlotFull", err)
	}
}

func TestCancelRebookRaces(t *testing.T) {
	f := newFixture(t)
	const slot = "sc2.20260310.0900" // 2 seats
	a := f.mustBook(citizen(1), slot, "s3")
	f.mustBook(citizen(2), slot, "s3")
	if _, err := f.book(citizen(3), slot, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("third: %v", err)
	}
	// a cancelled seat is free at once
	if _, err := f.svc.Cancel(f.ctx, citizen(1).ID, a.ID); err != nil {
		t.Fatal(err)
	}
	f.mustBook(citizen(3), slot, "s3")

	// rounds: one holder cancels while ten others and the holder rebook
	next := 100
	for round := range 15 {
		var holders []Appointment
		all, _ := f.svc.ListForStaff(f.ctx, StaffActor{ID: "x", Role: RoleAdmin}, StaffListQuery{HallID: "h1", Date: "2026-03-10", Status: StatusBooked})
		for _, it := range all.Items {
			h, err := f.svc.Get(f.ctx, it.UserID, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			holders = append(holders, h)
		}
		if len(holders) == 0 {
			t.Fatalf("round %d: nobody holds a seat", round)
		}
		victim := holders[round%len(holders)]
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Cancel(f.ctx, ownerOf(t, f, victim.ID), victim.ID); err != nil {
				t.Errorf("cancel: %v", err)
			}
		}()
		wg.Add(1)
		go func() { // the canceller changes their mind at once
			defer wg.Done()
			_, _ = f.book(Citizen{ID: ownerOf(t, f, victim.ID), RealnameLevel: 3}, slot, "s3")
		}()
		for range 10 {
			next++
			u := citizen(next)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.book(u, slot, "s3"); err != nil && !errors.Is(err, ErrSlotFull) && !errors.Is(err, ErrDuplicateBooking) {
					t.Errorf("book: %v", err)
				}
			}()
		}
		wg.Wait()
		n, s := f.booked(slot)
		if n > 2 || n != s {
			t.Fatalf("round %d: %d booked, %d seats (capacity 2)", round, n, s)
		}
		if r := f.remainingOf(slot, "h1", "s3", "2026-03-10"); r != 2-n {
			t.Fatalf("round %d: remaining %d with %d booked", round, r, n)
		}
		if n < 2 { // the freed seat must be bookable right away
			f.mustBook(citizen(5000+round), slot, "s3")
		}
	}
}

func ownerOf(t *testing.T, f *fixture, id string) string {
	var d apptDoc
	if err := f.db.Collection("appointments").FindOne(f.ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d.UserID
}

// TestLoweringCapacityRacesBookings: an admin lowering a schedule's capacity
// while a crowd books either is refused (seats above it were taken) or wins,
// and in both cases the slot ends with no more bookings than its capacity.
func TestLoweringCapacityRacesBookings(t *testing.T) {
	for round := range 4 {
		f := newFixture(t)
		var sc Schedule
		if err := f.svc.schedules.FindOne(f.ctx, bson.M{"_id": "sc1"}).Decode(&sc); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var booked atomic.Int32
		var adminErr error
		start := make(chan struct{})
		for _, c := range citizens(60) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := f.svc.Book(f.ctx, c, BookRequest{SlotID: raceSlot, ServiceID: "s1"}, ""); err == nil {
					booked.Add(1)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			lowered := sc
			lowered.Capacity = 5 + round
			_, adminErr = f.svc.UpdateSchedule(f.ctx, lowered)
		}()
		close(start)
		wg.Wait()
		var now Schedule
		if err := f.svc.schedules.FindOne(f.ctx, bson.M{"_id": "sc1"}).Decode(&now); err != nil {
			t.Fatal(err)
		}
		if adminErr != nil && !errors.Is(adminErr, ErrCapacityInUse) {
			t.Fatalf("admin: %v", adminErr)
		}
		a, s := f.booked(raceSlot)
		if a > now.Capacity || s > now.Capacity || int(booked.Load()) != a {
			t.Fatalf("round %d: capacity %d (admin err %v) but %d appointments, %d seats, %d successes",
				round, now.Capacity, adminErr, a, s, booked.Load())
		}
		if adminErr == nil && now.Capacity != 5+round {
			t.Fatalf("admin change accepted but capacity is %d", now.Capacity)
		}
	}
}

// TestRebuildOutlivesItsCaller: the booking that starts a seat-pool
// rebuild is cancelled (its client gave up) as the rebuild begins; the
// rebuild is shared by every booking waiting on it, so it still completes,
// and the next booking takes a seat from the rebuilt pool.
func TestRebuildOutlivesItsCaller(t *testing.T) {
	m, rdb := platformtest.MiniRedis(t)
	f := newFixture(t, withRedis(rdb))
	f.mustBook(citizen(1), raceSlot, "s1")
	m.FlushAll()
	cat, err := f.svc.cat.get(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sl, found, _ := cat.lookupSlot(raceSlot)
	if !found {
		t.Fatal("race slot not found")
	}
	gone, cancel := context.WithCancel(f.ctx)
	cancel()
	if err := f.svc.rebuild(gone, []slotDef{sl}); err != nil {
		t.Fatalf("rebuild under a cancelled caller: %v", err)
	}
	free, built, err := f.svc.pool.counts(f.ctx, []slotDef{sl})
	if err != nil || !built[0] || free[0] != sl.Capacity-1 {
		t.Fatalf("pool after rebuild: free %v built %v err %v, want %d free", free, built, err, sl.Capacity-1)
	}
}
