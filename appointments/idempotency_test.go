package appointments

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"banshi/internal/platform/platformtest"
)

func (f *fixture) bookKey(who Citizen, slot, service, key string) (Appointment, error) {
	return f.svc.Book(f.ctx, who, BookRequest{SlotID: slot, ServiceID: service}, key)
}

func TestIdempotencyReplaysTheFirstAnswer(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	first, err := f.bookKey(u, raceSlot, "s1", "key-1")
	if err != nil {
		t.Fatal(err)
	}
	before := f.state()
	again, err := f.bookKey(u, raceSlot, "s1", "key-1")
	if err != nil || again.ID != first.ID || again.CheckinCode != first.CheckinCode || again.Status != StatusBooked {
		t.Fatalf("replay %+v %v", again, err)
	}
	f.sameState(before)
	if _, err := f.bookKey(u, "sc1.20260310.1000", "s1", "key-1"); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("other body: %v", err)
	}
	if _, err := f.bookKey(citizen(2), raceSlot, "s1", "key-1"); err != nil {
		t.Fatalf("keys are per citizen: %v", err)
	}
	if _, err := f.svc.Cancel(f.ctx, u.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	replay, err := f.bookKey(u, raceSlot, "s1", "key-1")
	if err != nil || replay.ID != first.ID || replay.Status != StatusBooked || replay.CancelledAt != nil {
		t.Fatalf("replay after cancel must be the first answer: %+v %v", replay, err)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "has space", "ключ"} {
		before := f.state()
		if _, err := f.bookKey(u, raceSlot, "s1", bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("key %q: %v", bad, err)
		}
		f.sameState(before)
	}
}

// TestIdempotencyReplaysErrors: a refusal MongoDB decided is the key's
// answer for good; a slot_full from the Redis seat pool is not (the pool may
// be stale), so a retry under that key is evaluated again.
func TestIdempotencyReplaysErrors(t *testing.T) {
	f := newFixture(t)
	const slot = "sc2.20260310.0900"
	a := f.mustBook(citizen(1), slot, "s3")
	f.mustBook(citizen(2), slot, "s3")
	u := citizen(3)
	f.mustBook(u, "sc1.20260310.0900", "s1")
	dup, err := f.bookKey(u, "sc1.20260310.1000", "s1", "k-dup")
	if !errors.Is(err, ErrDuplicateBooking) {
		t.Fatalf("first: %+v %v", dup, err)
	}
	if _, err := f.bookKey(u, slot, "s3", "k-full"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("first: %v", err)
	}
	if _, err := f.svc.Cancel(f.ctx, citizen(1).ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bookKey(u, "sc1.20260310.1000", "s1", "k-dup"); !errors.Is(err, ErrDuplicateBooking) {
		t.Fatalf("replay: %v, want the first answer ErrDuplicateBooking", err)
	}
	if _, err := f.bookKey(u, slot, "s3", "k-full"); err != nil {
		t.Fatalf("retry after the pool's refusal: %v, want a booking (the seat is free now)", err)
	}
	if _, err := f.bookKey(citizen(4), slot, "s3", "k-new"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("new key on the full slot: %v", err)
	}
}

func TestIdempotencyConcurrentSameKey(t *testing.T) {
	f := newFixture(t)
	u := citizen(1)
	ids := make(chan string, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.bookKey(u, raceSlot, "s1", "same")
			if err != nil {
				t.Errorf("book: %v", err)
				return
			}
			ids <- a.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]int{}
	for id := range ids {
		seen[id]++
	}
	if len(seen) != 1 {
		t.Fatalf("answers %v", seen)
	}
	if n, s := f.booked(raceSlot); n != 1 || s != 1 {
		t.Fatalf("%d appointments %d seats", n, s)
	}
}

func TestIdempotencySurvivesRedisLoss(t *testing.T) {
	m, rdb := platformtest.MiniRedis(t)
	f := newFixture(t, withRedis(rdb))
	const slot = "sc2.20260310.0900"
	u := citizen(1)
	first, err := f.bookKey(u, slot, "s3", "k1")
	if err != nil {
		t.Fatal(err)
	}
	f.mustBook(citizen(2), slot, "s3") // now full
	// a failure recorded in MongoDB: duplicate booking found after the seat lease
	other := f.mustBook(citizen(3), "sc1.20260311.0900", "s1")
	if _, err := f.bookKey(citizen(3), "sc1.20260311.1000", "s1", "k3"); !errors.Is(err, ErrDuplicateBooking) {
		t.Fatalf("duplicate: %v", err)
	}
	m.FlushAll()
	again, err := f.bookKey(u, slot, "s3", "k1")
	if err != nil || again.ID != first.ID {
		t.Fatalf("after FLUSHALL the full slot must still replay the success: %+v %v", again, err)
	}
	if _, err := f.svc.Cancel(f.ctx, citizen(3).ID, other.ID); err != nil {
		t.Fatal(err)
	}
	m.FlushAll()
	if _, err := f.bookKey(citizen(3), "sc1.20260311.1000", "s1", "k3"); !errors.Is(err, ErrDuplicateBooking) {
		t.Fatalf("after FLUSHALL the recorded error must replay: %v", err)
	}
	if _, err := f.bookKey(u, "sc1.20260312.0900", "s1", "k1"); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("mismatch after FLUSHALL: %v", err)
	}
}

func TestRedisDownFallsBackToMongoDB(t *testing.T) {
	m, rdb := platformtest.MiniRedis(t)
	f := newFixture(t, withRedis(rdb))
	keep := f.mustBook(citizen(0), raceSlot, "s1") // built the pool
	m.Close()
	res := FlashCrowd(f.ctx, f.svc, raceSlot, "s1", citizens(60)[1:])
	if res.Booked != 19 || res.Full != 40 || len(res.Errors) != 0 {
		t.Fatalf("booked %d full %d other %v", res.Booked, res.Full, res.Errors)
	}
	if n, s := f.booked(raceSlot); n != 20 || s != 20 {
		t.Fatalf("%d appointments %d seats", n, s)
	}
	if r := f.remainingOf(raceSlot, "h1", "s1", "2026-03-10"); r != 0 {
		t.Fatalf("remaining %d", r)
	}
	if _, err := f.svc.Cancel(f.ctx, citizen(0).ID, keep.ID); err != nil {
		t.Fatal(err)
	}
	first, err := f.bookKey(citizen(100), raceSlot, "s1", "down-key")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.bookKey(citizen(100), raceSlot, "s1", "down-key")
	if err != nil || again.ID != first.ID {
		t.Fatalf("replay with Redis down: %+v %v", again, err)
	}
}

// TestRetryAfterTheRedisAnswerIsLost: Redis can lose one key (a failed
// write, eviction, failover) and keep everything else. A retry under the
// key must then be answered from MongoDB's record, not from the seat pool.
func TestRetryAfterTheRedisAnswerIsLost(t *testing.T) {
	f := newFixture(t)
	const slot = "sc2.20260310.0900"
	u := citizen(1)
	req := BookRequest{SlotID: slot, ServiceID: "s3"}
	first, err := f.bookKey(u, slot, "s3", "k-lost")
	if err != nil {
		t.Fatal(err)
	}
	f.mustBook(citizen(2), slot, "s3") // now full
	if err := f.rdb.Del(f.ctx, f.svc.idemRedisKey(newIdemKey(u.ID, "k-lost", req))).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second retry meets whatever the first one stored
		again, err := f.bookKey(u, slot, "s3", "k-lost")
		if err != nil || again.ID != first.ID {
			t.Fatalf("retry %d after the Redis answer was lost: %+v %v, want %s", i, again, err, first.ID)
		}
	}
	if n, s := f.booked(slot); n != 2 || s != 2 {
		t.Fatalf("%d appointments %d seats", n, s)
	}
}
