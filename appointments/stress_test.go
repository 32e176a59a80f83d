package appointments

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform/platformtest"
)

// TestStressTwoProcessesKeepEveryInvariant: two Services ("processes") on one
// MongoDB and one Redis, rounds of concurrent keyed bookings and their
// replays on both processes, requests whose client goes away at a random
// moment, a network that loses the replies of some appointment and seat
// inserts it delivered and refuses some day-lock inserts, citizen and staff
// cancellations, two admins moving a capacity up and down, and Redis losing
// everything mid-round. After every round, with everything settled:
//
//   - no slot has more booked appointments than its capacity, and every
//     booked appointment holds its seat (below the capacity), day lock, user
//     slot and check-in code; every other arbiter's holder is known and
//     stale;
//   - nobody holds two active bookings of a service on a day, or more than
//     three in all;
//   - one key never answered two different appointments, and a key that
//     answered an appointment answers it again, on either process, even with
//     Redis emptied;
//   - availability is exact once the pools are rebuilt, and every seat it
//     shows free is bookable, no more.
func TestStressTwoProcessesKeepEveryInvariant(t *testing.T) {
	m, rdb := platformtest.MiniRedis(t)
	fn := newFaultNet()
	f := newFixture(t, withRedis(rdb), withSharedFaultDB(fn))
	procs := []*Service{f.svc, f.another()}
	type target struct{ slot, service, date string }
	targets := []target{
		{twoSeats, "s3", "2026-03-10"},
		{"sc2.20260310.1000", "s3", "2026-03-10"},
		{raceSlot, "s1", "2026-03-10"},
		{raceSlot, "s2", "2026-03-10"},
		{"sc1.20260311.0900", "s1", "2026-03-11"},
	}
	sc2 := f.schedule("sc2")
	answered := map[string]string{} // key → the appointment it answered
	var mu sync.Mutex
	next := 0
	for round := range 4 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		go1 := func(fn func()) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				fn()
			}()
		}
		// Keyed bookings, each sent three times over both processes, some
		// by a client that goes away after a random moment.
		for i := range 24 {
			u := citizen(i % 16) // people book several things
			tg := targets[(i+round)%len(targets)]
			key := fmt.Sprintf("k%d-%d", round, i)
			for try := range 3 {
				go1(func() {
					ctx := f.ctx
					if try == 0 && i%3 == 0 {
						c, cancel := context.WithTimeout(f.ctx, time.Duration(mrand.IntN(4000))*time.Microsecond)
						defer cancel()
						ctx = c
					}
					a, err := procs[(i+try)%2].Book(ctx, u, BookRequest{SlotID: tg.slot, ServiceID: tg.service}, key)
					switch {
					case err == nil:
						mu.Lock()
						defer mu.Unlock()
						if prev, ok := answered[key]; ok && prev != a.ID {
							t.Errorf("key %s answered %s and %s", key, prev, a.ID)
						}
						answered[key] = a.ID
					case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
						strings.Contains(err.Error(), "faultnet:"),
						errors.Is(err, ErrSlotFull), errors.Is(err, ErrDuplicateBooking), errors.Is(err, ErrBookingLimit),
						errors.Is(err, ErrIdempotencyInProgress):
					default:
						t.Errorf("book: %v", err)
					}
				})
			}
		}
		// Cancellations of what is booked now, by citizens and by staff.
		booked, err := f.svc.findAppts(f.ctx, bson.M{"status": StatusBooked})
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range booked {
			if i%3 != 0 {
				continue
			}
			go1(func() {
				var err error
				if i%2 == 0 {
					_, err = procs[i%2].Cancel(f.ctx, d.UserID, d.ID)
				} else {
					_, err = procs[i%2].CancelByStaff(f.ctx, h1Staff, d.ID, "压力测试取消")
				}
				if err != nil && !errors.Is(err, ErrNotCancellable) {
					t.Errorf("cancel: %v", err)
				}
			})
		}
		// Two admins move sc2's capacity; Redis loses everything once.
		for i, c := range []int{3, 2, 4, 2} {
			go1(func() {
				v := sc2
				v.Capacity = c
				if _, err := procs[i%2].UpdateSchedule(f.ctx, v); err != nil && !errors.Is(err, ErrCapacityInUse) {
					t.Errorf("capacity %d: %v", c, err)
				}
			})
		}
		go1(func() {
			time.Sleep(time.Duration(mrand.IntN(20)) * time.Millisecond)
			m.FlushAll()
		})
		var heal []func()
		for _, r := range []struct {
			match  func([]byte) bool
			action faultAction
			every  int
		}{
			{bookedInsert, dropReply, 4},
			{isInsertOf("appt_seats"), dropReply, 7},
			{isInsertOf("appt_daylocks"), fail, 9},
		} {
			_, h := fn.addEvery(r.match, r.action, false, r.every)
			heal = append(heal, h)
		}
		close(start)
		wg.Wait()
		for _, h := range heal {
			h()
		}

		f.checkInvariants(round)
		// After a sweep (which returns numbers a pool lost) no pool shows
		// fewer free seats than MongoDB has: a stale pool would refuse them.
		if _, err := f.svc.SweepOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			capacity, n := f.slotCapacity(tg.slot), f.count("appointments", bson.M{"slot_id": tg.slot, "status": StatusBooked})
			if r := f.remainingOf(tg.slot, "h1", tg.service, tg.date); r < capacity-n {
				t.Fatalf("round %d: %s shows %d free with capacity %d and %d booked", round, tg.slot, r, capacity, n)
			}
		}
		m.FlushAll() // pools rebuilt from MongoDB: exact
		for _, tg := range targets {
			capacity, n := f.slotCapacity(tg.slot), f.count("appointments", bson.M{"slot_id": tg.slot, "status": StatusBooked})
			if r := f.remainingOf(tg.slot, "h1", tg.service, tg.date); r != capacity-n {
				t.Fatalf("round %d: %s shows %d free with capacity %d and %d booked", round, tg.slot, r, capacity, n)
			}
		}
		// Every seat shown free is bookable, and no more: by new people,
		// under keys, alternating processes.
		for _, tg := range targets[:2] {
			free := f.remainingOf(tg.slot, "h1", tg.service, tg.date)
			for k := range free + 1 {
				next++
				u := citizen(1000 + next)
				_, err := procs[k%2].Book(f.ctx, u, BookRequest{SlotID: tg.slot, ServiceID: tg.service}, fmt.Sprintf("fill-%d", next))
				if k < free && err != nil {
					t.Fatalf("round %d: %s showed %d free; booking %d: %v", round, tg.slot, free, k+1, err)
				}
				if k == free && !errors.Is(err, ErrSlotFull) {
					t.Fatalf("round %d: %s full, one more: %v", round, tg.slot, err)
				}
			}
		}
		// A key that answered an appointment answers it again on either
		// process, the slots now full: from Redis, then with Redis having
		// lost the idempotency keys (and only them).
		for pass := range 2 {
			if pass == 1 {
				keys, err := rdb.Keys(f.ctx, f.prefix+"appt:idem:*").Result()
				if err != nil || len(keys) == 0 {
					t.Fatalf("idempotency keys %v %v", keys, err)
				}
				rdb.Del(f.ctx, keys...)
			}
			for key, id := range answered {
				var kr, i int
				if _, err := fmt.Sscanf(key, "k%d-%d", &kr, &i); err != nil {
					t.Fatal(err)
				}
				if kr != round {
					continue
				}
				tg := targets[(i+kr)%len(targets)]
				for _, p := range procs {
					a, err := p.Book(f.ctx, citizen(i%16), BookRequest{SlotID: tg.slot, ServiceID: tg.service}, key)
					if err != nil || a.ID != id {
						t.Errorf("round %d, pass %d: replay of %s: %q %v, want %s", round, pass, key, a.ID, err, id)
					}
				}
			}
		}
		f.checkInvariants(round)
		// Make room for the next round.
		for _, tg := range targets[:2] {
			docs, _ := f.svc.findAppts(f.ctx, bson.M{"slot_id": tg.slot, "status": StatusBooked})
			for _, d := range docs {
				if _, err := f.svc.CancelByStaff(f.ctx, admin, d.ID, "腾出号位"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// slotCapacity is the capacity MongoDB has for slot's schedule.
func (f *fixture) slotCapacity(slot string) int {
	f.t.Helper()
	id, _, _, _ := parseSlotID(slot)
	return f.schedule(id).Capacity
}

// checkInvariants checks, with nothing running, what must hold after any
// interleaving: see TestStressTwoProcessesKeepEveryInvariant.
func (f *fixture) checkInvariants(round int) {
	f.t.Helper()
	booked, err := f.svc.findAppts(f.ctx, bson.M{"status": StatusBooked})
	if err != nil {
		f.t.Fatal(err)
	}
	perSlot, perUser, perDay := map[string]int{}, map[string]int{}, map[string]string{}
	for _, d := range booked {
		perSlot[d.SlotID]++
		perUser[d.UserID]++
		day := dayLockID(d.UserID, d.ServiceID, d.Date)
		if other, ok := perDay[day]; ok {
			f.t.Fatalf("round %d: %s and %s both booked: %s", round, other, d.ID, day)
		}
		perDay[day] = d.ID
		if d.Seat >= f.slotCapacity(d.SlotID) {
			f.t.Fatalf("round %d: %s holds seat %d of %s, capacity %d", round, d.ID, d.Seat, d.SlotID, f.slotCapacity(d.SlotID))
		}
		for coll, id := range map[string]string{"appt_seats": seatID(d.SlotID, d.Seat), "appt_daylocks": day,
			"appt_userslots": userSlotID(d.UserID, d.LimitSlot), "appt_codes": d.CheckinCode} {
			if f.count(coll, bson.M{"_id": id, "appointment_id": d.ID}) != 1 {
				f.t.Fatalf("round %d: booked %s does not hold %s %s", round, d.ID, coll, id)
			}
		}
	}
	for slot, n := range perSlot {
		if c := f.slotCapacity(slot); n > c {
			f.t.Fatalf("round %d: %s has %d booked, capacity %d", round, slot, n, c)
		}
	}
	for u, n := range perUser {
		if n > 3 {
			f.t.Fatalf("round %d: %s has %d active bookings", round, u, n)
		}
	}
	// Every arbiter names an appointment that exists: booked (checked
	// above), or one that no longer holds it (stale, repaired on contact).
	for _, coll := range []string{"appt_seats", "appt_daylocks", "appt_userslots"} {
		var arbs []arbiterDoc
		cur, err := f.db.Collection(coll).Find(f.ctx, bson.M{})
		if err != nil || cur.All(f.ctx, &arbs) != nil {
			f.t.Fatal(err)
		}
		for _, a := range arbs {
			d, err := f.svc.findAppt(f.ctx, a.AppointmentID)
			if err != nil {
				f.t.Fatalf("round %d: %s %s names %s: %v", round, coll, a.ID, a.AppointmentID, err)
			}
			if d.Status == StatusBooked && perDay[dayLockID(d.UserID, d.ServiceID, d.Date)] != d.ID {
				f.t.Fatalf("round %d: %s %s held by unknown booking %s", round, coll, a.ID, d.ID)
			}
		}
	}
}
