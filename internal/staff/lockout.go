package staff

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Login throttling. Every login attempt passes loginGate before any password
// is compared: a lock left by repeated failures, then a per-account rate
// limit (GCRA in Redis, shared by every replica), both keyed by the username
// asked for — existing or not, so neither tells whether an account exists.
// The comparisons that pass run in at most BcryptSlots at once per process.
// Under a flood, bcrypt time is thus bounded by the limits, whatever the
// number of client IPs.
const (
	lockAfter    = 5                // consecutive failures that lock an account
	lockBase     = time.Minute      // the first lock; each further failure doubles it
	lockMax      = 30 * time.Minute // the longest lock
	failMemory   = 24 * time.Hour   // failures are forgotten this long after the last one
	slotWaitTime = 2 * time.Second  // how long a login waits for a bcrypt slot
)

// failScript counts a failure and, from the lockAfter-th on, locks the
// account until now + lockBase·2^(n-lockAfter), at most lockMax. It returns
// the lock's end (unix ms, 0 when not locked) and whether this failure
// started a lock.
// KEYS[1] failure hash; ARGV: now ms, lockAfter, base ms, max ms, memory ms.
var failScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local after = tonumber(ARGV[2])
local lockEnd = 0
if n >= after then
  local exp = n - after
  if exp > 20 then exp = 20 end
  local d = tonumber(ARGV[3]) * (2 ^ exp)
  if d > tonumber(ARGV[4]) then d = tonumber(ARGV[4]) end
  lockEnd = tonumber(ARGV[1]) + d
  redis.call('HSET', KEYS[1], 'until', lockEnd)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return lockEnd
`)

func (s *Service) failKey(username string) string { return s.prefix + "staff:loginfail:" + username }

// loginGate decides, before any password is compared, whether a login of
// username may go on. Errors: ErrLocked or ErrLoginRateLimited (with Until,
// the time to retry); a Redis error when it cannot decide — logins then
// fail closed.
func (s *Service) loginGate(ctx context.Context, username string) error {
	now := s.clock.Now()
	v, err := s.rdb.HGet(ctx, s.failKey(username), "until").Result()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("login lock: %w", err)
	}
	if ms, perr := strconv.ParseInt(v, 10, 64); perr == nil && now.Before(time.UnixMilli(ms)) {
		return ErrLocked.WithUntil(time.UnixMilli(ms))
	}
	res, err := s.limiter.Allow(ctx, s.prefix+"staff:login:"+username, redis_rate.PerMinute(s.perAccount))
	if err != nil {
		return fmt.Errorf("login limit: %w", err)
	}
	if res.Allowed == 0 {
		wait := time.Duration(math.Ceil(res.RetryAfter.Seconds())) * time.Second
		return ErrLoginRateLimited.WithUntil(now.Add(max(wait, time.Second)).Truncate(time.Second))
	}
	return nil
}

// loginFailed counts a failed login of username; the failure that starts a
// lock is audited. A Redis error is logged: the attempt has failed anyway.
func (s *Service) loginFailed(ctx context.Context, username, ip string) {
	ctx = context.WithoutCancel(ctx)
	now := s.clock.Now()
	end, err := failScript.Run(ctx, s.rdb, []string{s.failKey(username)},
		now.UnixMilli(), lockAfter, lockBase.Milliseconds(), lockMax.Milliseconds(), failMemory.Milliseconds()).Int64()
	if err != nil {
		s.log.Warn("login failure not counted", "err", err)
		return
	}
	if end > 0 {
		until := time.UnixMilli(end)
		s.record(ctx, Entry{Actor: username, Action: "login", IP: ip, Outcome: ErrLocked.Code,
			Detail: "repeated wrong passwords: logins refused until " + until.UTC().Format(time.RFC3339)})
	}
}

// loginSucceeded forgets username's failures.
func (s *Service) loginSucceeded(ctx context.Context, username string) {
	if err := s.rdb.Del(context.WithoutCancel(ctx), s.failKey(username)).Err(); err != nil {
		s.log.Warn("login failures not cleared", "err", err)
	}
}

// compareSlot runs the password comparison in one of the process's bcrypt
// slots. Errors: ErrBusy when no slot frees up in slotWaitTime, or ctx's.
func (s *Service) compareSlot(ctx context.Context, hash, password []byte) (error, error) {
	t := time.NewTimer(slotWaitTime)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.slots }()
	return s.compare(hash, password), nil
}
