package appointments

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// withMetrics counts the fixture's service on a fresh registry.
func withMetrics(m *Metrics) fixtureOpt {
	return func(_ *fixture, d *Deps) { d.Metrics = m }
}

// metricsFixture is a fixture whose service counts on a registry of its own.
func metricsFixture(t *testing.T) (*fixture, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	return newFixture(t, withMetrics(m)), m
}

// TestMetricsBookingCountedOnce: a booking is counted once when its
// appointment is stored; the same Idempotency-Key again (in turn or twenty at
// once) replays the answer and counts nothing; a refusal stored as a key's
// answer is counted once however often it is replayed; a refusal of the
// pool counts under its code; invalid input counts nothing and changes
// nothing.
func TestMetricsBookingCountedOnce(t *testing.T) {
	f, m := metricsFixture(t)
	booked := func() float64 { return testutil.ToFloat64(m.bookings.WithLabelValues("h1", OutcomeBooked)) }
	u := citizen(1)
	for range 3 {
		if _, err := f.bookKey(u, raceSlot, "s1", "k-1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := booked(); got != 1 {
		t.Fatalf("one booking asked three times under one key: booked_total %v, want 1", got)
	}

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.bookKey(citizen(2), raceSlot, "s1", "same"); err != nil {
				t.Errorf("book: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := booked(); got != 2 {
		t.Fatalf("twenty concurrent requests under one key: booked_total %v, want 2", got)
	}

	// A duplicate booking is refused and the refusal is the key's answer.
	dup := func() float64 { return testutil.ToFloat64(m.bookings.WithLabelValues("h1", ErrDuplicateBooking.Code)) }
	for range 3 {
		if _, err := f.bookKey(u, "sc1.20260310.1000", "s1", "k-dup"); !errors.Is(err, ErrDuplicateBooking) {
			t.Fatalf("duplicate: %v", err)
		}
	}
	if got := dup(); got != 1 {
		t.Fatalf("one refusal replayed twice: %v, want 1", got)
	}

	// A full slot (two seats) refuses a third citizen under slot_full.
	const small = "sc2.20260310.0900"
	f.mustBook(citizen(3), small, "s3")
	f.mustBook(citizen(4), small, "s3")
	if _, err := f.book(citizen(5), small, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("full: %v", err)
	}
	if got := testutil.ToFloat64(m.bookings.WithLabelValues("h1", ErrSlotFull.Code)); got != 1 {
		t.Fatalf("slot_full %v, want 1", got)
	}
	if got := booked(); got != 4 {
		t.Fatalf("booked_total %v, want 4", got)
	}

	// Invalid input: nothing counted, nothing changed.
	before, series := f.state(), testutil.CollectAndCount(m.bookings)
	for _, req := range []BookRequest{{SlotID: "", ServiceID: "s1"}, {SlotID: "bad", ServiceID: "s1"}, {SlotID: raceSlot, ServiceID: ""}} {
		if _, err := f.svc.Book(f.ctx, citizen(6), req, ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	if _, err := f.svc.Book(f.ctx, citizen(6), BookRequest{SlotID: raceSlot, ServiceID: "s1"}, "has space"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad key: %v", err)
	}
	f.sameState(before)
	if got := testutil.CollectAndCount(m.bookings); got != series {
		t.Fatalf("invalid requests added series: %d, want %d", got, series)
	}
	if got := booked(); got != 4 {
		t.Fatalf("after invalid requests booked_total %v, want 4", got)
	}
}

// TestMetricsRacesCountOnce: ten goroutines cancel the same booking, ten
// check the same one in, a sweep runs twice and staff mark a no-show twice:
// each state change is counted by the one writer that won it.
func TestMetricsRacesCountOnce(t *testing.T) {
	f, m := metricsFixture(t)
	race := func(n int, fn func() error) (wins int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if fn() == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return wins
	}
	c := f.mustBook(citizen(1), "sc1.20260311.1000", "s1")
	if w := race(10, func() error { _, err := f.svc.Cancel(f.ctx, citizen(1).ID, c.ID); return err }); w != 1 {
		t.Fatalf("%d cancellations won", w)
	}
	if got := testutil.ToFloat64(m.cancellations.WithLabelValues("h1", CancelledByCitizen)); got != 1 {
		t.Fatalf("cancellations %v, want 1", got)
	}
	s := f.mustBook(citizen(2), "sc1.20260311.1000", "s1")
	if _, err := f.svc.CancelByStaff(f.ctx, h1Staff, s.ID, "设备故障"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CancelByStaff(f.ctx, h1Staff, s.ID, "设备故障"); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("again: %v", err)
	}
	if got := testutil.ToFloat64(m.cancellations.WithLabelValues("h1", CancelledByStaff)); got != 1 {
		t.Fatalf("staff cancellations %v, want 1", got)
	}

	a := f.mustBook(citizen(3), "sc1.20260310.1000", "s1")
	missed := f.mustBook(citizen(4), "sc1.20260310.0900", "s1")
	marked := f.mustBook(citizen(5), "sc1.20260310.0900", "s2")
	f.clock.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, t0.Location()))
	if w := race(10, func() error { _, err := f.svc.CheckIn(f.ctx, h1Staff, a.CheckinQR); return err }); w != 1 {
		t.Fatalf("%d check-ins won", w)
	}
	if got := testutil.ToFloat64(m.checkins.WithLabelValues("h1")); got != 1 {
		t.Fatalf("checkins %v, want 1", got)
	}
	if w := race(5, func() error { _, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "1"); return err }); w != 1 {
		t.Fatalf("%d calls won with one citizen waiting", w)
	}
	if _, err := f.svc.Recall(f.ctx, h1Staff, "h1", a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("h1", CallFirst)); got != 1 {
		t.Fatalf("calls %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("h1", CallRecall)); got != 1 {
		t.Fatalf("recalls %v, want 1", got)
	}

	// 10:00 the slot ended: staff mark one (twice); the sweep, 30 minutes
	// later, the other (run twice, from two goroutines).
	f.clock.Set(time.Date(2026, 3, 10, 10, 5, 0, 0, t0.Location()))
	for range 2 {
		if _, err := f.svc.MarkNoShow(f.ctx, h1Staff, marked.ID); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(time.Date(2026, 3, 10, 10, 31, 0, 0, t0.Location()))
	race(2, func() error { _, err := f.svc.SweepOnce(f.ctx); return err })
	if _, err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.noShows.WithLabelValues("h1", NoShowByStaff)); got != 1 {
		t.Fatalf("staff no-shows %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.noShows.WithLabelValues("h1", NoShowBySweep)); got != 1 {
		t.Fatalf("swept no-shows %v, want 1 (%s)", got, missed.ID)
	}
}

// TestMetricsNilRecordsNothing: a service without Metrics books as before.
func TestMetricsNilRecordsNothing(t *testing.T) {
	f := newFixture(t)
	var m *Metrics
	m.booked("h1")
	m.refused("h1", ErrSlotFull)
	f.mustBook(citizen(1), raceSlot, "s1")
}
