package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes registers every route. openapi.yaml must describe each one (a test
// checks it).
func (s *Server) routes() {
	e := s.e
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler())
	e.GET("/api/openapi.yaml", s.openapi)

	v1 := e.Group("/api/v1")
	v1.POST("/auth/miniprogram/login", s.loginMiniProgram, s.limitLoginByIP)
	v1.POST("/auth/app/login", s.loginApp, s.limitLoginByIP)
	v1.GET("/hooks/wechat", s.wechatPushCheck)
	v1.POST("/hooks/wechat", s.wechatPush)

	// Authenticated routes take the middleware per route: a group-level
	// middleware would turn unknown paths under /api/v1 into 401s.
	r := Router{Public: v1, s: s}
	r.Citizen(http.MethodPost, "/auth/logout", s.logout)
	r.Citizen(http.MethodPost, "/auth/logout-all", s.logoutAll)
	r.Citizen(http.MethodGet, "/me", s.me)
	r.Citizen(http.MethodPut, "/me/favorites", s.putFavorites)
	r.Citizen(http.MethodPost, "/me/realname/declare", s.realnameDeclare)
	r.Citizen(http.MethodPost, "/me/realname/check", s.realnameCheck)
	r.Citizen(http.MethodPost, "/me/realname/face/start", s.faceStart)
	r.Citizen(http.MethodPost, "/me/realname/face/finish", s.faceFinish)

	for _, f := range s.deps.Features {
		f.Register(r)
	}

	if s.deps.Sim != nil {
		sim := echo.WrapHandler(s.deps.Sim)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			e.Add(m, "/sim/*", sim)
		}
	}
}

// Router is what a Feature uses to add its routes under /api/v1.
type Router struct {
	Public *echo.Group // no authentication
	s      *Server
}

// Citizen adds a route that needs a citizen session (and counts against the
// per-user rate limit).
func (r Router) Citizen(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.Public.Add(method, path, h, append([]echo.MiddlewareFunc{r.s.requireCitizen}, m...)...)
}

// Server returns the server, for features that need its helpers.
func (r Router) Server() *Server { return r.s }
