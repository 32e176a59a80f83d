package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// writeProber is a store that can tell whether it takes writes
// (platform.Mongo: an upsert of a readiness document).
type writeProber interface {
	ProbeWrite(ctx context.Context) error
}

// readyTimeout bounds every check of /readyz; the checks run at once.
const readyTimeout = 1500 * time.Millisecond

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks that MongoDB and Redis answer and take writes: a ping, then
// a small write (MongoDB's write probe when it has one; a short-lived key
// under the Redis prefix). Each store is "ok", "down" (no answer) or
// "read_only" (answers but cannot write, e.g. a full disk); anything but "ok"
// answers 503 not_ready. The whole check takes at most readyTimeout. Once
// the server is draining (StartDraining) it answers 503 with check
// "shutdown": "draining" at once, without touching the stores.
func (s *Server) readyz(c echo.Context) error {
	if s.drain.on() {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"error": answer{Code: errNotReady.Code, Message: errNotReady.Message}, "checks": map[string]string{"shutdown": "draining"}})
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), readyTimeout)
	defer cancel()
	var mongoWrite func(context.Context) error
	if p, ok := s.deps.Mongo.(writeProber); ok {
		mongoWrite = p.ProbeWrite
	}
	redisWrite := func(ctx context.Context) error {
		return s.deps.Redis.Set(ctx, s.deps.RedisPrefix+"readyz", time.Now().UnixMilli(), time.Minute).Err()
	}
	checks := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, probe := range map[string]struct {
		ping  func(context.Context) error
		write func(context.Context) error
	}{"mongodb": {s.deps.Mongo.Ping, mongoWrite}, "redis": {s.deps.RedisPing.Ping, redisWrite}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state := "ok"
			if err := probe.ping(ctx); err != nil {
				state = "down"
				s.log.WarnContext(ctx, "readyz: store down", "store", name, "err", err)
			} else if probe.write != nil {
				if err := probe.write(ctx); err != nil {
					state = "read_only"
					s.log.WarnContext(ctx, "readyz: store cannot write", "store", name, "err", err)
				}
			}
			mu.Lock()
			checks[name] = state
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, state := range checks {
		if state != "ok" {
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"error": answer{Code: errNotReady.Code, Message: errNotReady.Message}, "checks": checks})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
