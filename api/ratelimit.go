package api

import (
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// rateLimiter applies GCRA limits kept in Redis, so every replica shares them.
type rateLimiter struct {
	l      *redis_rate.Limiter
	prefix string
}

func newRateLimiter(rdb redis.UniversalClient, prefix string) *rateLimiter {
	return &rateLimiter{l: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// allow takes one token from key's bucket of perMinute; over the limit it
// returns a 429 rate_limited with Retry-After. It fails closed: when Redis
// cannot decide, 503 store_unavailable (the limits left here guard logins
// and bill lookups, where an unlimited window is a guessing window; the
// authenticated limits are decided with the session, see requireCitizen).
func (s *Server) allow(c echo.Context, key string, perMinute int) error {
	if perMinute <= 0 {
		return nil
	}
	res, err := s.limiter.l.Allow(c.Request().Context(), s.limiter.prefix+key, redis_rate.PerMinute(perMinute))
	if err != nil {
		return errStoreUnavailable.Wrap(err)
	}
	if res.Allowed == 0 {
		return limited(res.RetryAfter)
	}
	return nil
}

// limited is the 429 rate_limited answer for a request refused by a limit,
// asking to retry after wait (at least a second).
func limited(wait time.Duration) error {
	retry := int(math.Ceil(wait.Seconds()))
	if retry < 1 {
		retry = 1
	}
	return &retryLater{err: errRateLimited, after: retry}
}

// AllowLogin applies the per-IP login limit (BANSHI_RATE_LOGIN, failing
// closed) to a login that does not come through the API's routes, such as
// the console's login form. Errors: a rate_limited error (retry later),
// store_unavailable.
func (s *Server) AllowLogin(c echo.Context) error {
	return s.allow(c, "rl:login:"+c.RealIP(), s.deps.Limits.LoginPerIP)
}

// limitLoginByIP limits logins per client IP; it fails closed. Every login
// route has it, and it marks the answer no-store.
func (s *Server) limitLoginByIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c) // a login answers a token
		if err := s.AllowLogin(c); err != nil {
			return err
		}
		return next(c)
	}
}
