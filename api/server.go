package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"banshi/internal/account"
	"banshi/internal/observe/tracing"
	"banshi/internal/platform"
	"banshi/internal/session"
)

// Pinger is a store that can say whether it answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Authenticator logs citizens in and out.
type Authenticator interface {
	Login(ctx context.Context, ch account.Channel, code string) (account.LoginResult, error)
	Logout(ctx context.Context, token string) error
	LogoutAll(ctx context.Context, userID string) (int, error)
}

// RealnameService raises real-name levels.
type RealnameService interface {
	Declare(ctx context.Context, userID, name, idNumber string) (account.User, error)
	Check(ctx context.Context, userID, name, idNumber, code string) (account.User, error)
	FaceStart(ctx context.Context, userID, name, idNumber string) (string, error)
	FaceFinish(ctx context.Context, userID, verifyID string) (account.User, error)
}

// SessionResolver turns a bearer token into a session and keeps the cached
// rendering of the user's page with it.
type SessionResolver interface {
	// Authorize resolves the token, slides the session and takes one
	// request of perMinute (0: no limit) from the user's budget.
	Authorize(ctx context.Context, token string, perMinute int) (session.Session, platform.RateDecision, error)
	SetView(ctx context.Context, token string, view []byte, renderedFrom time.Time) error
	DropViews(ctx context.Context, userID string) error
	RaiseLevel(ctx context.Context, userID string, level int) error // also drops the views
}

var (
	_ Authenticator   = (*account.Auth)(nil)
	_ RealnameService = (*account.Realname)(nil)
	_ SessionResolver = (*session.Store)(nil)
)

// Limits are the request limits of the server.
type Limits struct {
	BodyBytes    int64 // largest request body
	LoginPerIP   int   // logins per client IP per minute
	APIPerUser   int   // API calls per user per minute
	StaffPerUser int   // staff API calls per staff account per minute
}

// Deps is everything the HTTP layer calls.
type Deps struct {
	Log         *slog.Logger
	Limits      Limits
	Redis       redis.UniversalClient // rate limits
	RedisPrefix string
	Mongo       Pinger
	RedisPing   Pinger
	Auth        Authenticator
	Realname    RealnameService
	Sessions    SessionResolver
	Pages       CitizenPages
	Sim         http.Handler // mounted under /sim/ when not nil (development and tests)
	WeChatPush  WeChatPush   // WeChat's message push; nil: push is off (the hook answers 404)
	// Consents records the citizen's separate consents (face verification);
	// nil: none are recorded (tests of other features).
	Consents ConsentRecorder
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (BANSHI_TRUSTED_PROXIES); none: the peer's address is the client's.
	TrustedProxies []netip.Prefix
	Features       []Feature // feature route groups
	// Registry is where /metrics' series live; other parts of Banshi (the
	// outbox) register theirs on it too. Nil: the server makes its own.
	Registry *prometheus.Registry
	// Tracer makes a server span per request (internal/observe/tracing)
	// and the access log names its trace; nil or the no-op provider: no
	// tracing.
	Tracer trace.TracerProvider
}

// Feature is a group of routes a feature package's handlers add.
type Feature interface {
	Register(r Router)
}

// Server is Banshi's HTTP server.
type Server struct {
	e       *echo.Echo
	log     *slog.Logger
	deps    Deps
	metrics *metrics
	limiter *rateLimiter
	drain   draining // set on SIGTERM: /readyz answers 503 (drain.go)
}

// New builds the server and its routes.
func New(deps Deps) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = clientIPExtractor(deps.TrustedProxies)
	s := &Server{e: e, log: deps.Log, deps: deps, metrics: newMetrics(deps.Registry), limiter: newRateLimiter(deps.Redis, deps.RedisPrefix)}
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.requestID)
	if mw := tracing.Server(deps.Tracer); mw != nil {
		e.Use(mw) // outside instrument: the access log line names the trace
	}
	e.Use(s.instrument)
	e.Use(s.recoverPanic) // inside instrument: a panic is logged and counted as its 500
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: bodyLimitString(deps.Limits.BodyBytes),
		// The catalog import takes larger bodies and limits them itself.
		Skipper: func(c echo.Context) bool { return c.Path() == "/api/v1/staff/admin/import" },
	}))
	s.routes()
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.e }

// Echo exposes the router for tests that list routes.
func (s *Server) Echo() *echo.Echo { return s.e }

// HTTPServer returns an http.Server with timeouts suited to a public API.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}

// Registry returns the Prometheus registry the server reports to.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }
