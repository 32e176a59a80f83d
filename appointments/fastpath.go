package appointments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// seatPool is the Redis fast path in front of the seat arbiter. Per slot it
// keeps three keys under one hash tag (so they live together in a cluster):
//
//	…:m  marker: the pool was built from MongoDB and is authoritative enough
//	…:f  sorted set of seat numbers believed free (score = seat number)
//	…:h  sorted set of seats handed out and not yet confirmed (score = lease end, ms)
//
// take pops the lowest free seat, so a full slot is turned away by one Lua
// call without touching MongoDB. A missing marker (never built, expired, or
// Redis lost its data) makes take answer "rebuild", and the pool is rebuilt
// from the seat documents. Redis only hands out candidates: inserting the seat
// document "<slot id>#<n>" decides, so a stale pool costs a retry, never an
// overbooking. Seats whose lease ends unconfirmed (a crashed process) go back
// to the free set.
type seatPool struct {
	rdb    redis.UniversalClient
	prefix string
}

func newSeatPool(rdb redis.UniversalClient, prefix string) *seatPool {
	return &seatPool{rdb: rdb, prefix: prefix}
}

// keys names the pool of sl. The capacity and the schedule's revision (new
// with every write of the schedule) are part of the name, so a changed
// schedule starts a fresh pool rebuilt from MongoDB: a pool built for an
// earlier version, even of the same capacity (2 → 3 → 2), is never used
// again and expires.
func (p *seatPool) keys(sl slotDef) []string {
	rev := ""
	if sl.Schedule != nil {
		rev = sl.Schedule.Rev
	}
	base := fmt.Sprintf("%sappt:pool:{%s}:c%d:r%s", p.prefix, sl.ID, sl.Capacity, rev)
	return []string{base + ":m", base + ":f", base + ":h"}
}

// newScheduleRev returns a fresh schedule revision.
func newScheduleRev() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ttl keeps a pool until two days after the slot ends.
func poolTTL(sl slotDef, now time.Time) time.Duration {
	return max(sl.End.Add(48*time.Hour).Sub(now), time.Hour)
}

const luaRefreshTTL = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
`

// take: -2 rebuild needed, -1 full, else a seat number now leased.
var takeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #expired > 0 then
  for _, n in ipairs(expired) do redis.call('ZADD', KEYS[2], n, n) end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
end
local popped = redis.call('ZPOPMIN', KEYS[2])
if #popped == 0 then return -1 end
local n = popped[1]
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), n)
` + luaRefreshTTL + `
return tonumber(n)
`)

// release: give seat ARGV[1] back (booking failed or cancelled). Without a
// marker the pool will be rebuilt from MongoDB anyway. A seat number at or
// above the pool's capacity ARGV[2] (held since before the capacity was
// lowered) never enters it.
var releaseScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
if tonumber(ARGV[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
` + luaRefreshTTL + `
return 1
`)

// init: build the pool from MongoDB's view unless another process just did.
var initScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
for i = 2, #ARGV do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i]) end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`)

const (
	takeRebuild = -2
	takeFull    = -1
)

// take hands out a seat number: -2 rebuild needed, -1 full, else a seat now
// leased. A slot that is plainly full (built, nothing free, nothing leased) is
// turned away by three plain reads in one round trip, without running the
// script: in a flash crowd most attempts meet a full slot, and a script run
// costs far more than a read (on the embedded miniredis a whole Lua state).
func (p *seatPool) take(ctx context.Context, sl slotDef, now time.Time, lease time.Duration) (int, error) {
	keys := p.keys(sl)
	var built, free, leased *redis.IntCmd
	if _, err := p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		built = pl.Exists(ctx, keys[0])
		free = pl.ZCard(ctx, keys[1])
		leased = pl.ZCard(ctx, keys[2])
		return nil
	}); err != nil {
		return 0, err
	}
	if built.Val() == 1 && free.Val() == 0 && leased.Val() == 0 {
		return takeFull, nil
	}
	return takeScript.Run(ctx, p.rdb, keys, now.UnixMilli(), lease.Milliseconds()).Int()
}

func (p *seatPool) release(ctx context.Context, sl slotDef, n int) error {
	return releaseScript.Run(ctx, p.rdb, p.keys(sl), n, sl.Capacity).Err()
}

// confirm ends the lease of seat n: it is taken for good (by us or, when the
// seat document already existed, by someone else).
func (p *seatPool) confirm(ctx context.Context, sl slotDef, n int) error {
	return p.rdb.ZRem(ctx, p.keys(sl)[2], strconv.Itoa(n)).Err()
}

func (p *seatPool) init(ctx context.Context, sl slotDef, free []int, ttl time.Duration) error {
	args := make([]any, 0, len(free)+1)
	args = append(args, ttl.Milliseconds())
	for _, n := range free {
		args = append(args, n)
	}
	return initScript.Run(ctx, p.rdb, p.keys(sl), args...).Err()
}

// counts returns the free seats of each slot in one round trip; built[i] is
// false when slot i has no pool yet.
func (p *seatPool) counts(ctx context.Context, slots []slotDef) (free []int, built []bool, err error) {
	if len(slots) == 0 {
		return nil, nil, nil
	}
	pipe := p.rdb.Pipeline()
	ex := make([]*redis.IntCmd, len(slots))
	cards := make([]*redis.IntCmd, len(slots))
	for i, sl := range slots {
		k := p.keys(sl)
		ex[i] = pipe.Exists(ctx, k[0])
		cards[i] = pipe.ZCard(ctx, k[1])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, err
	}
	free = make([]int, len(slots))
	built = make([]bool, len(slots))
	for i := range slots {
		built[i] = ex[i].Val() == 1
		free[i] = int(cards[i].Val())
	}
	return free, built, nil
}

// drop deletes the pool of sl: the next take rebuilds it from MongoDB (after
// a bulk release, one delete instead of a return per seat).
func (p *seatPool) drop(ctx context.Context, sl slotDef) error {
	return p.rdb.Del(ctx, p.keys(sl)...).Err()
}
