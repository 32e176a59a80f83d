package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/observe/tracing"
)

// requestID gives every request an ID, answered in X-Request-ID and logged:
// the client's own when it is at most 64 characters of [A-Za-z0-9._-],
// otherwise a new one (a client's ID is echoed and logged, so it is bounded
// and cannot carry anything but an identifier).
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
			c.Request().Header.Set(echo.HeaderXRequestID, id)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// noStore marks answers that carry tokens or personal data as not to be
// kept by any cache (browsers, proxies, the mini-program's HTTP layer).
func noStore(c echo.Context) { c.Response().Header().Set(echo.HeaderCacheControl, "no-store") }

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func bodyLimitString(n int64) string {
	if n <= 0 {
		n = 64 << 10
	}
	return strconv.FormatInt(n, 10) + "B"
}

// instrument writes one structured access-log line per request and feeds
// the Prometheus metrics. It logs the route template, never the raw path or
// query (they may carry identifiers), and no bodies or headers. Methods
// outside a fixed set are shown as "other" and paths no route matches as
// "unmatched", so neither the log nor /metrics grows with what clients send. An error is
// answered here, so the status logged and counted is the real one. With
// tracing on, a request whose trace is kept is logged with its trace_id.
func (s *Server) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		took := time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		method := methodLabel(c.Request().Method)
		s.metrics.observe(method, route, status, took)
		ctx := c.Request().Context()
		if !s.log.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		attrs := make([]slog.Attr, 0, 9)
		attrs = append(attrs,
			slog.String("method", method), slog.String("route", route), slog.Int("status", status),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000),
			slog.Int64("bytes_out", c.Response().Size),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		)
		if uid, ok := c.Get(ctxUserID).(string); ok {
			attrs = append(attrs, slog.String("user_id", uid))
		}
		if id := tracing.TraceID(c); id != "" {
			attrs = append(attrs, slog.String("trace_id", id)) // joins the line to its trace
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "http", attrs...)
		return nil
	}
}

// recoverPanic turns a handler panic into a 500 and logs the stack.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}
