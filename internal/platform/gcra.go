package platform

import (
	"strconv"
	"time"
)

// GCRALua defines the Lua function gcra(key, perMinute), the generic cell
// rate algorithm of github.com/go-redis/redis_rate (itself from
// rwz/redis-gcra) with burst = rate = perMinute per 60 s and a cost of one,
// for scripts that decide a rate limit in the same round trip as other work
// (the staff session script; citizens' sessions use WindowCount, which needs
// no script). Prepend it to such a script's body; it
// returns {allowed (0 or 1), retry_after in seconds as a string ("-1" when
// allowed)}. Time is Redis's TIME, as in redis_rate, so replicas with skewed
// clocks share one budget. The key must be declared in the script's KEYS.
//
// The state kept under key is a float (the theoretical arrival time, in
// seconds since 2017-01-01) with an expiry, written only when a request is
// allowed: refused requests cost nothing.
const GCRALua = `
local function gcra(key, per_minute)
  local rate = tonumber(per_minute)
  local emission_interval = 60 / rate
  local burst_offset = emission_interval * rate
  local t = redis.call('TIME')
  local now = (t[1] - 1483228800) + (t[2] / 1000000)
  local tat = redis.call('GET', key)
  if not tat then tat = now else tat = tonumber(tat) end
  tat = math.max(tat, now)
  local new_tat = tat + emission_interval
  local diff = now - (new_tat - burst_offset)
  if diff < 0 then
    return {0, tostring(-diff)}
  end
  local reset_after = new_tat - now
  if reset_after > 0 then
    redis.call('SET', key, new_tat, 'EX', math.ceil(reset_after))
  end
  return {1, '-1'}
end
`

// RateDecision is the outcome of a rate-limit check.
type RateDecision struct {
	Allowed bool
	// RetryAfter is how long to wait before a request would be allowed
	// (zero when Allowed).
	RetryAfter time.Duration
}

// ParseGCRA reads the pair GCRALua's gcra returns (as go-redis hands it
// over: an int64 and a string). A malformed pair is not allowed, with a
// one-second wait: a limiter that cannot read its answer does not let a
// request through unnoticed.
func ParseGCRA(allowed, retryAfter any) RateDecision {
	a, _ := allowed.(int64)
	if a == 1 {
		return RateDecision{Allowed: true}
	}
	s, _ := retryAfter.(string)
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs <= 0 {
		secs = 1
	}
	return RateDecision{RetryAfter: time.Duration(secs * float64(time.Second))}
}
