package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpsHandler serves only the operators' routes — /healthz, /readyz and
// /metrics — with the same checks and registry as the full API: what a
// `banshi worker` process (background work, no API) listens with.
func (s *Server) OpsHandler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler())
	return e
}
