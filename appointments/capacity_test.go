package appointments

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"banshi/internal/platform/platformtest"
	"banshi/notify"
)

// pauser is a command monitor that stops a client's n-th write to a
// collection before it is sent, until released.
type pauser struct {
	coll    string
	n       int32
	writes  atomic.Int32
	paused  chan struct{} // closed when the n-th write is stopped
	release chan struct{}
}

func newPauser(coll string, n int) *pauser {
	return &pauser{coll: coll, n: int32(n), paused: make(chan struct{}), release: make(chan struct{})}
}

func (p *pauser) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName != "update" && e.CommandName != "findAndModify" {
			return
		}
		if c, ok := e.Command.Lookup(e.CommandName).StringValueOK(); !ok || c != p.coll {
			return
		}
		if p.writes.Add(1) == p.n {
			close(p.paused)
			<-p.release
		}
	}}
}

// process returns another Service ("process") on the fixture's database
// (which must be on the fault-injection MongoDB) whose client reports to mon.
func (f *fixture) process(mon *event.CommandMonitor) *Service {
	f.t.Helper()
	db := faultClient(f.t, nil, mon).Database(f.db.Name())
	svc, err := NewService(Deps{DB: db, Redis: f.rdb, RedisPrefix: f.prefix, Clock: f.clock,
		Log: platformtest.Logger(), Notifier: notify.NewInbox(db, f.clock), People: f.people,
		CheckinKey: []byte("test-checkin-key-0123456789")})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

func (f *fixture) schedule(id string) Schedule {
	f.t.Helper()
	var sc Schedule
	if err := f.svc.schedules.FindOne(f.ctx, bson.M{"_id": id}).Decode(&sc); err != nil {
		f.t.Fatal(err)
	}
	return sc
}

// TestTwoAdminsLoweringOneCapacity: admin A lowers 20 → 5 and is refused
// (seats 0..14 are held); admin B lowers 20 → 10 while A's refusal is under
// way. B must be compared with the capacity before either, 20, and refused
// too: the schedule stays at 20. The interleaving is forced: A is stopped
// before its second write of the schedule (undoing or ending its change),
// and B runs meanwhile as far as it can.
func TestTwoAdminsLoweringOneCapacity(t *testing.T) {
	f := newFixture(t, withFaultDB(newFaultNet()))
	for i := range 15 {
		f.mustBook(citizen(i), raceSlot, "s1")
	}
	pa, pb := newPauser("appt_schedules", 2), newPauser("appt_schedules", 1)
	adminA, adminB := f.process(pa.monitor()), f.process(pb.monitor())
	sc := f.schedule("sc1")
	lower := func(svc *Service, capacity int, out *error, done chan<- struct{}) {
		v := sc
		v.Capacity = capacity
		_, *out = svc.UpdateSchedule(f.ctx, v)
		close(done)
	}
	var errA, errB error
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go lower(adminA, 5, &errA, doneA)
	select {
	case <-pa.paused:
	case <-doneA:
		t.Fatalf("admin A finished with one write: %v", errA)
	}
	go lower(adminB, 10, &errB, doneB)
	select { // B goes as far as it may while A is stopped
	case <-pb.paused:
	case <-doneB:
	case <-time.After(500 * time.Millisecond):
	}
	close(pa.release)
	<-doneA
	close(pb.release)
	<-doneB
	if !errors.Is(errA, ErrCapacityInUse) {
		t.Errorf("admin A (20 → 5 over seats 0..14): %v, want ErrCapacityInUse", errA)
	}
	if !errors.Is(errB, ErrCapacityInUse) {
		t.Errorf("admin B (20 → 10 over seats 0..14): %v, want ErrCapacityInUse", errB)
	}
	if got := f.schedule("sc1").Capacity; got != 20 {
		t.Fatalf("capacity %d with seats 0..14 held, want 20", got)
	}
}

// TestAdminsAndBookingsRaceOnOneCapacity: two admins in two processes keep
// lowering and raising one schedule's capacity while a crowd books and
// cancels; whatever wins, no slot ever holds a seat at or above the
// capacity MongoDB has, and booked appointments never exceed it.
func TestAdminsAndBookingsRaceOnOneCapacity(t *testing.T) {
	f := newFixture(t)
	other := f.another()
	sc := f.schedule("sc1")
	for round := range 3 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range citizens(40) {
			c.ID = c.ID + "r" + string(rune('a'+round))
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				svc := []*Service{f.svc, other}[i%2]
				a, err := svc.Book(f.ctx, c, BookRequest{SlotID: raceSlot, ServiceID: "s1"}, "")
				if err == nil && i%4 == 0 {
					if _, err := svc.Cancel(f.ctx, c.ID, a.ID); err != nil {
						t.Errorf("cancel: %v", err)
					}
				}
			}()
		}
		for i, capacity := range []int{6, 25, 9, 14, 30, 4} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				v := sc
				v.Capacity = capacity
				svc := []*Service{f.svc, other}[i%2]
				if _, err := svc.UpdateSchedule(f.ctx, v); err != nil && !errors.Is(err, ErrCapacityInUse) {
					t.Errorf("capacity %d: %v", capacity, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		capacity := f.schedule("sc1").Capacity
		if n := f.count("appt_seats", bson.M{"slot_id": raceSlot, "n": bson.M{"$gte": capacity}}); n != 0 {
			t.Fatalf("round %d: capacity %d, %d seats at or above it", round, capacity, n)
		}
		if n, s := f.booked(raceSlot); n > capacity || n != s {
			t.Fatalf("round %d: capacity %d, %d booked, %d seats", round, capacity, n, s)
		}
	}
}

// TestImportCannotLowerACapacityInUse: the catalog import goes through the
// same check as UpdateSchedule: lowering a capacity below booked seats is
// refused with 409 capacity_in_use, and nothing of the import is written.
func TestImportCannotLowerACapacityInUse(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		f.mustBook(citizen(i), raceSlot, "s1")
	}
	in := testCatalog()
	in.Halls = append(in.Halls, Hall{ID: "h9", Name: "九号大厅", OpeningHours: in.Halls[0].OpeningHours})
	in.Schedules[0].Capacity = 2 // sc1: seats 0, 1 and 2 are booked
	before := f.state()
	_, err := f.svc.Import(f.ctx, in)
	if !errors.Is(err, ErrCapacityInUse) {
		t.Fatalf("import lowering sc1 to 2 over 3 bookings: %v, want ErrCapacityInUse", err)
	}
	f.sameState(before)
	if got := f.schedule("sc1").Capacity; got != 20 {
		t.Fatalf("capacity %d after the refused import", got)
	}
	in.Schedules[0].Capacity = 3 // seats 0..2 fit
	if _, err := f.svc.Import(f.ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := f.schedule("sc1").Capacity; got != 3 {
		t.Fatalf("capacity %d after the import", got)
	}
	if _, err := f.book(citizen(10), raceSlot, "s1"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("a fourth booking at capacity 3: %v", err)
	}
}

// TestDeadWritersGateGoesStale: a writer that died holding a schedule's gate
// limits bookings to the capacity it was trying until the gate is stale;
// then the sweeper removes it, or the next writer takes it over.
func TestDeadWritersGateGoesStale(t *testing.T) {
	f := newFixture(t)
	dead := bson.M{"$set": bson.M{"change_token": "dead", "change_to": 1, "change_at": f.clock.Now()}}
	if _, err := f.svc.schedules.UpdateOne(f.ctx, bson.M{"_id": "sc2"}, dead); err != nil {
		t.Fatal(err)
	}
	f.mustBook(citizen(1), twoSeats, "s3") // seat 0
	if _, err := f.book(citizen(2), twoSeats, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("seat 1 while a capacity of 1 is being tried: %v", err)
	}
	f.clock.Advance(gateStale + time.Second)
	if _, err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.mustBook(citizen(2), twoSeats, "s3")
	if n := f.count("appt_schedules", bson.M{"change_token": bson.M{"$exists": true}}); n != 0 {
		t.Fatalf("%d gates left", n)
	}
	// A writer takes a stale gate over.
	if _, err := f.svc.schedules.UpdateOne(f.ctx, bson.M{"_id": "sc2"}, dead); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(gateStale + time.Second)
	if err := f.setCapacity("sc2", 3); err != nil {
		t.Fatalf("taking over a stale gate: %v", err)
	}
	if sc := f.schedule("sc2"); sc.Capacity != 3 {
		t.Fatalf("capacity %d", sc.Capacity)
	}
	f.mustBook(citizen(3), twoSeats, "s3")
}

// TestRecreatedScheduleKeepsItsBookingsSeats: bookings of a deleted
// schedule keep their seats; re-creating the schedule (one by one or by
// import) with a capacity below them would overbook their slots, so it is
// refused like a lowering, and nothing is created.
func TestRecreatedScheduleKeepsItsBookingsSeats(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		f.mustBook(citizen(i), raceSlot, "s1") // seats 0, 1, 2
	}
	sc := f.schedule("sc1")
	if err := f.svc.DeleteSchedule(f.ctx, "sc1"); err != nil {
		t.Fatal(err)
	}
	before := f.state()
	sc.Capacity = 2
	if _, err := f.svc.CreateSchedule(f.ctx, sc); !errors.Is(err, ErrCapacityInUse) {
		t.Fatalf("re-creating sc1 with capacity 2 over seats 0..2: %v", err)
	}
	in := CatalogImport{Schedules: []Schedule{sc}}
	if _, err := f.svc.Import(f.ctx, in); !errors.Is(err, ErrCapacityInUse) {
		t.Fatalf("importing sc1 with capacity 2 over seats 0..2: %v", err)
	}
	f.sameState(before)
	sc.Capacity = 3
	if _, err := f.svc.CreateSchedule(f.ctx, sc); err != nil {
		t.Fatal(err)
	}
	if got := f.schedule("sc1"); got.Capacity != 3 {
		t.Fatalf("capacity %d", got.Capacity)
	}
	if n := f.count("appt_schedules", bson.M{"change_token": bson.M{"$exists": true}}); n != 0 {
		t.Fatalf("%d gates left", n)
	}
	if _, err := f.book(citizen(10), raceSlot, "s1"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("a fourth booking at capacity 3: %v", err)
	}
}
