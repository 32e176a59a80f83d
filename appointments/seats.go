package appointments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// errFastPathDown means Redis did not answer; callers fall back to MongoDB.
var errFastPathDown = errors.New("appointments: seat fast path unavailable")

// errNotFinal marks a refusal that MongoDB's seats did not decide: the Redis
// seat pool had no number, or the seat taken was beyond a capacity this
// process did not know yet. It is answered (errors.Is(err, ErrSlotFull)
// holds) but never kept as an Idempotency-Key's answer: the pool may be
// stale, and a retry is evaluated again.
var errNotFinal = errors.New("appointments: refusal not decided by MongoDB")

// errPoolFull is the seat pool's refusal.
var errPoolFull = ErrSlotFull.Wrap(errNotFinal)

// takeToken asks the Redis pool for a seat of sl. It returns errPoolFull
// (an ErrSlotFull) when none is free, errFastPathDown when Redis fails.
func (s *Service) takeToken(ctx context.Context, sl slotDef) (int, error) {
	if !s.redisOK.up() {
		return 0, errFastPathDown
	}
	for range 3 {
		n, err := s.pool.take(ctx, sl, s.clock.Now(), s.cfg.seatLease)
		if err != nil {
			s.redisOK.failed(s.log, err)
			return 0, errFastPathDown
		}
		switch n {
		case takeFull:
			return 0, errPoolFull
		case takeRebuild:
			if err := s.rebuild(ctx, []slotDef{sl}); err != nil {
				return 0, err
			}
			continue
		}
		return n, nil
	}
	return 0, errFastPathDown
}

// takenSeats reads, from MongoDB, which seats of the slots are held: by an
// appointment that still holds its seat, or by a booking in progress.
func (s *Service) takenSeats(ctx context.Context, slots []slotDef) (map[string]map[int]bool, error) {
	ids := make([]string, len(slots))
	for i, sl := range slots {
		ids[i] = sl.ID
	}
	cur, err := s.seats.Find(ctx, bson.M{"slot_id": bson.M{"$in": ids}})
	if err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	var seats []arbiterDoc
	if err := cur.All(ctx, &seats); err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	holders := map[string]string{}
	if len(seats) > 0 {
		apptIDs := make([]string, 0, len(seats))
		for _, st := range seats {
			apptIDs = append(apptIDs, st.AppointmentID)
		}
		cur, err := s.appts.Find(ctx, bson.M{"_id": bson.M{"$in": apptIDs}})
		if err != nil {
			return nil, fmt.Errorf("read seat holders: %w", err)
		}
		var docs []apptDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("read seat holders: %w", err)
		}
		for _, d := range docs {
			holders[d.ID] = d.Status
		}
	}
	now := s.clock.Now()
	taken := map[string]map[int]bool{}
	for _, st := range seats {
		status, known := holders[st.AppointmentID]
		held := (known && holdsSeat(status)) || (!known && now.Sub(st.CreatedAt) < s.cfg.abandonAfter)
		if !held {
			continue // stale: the insert that meets it repairs it
		}
		if taken[st.SlotID] == nil {
			taken[st.SlotID] = map[int]bool{}
		}
		taken[st.SlotID][st.Seat] = true
	}
	return taken, nil
}

// rebuildTimeout bounds one rebuild (see rebuild).
const rebuildTimeout = 10 * time.Second

// rebuild builds the Redis pools of slots from MongoDB (after Redis lost
// them, or the first time). One rebuild per slot set runs at a time in this
// process; across processes the first init wins and the others are no-ops.
// A rebuild racing with bookings may list a seat as free that is being taken:
// the seat insert then meets the duplicate key and the booking takes another.
func (s *Service) rebuild(ctx context.Context, slots []slotDef) error {
	ids := make([]string, len(slots))
	for i, sl := range slots {
		ids[i] = sl.ID
	}
	_, err, _ := s.flights.Do("rebuild:"+strings.Join(ids, ","), func() (any, error) {
		// The rebuild is shared by every booking waiting on it: the request
		// that started it going away (a client that gave up) must not fail
		// the others, so it runs apart from that request's cancellation,
		// bounded by a time of its own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rebuildTimeout)
		defer cancel()
		taken, err := s.takenSeats(ctx, slots)
		if err != nil {
			return nil, err
		}
		now := s.clock.Now()
		for _, sl := range slots {
			free := make([]int, 0, sl.Capacity)
			for n := range sl.Capacity {
				if !taken[sl.ID][n] {
					free = append(free, n)
				}
			}
			if err := s.pool.init(ctx, sl, free, poolTTL(sl, now)); err != nil {
				return nil, fmt.Errorf("rebuild seat pool: %w", err)
			}
		}
		s.log.Debug("seat pools rebuilt from MongoDB", "slots", len(slots))
		return nil, nil
	})
	return err
}

// remaining counts the free seats of each slot: from Redis, rebuilding pools
// that are missing, or from MongoDB when Redis is down.
func (s *Service) remaining(ctx context.Context, slots []slotDef) ([]int, error) {
	var free []int
	var built []bool
	err := errFastPathDown
	if s.redisOK.up() {
		if free, built, err = s.pool.counts(ctx, slots); err != nil {
			s.redisOK.failed(s.log, err)
		}
	}
	if err == nil {
		var missing []slotDef
		for i := range slots {
			if !built[i] {
				missing = append(missing, slots[i])
			}
		}
		if len(missing) == 0 {
			return free, nil
		}
		if err = s.rebuild(ctx, missing); err == nil {
			free, built, err = s.pool.counts(ctx, slots)
			if err == nil {
				for i := range built {
					if !built[i] { // lost again meanwhile: count from MongoDB below
						err = errFastPathDown
					}
				}
				if err == nil {
					return free, nil
				}
			}
		}
	}
	s.log.Debug("seat counts from MongoDB", "err", err)
	taken, terr := s.takenSeats(ctx, slots)
	if terr != nil {
		return nil, terr
	}
	out := make([]int, len(slots))
	for i, sl := range slots {
		n := 0
		for seat := range taken[sl.ID] {
			if seat < sl.Capacity {
				n++
			}
		}
		out[i] = max(sl.Capacity-n, 0)
	}
	return out, nil
}

// breaker skips Redis for a few seconds after it failed, so a Redis outage
// costs one timeout, not one per request (MongoDB decides meanwhile).
type breaker struct {
	downUntil atomic.Int64 // unix nanos, wall clock
}

const breakerPause = 5 * time.Second

func (b *breaker) up() bool { return time.Now().UnixNano() >= b.downUntil.Load() }

func (b *breaker) failed(log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	if b.up() {
		log.Warn("Redis fast path unavailable; MongoDB alone decides for a while", "err", err, "pause", breakerPause)
	}
	b.downUntil.Store(time.Now().Add(breakerPause).UnixNano())
}
