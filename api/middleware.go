package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

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

// accessLog writes one structured line per request. It logs the route
// template, never the raw path or query (they may carry identifiers), and no
// bodies or headers.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the answer now so the status below is the real one
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		attrs := []any{
			"method", c.Request().Method, "route", route, "status", c.Response().Status,
			"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			"bytes_out", c.Response().Size,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
		}
		if uid, ok := c.Get(ctxUserID).(string); ok {
			attrs = append(attrs, "user_id", uid)
		}
		s.log.InfoContext(c.Request().Context(), "http", attrs...)
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

// observe feeds the Prometheus metrics.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(c.Request().Method, route, c.Response().Status, time.Since(start))
		return nil
	}
}
