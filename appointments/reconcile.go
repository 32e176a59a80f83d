package appointments

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// reconcilePools returns to the Redis pools seat numbers that are free in
// MongoDB but neither free nor leased in Redis. That happens when a release
// met a missing pool while a rebuild was reading MongoDB. MongoDB is read
// before Redis, so a number booked in between is at worst offered again and
// turned away by the seat insert. Returns how many numbers were returned.
func (s *Service) reconcilePools(ctx context.Context, cat *catalog) (int, error) {
	now := s.clock.Now()
	windows := map[string][]string{}
	var slots []slotDef
	for _, sc := range cat.schedules {
		h := cat.halls[sc.HallID]
		if h == nil {
			continue
		}
		if _, ok := windows[h.ID]; !ok {
			windows[h.ID] = cat.window(h, now)
		}
		for _, d := range windows[h.ID] {
			slots = append(slots, cat.scheduleSlots(sc, d, true)...)
		}
	}
	if len(slots) == 0 {
		return 0, nil
	}
	taken, err := s.takenSeats(ctx, slots)
	if err != nil {
		return 0, err
	}
	pipe := s.rdb.Pipeline()
	type view struct {
		mark       *redis.IntCmd
		free, held *redis.StringSliceCmd
	}
	views := make([]view, len(slots))
	for i, sl := range slots {
		k := s.pool.keys(sl)
		views[i] = view{pipe.Exists(ctx, k[0]), pipe.ZRange(ctx, k[1], 0, -1), pipe.ZRange(ctx, k[2], 0, -1)}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("read seat pools: %w", err)
	}
	returned := 0
	for i, sl := range slots {
		if views[i].mark.Val() != 1 {
			continue // no pool: the next use rebuilds it from MongoDB
		}
		inRedis := map[int]bool{}
		for _, m := range append(views[i].free.Val(), views[i].held.Val()...) {
			if n, err := strconv.Atoi(m); err == nil {
				inRedis[n] = true
			}
		}
		for n := range sl.Capacity {
			if taken[sl.ID][n] || inRedis[n] {
				continue
			}
			if err := s.pool.release(ctx, sl, n); err != nil {
				return returned, fmt.Errorf("return seat to pool: %w", err)
			}
			returned++
		}
	}
	if returned > 0 {
		s.log.Info("seat numbers returned to Redis pools", "count", returned)
	}
	return returned, nil
}
