package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz pings MongoDB and Redis; 503 when either does not answer in 2 s.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"mongodb": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.deps.Mongo.Ping(ctx); err != nil {
		checks["mongodb"] = "down"
		status = http.StatusServiceUnavailable
		s.log.WarnContext(ctx, "readyz: mongodb down", "err", err)
	}
	if err := s.deps.RedisPing.Ping(ctx); err != nil {
		checks["redis"] = "down"
		status = http.StatusServiceUnavailable
		s.log.WarnContext(ctx, "readyz: redis down", "err", err)
	}
	if status != http.StatusOK {
		return c.JSON(status, map[string]any{"error": answer{Code: errNotReady.Code, Message: errNotReady.Message}, "checks": checks})
	}
	return c.JSON(status, map[string]any{"status": "ready", "checks": checks})
}
