// Package console is Banshi's server-rendered staff console under /console/:
// hall staff log in, see today's appointments of their halls, check citizens
// in and mark them served; finance staff and admins get their entry pages.
// A hall's queue display (/console/halls/{hall_id}/display) needs no login
// and shows queue numbers and windows only, kept current over Server-Sent
// Events.
//
// Pages are html/template from embedded files; scripts and styles are
// embedded static files (htmx vendored), so the Content-Security-Policy
// allows 'self' only. Every form POST carries a CSRF token; every action is
// written to the staff audit log with the action names the API uses.
package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/api"
	"banshi/appointments"
	"banshi/evaluations"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Auth is what the console needs of staff accounts: sessions and the audit
// log.
type Auth interface {
	Login(ctx context.Context, username, password, ip string) (staff.Session, error)
	Logout(ctx context.Context, token, ip string) error
	Authenticate(ctx context.Context, token string) (staff.Account, error)
	// Check is Authenticate without extending the session (a page's own
	// periodic refresh).
	Check(ctx context.Context, token string) (staff.Account, error)
	Audit(ctx context.Context, e staff.Entry) error
}

// Desk is what the console does with a hall's appointments.
type Desk interface {
	CheckIn(ctx context.Context, actor appointments.StaffActor, code string) (appointments.StaffAppointment, error)
	ListForStaff(ctx context.Context, actor appointments.StaffActor, q appointments.StaffListQuery) (appointments.StaffPage, error)
	WriteStaffCSV(ctx context.Context, w io.Writer, actor appointments.StaffActor, q appointments.StaffListQuery) error
	Complete(ctx context.Context, actor appointments.StaffActor, appointmentID string) (appointments.StaffAppointment, error)
	// ListDepartments names the hall's departments for the pickers.
	ListDepartments(ctx context.Context, hallID string) ([]appointments.Department, error)
}

var (
	_ Auth = (*staff.Service)(nil)
	_ Desk = (*appointments.Service)(nil)
)

// Deps is everything the console calls.
type Deps struct {
	Log  *slog.Logger
	Auth Auth
	Desk Desk
	// Boards feeds the hall queue displays; nil: the display pages answer
	// 404 (the queue board is not there yet).
	Boards QueueBoards
	// Calendar sets holidays and hall closures (administrators); nil: no
	// calendar page. CatalogChanged runs after a change (drops cached
	// availability, as the API's admin routes do); optional.
	Calendar       Calendar
	CatalogChanged func()
	// Licences verifies 亮证 tokens at the counter; nil: no such page.
	Licences LicenceVerifier
	// Tickets handles the 差评 tickets of the account's halls; nil: no
	// such page.
	Tickets Tickets
	// Counter calls the queue and marks missed bookings; nil: the hall page
	// has no queue calling.
	Counter Counter
	// Catalog (halls, departments, services, schedules) and Accounts (staff
	// accounts) serve the administrators' pages; nil: no such page.
	Catalog  Catalog
	Accounts StaffAccounts
	// Finance serves the finance pages (orders, refunds, reconciliation);
	// nil: the console has no finance pages.
	Finance *Finance
	// Administrators' operations pages; each nil: no such page.
	// Integrations: department systems (create, rotate, disable); Outbox:
	// dead letters and their retry; AuditLog: the staff audit log;
	// EvaluationStats: 好差评 statistics.
	Integrations    Integrations
	Outbox          Outbox
	AuditLog        AuditLog
	EvaluationStats EvaluationStats
	// Dashboard feeds the administrators' dashboard; nil: no such page.
	Dashboard *Dashboard
	// Secret keys the CSRF tokens; the console derives its own key from
	// it, so the session secret can be passed. Required unless Development
	// (then a random key is used when it is empty).
	Secret []byte
	// PreviousSecret is the session secret before a rotation (nil: none):
	// forms rendered under it are still accepted.
	PreviousSecret []byte
	// Development drops the Secure attribute of the cookies (plain HTTP on
	// localhost).
	Development bool
	// Heartbeat is the interval of the display stream's comment heartbeat;
	// zero: 15 s.
	Heartbeat time.Duration
}

// Console is the staff console. Register it as an api.Feature.
type Console struct {
	log      *slog.Logger
	auth     Auth
	desk     Desk
	boards   QueueBoards
	counter  Counter
	calendar Calendar
	licences LicenceVerifier
	tickets  Tickets
	finance  *Finance
	// administrators' operations pages (nil: none)
	integrations Integrations
	outbox       Outbox
	auditLog     AuditLog
	evalStats    EvaluationStats
	catalog      Catalog
	accounts     StaffAccounts
	// dashboard feeds /console/admin/dashboard; may be nil.
	dashboard *Dashboard
	// loginLimit is the API server's per-IP login limit (set by Register).
	loginLimit func(echo.Context) error
	// catalogChanged runs after a calendar change; may be nil.
	catalogChanged func()
	csrfKey        []byte
	csrfPrevKey    []byte // the previous secret's (nil: no rotation under way)
	secure         bool
	heartbeat      time.Duration
	pages          map[string]*template.Template
	static         fs.FS
	e              *echo.Echo // the console's own router
}

var _ api.Feature = (*Console)(nil)

// New checks deps and parses the templates.
func New(d Deps) (*Console, error) {
	if d.Log == nil || d.Auth == nil || d.Desk == nil {
		return nil, errors.New("console: Log, Auth and Desk are required")
	}
	if d.Finance != nil && (d.Finance.Orders == nil || d.Finance.Recon == nil) {
		return nil, errors.New("console: Finance needs Orders and Recon")
	}
	if d.Dashboard != nil && (d.Dashboard.Appointments == nil || d.Dashboard.Messages == nil || d.Dashboard.Payments == nil) {
		return nil, errors.New("console: Dashboard needs Appointments, Messages and Payments")
	}
	secret := d.Secret
	if len(secret) == 0 {
		if !d.Development {
			return nil, errors.New("console: Secret is required")
		}
		// Development without a session secret: a key for this process
		// only (forms open across a restart are refused once).
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	csrfKey := func(secret []byte) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte("banshi console csrf v1"))
		return mac.Sum(nil)
	}
	c := &Console{
		log: d.Log, auth: d.Auth, desk: d.Desk, boards: d.Boards, counter: d.Counter,
		calendar: d.Calendar, catalogChanged: d.CatalogChanged, licences: d.Licences, tickets: d.Tickets,
		finance: d.Finance, dashboard: d.Dashboard, catalog: d.Catalog, accounts: d.Accounts,
		integrations: d.Integrations, outbox: d.Outbox, auditLog: d.AuditLog, evalStats: d.EvaluationStats,
		csrfKey: csrfKey(secret), secure: !d.Development, heartbeat: d.Heartbeat,
		pages: map[string]*template.Template{},
	}
	if c.heartbeat <= 0 {
		c.heartbeat = 15 * time.Second
	}
	funcs := template.FuncMap{
		"hm":               func(t time.Time) string { return platform.Local(t).Format("15:04") },
		"hms":              func(t time.Time) string { return platform.Local(t).Format("15:04:05") },
		"statusLabel":      statusLabel,
		"roleLabel":        roleLabel,
		"kindLabel":        kindLabel,
		"ymd":              func(t time.Time) string { return platform.Local(t).Format(time.DateOnly) },
		"ticketStateLabel": ticketStateLabel,
		"nextTicketStep":   nextTicketStep,
		"yuan":             yuan,
		"ymdhms":           func(t time.Time) string { return platform.Local(t).Format("2006-01-02 15:04:05") },
		"orderLabel":       orderLabel,
		"reconLabel":       reconLabel,
		"scopeLabel":       scopeLabel,
		"outboxStateLabel": outboxStateLabel,
		"dimLabel":         dimLabel,
		"groupLabel":       groupLabel,
		"levelName":        evaluations.LevelName,
		"percent":          percent,
	}
	// Each page is parsed with the layout and the fragments.
	for _, name := range []string{"login", "home", "today", "error", "display", "admin_calendar", "licence_verify", "tickets",
		"finance_orders", "finance_order", "finance_recon",
		"admin_integrations", "admin_integration_secret", "admin_outbox", "admin_audit", "admin_evaluations",
		"admin_dashboard"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/fragments.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		c.pages[name] = t
	}
	if err := c.parseAdminPages(funcs); err != nil {
		return nil, err
	}
	st, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = st
	if len(d.PreviousSecret) > 0 {
		c.csrfPrevKey = csrfKey(d.PreviousSecret)
	}
	c.e = c.router(echo.ExtractIPDirect())
	return c, nil
}

// router is the console's own router, bound to c, reading client IPs with ip.
func (c *Console) router(ip echo.IPExtractor) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ip
	e.HTTPErrorHandler = c.httpError
	e.Use(c.headers)
	c.routes(e.Group("/console"))
	return e
}

// Register mounts the console under /console/ on the server's echo
// instance: one catch-all route handing every /console/ request to the
// console's own router, which answers errors as HTML pages (not the API's
// JSON) and is not part of the API's OpenAPI contract. Client IPs are read
// as the server reads them (its trusted proxies).
func (c *Console) Register(r api.Router) {
	// A copy per server: its client-IP rule and login limit are that
	// server's, and registering on another server (tests build variants
	// of one) changes nothing here.
	outer := r.Server().Echo()
	cc := *c
	cc.loginLimit = r.Server().AllowLogin
	cc.e = cc.router(outer.IPExtractor)
	outer.Group("/console").Any("/*", echo.WrapHandler(cc.e))
}

// Handler returns the console's router (paths start with /console/).
func (c *Console) Handler() http.Handler { return c.e }

// routes adds the console's routes to g (the /console group).
func (c *Console) routes(g *echo.Group) {
	static := http.StripPrefix("/console/static/", http.FileServerFS(c.static))
	g.GET("/static/*", echo.WrapHandler(static))
	g.GET("/login", c.loginPage)
	g.POST("/login", c.login)
	g.POST("/logout", c.logout, c.requirePost)
	g.GET("/", c.home, c.requireSession)
	g.GET("/go", c.goHall, c.requireSession)
	g.GET("/halls/:hall_id/today", c.today, c.requireSession)
	g.GET("/halls/:hall_id/today/table", c.todayTable, c.requireQuietSession)
	g.GET("/halls/:hall_id/today.csv", c.todayCSV, c.requireSession)
	g.POST("/checkin", c.checkin, c.requirePost)
	g.POST("/appointments/:id/complete", c.complete, c.requirePost)
	if c.counter != nil {
		g.POST("/halls/:hall_id/queue/call-next", c.callNext, c.requirePost)
		g.POST("/appointments/:id/recall", c.queueAction(actionRecall, "已重呼", c.recall), c.requirePost)
		g.POST("/appointments/:id/skip", c.queueAction(actionSkip, "已过号", c.skip), c.requirePost)
		g.POST("/appointments/:id/no-show", c.queueAction(actionNoShow, "已标记爽约", c.noShow), c.requirePost)
	}
	c.adminRoutes(g)
	c.integrationRoutes(g)
	c.outboxRoutes(g)
	c.auditRoutes(g)
	c.evalStatsRoutes(g)
	c.catalogRoutes(g)
	c.staffRoutes(g)
	c.dashboardRoutes(g)
	c.licenceRoutes(g)
	c.ticketRoutes(g)
	if c.finance != nil {
		c.financeRoutes(g)
	}
	g.GET("/halls/:hall_id/display", c.display)
	g.GET("/halls/:hall_id/display/events", c.displayEvents)
}

// httpError answers the router's own errors (unknown page, wrong method) as
// an HTML page.
func (c *Console) httpError(err error, ec echo.Context) {
	if ec.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "系统繁忙，请稍后重试"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch status {
		case http.StatusNotFound:
			msg = "页面不存在"
		case http.StatusMethodNotAllowed:
			msg = "不支持该请求方式"
		case http.StatusRequestEntityTooLarge:
			msg = "提交的内容过大"
		}
	} else {
		c.log.ErrorContext(ec.Request().Context(), "console request failed", "path", ec.Path(), "err", err)
	}
	if rerr := c.errorPage(ec, status, msg); rerr != nil {
		c.log.ErrorContext(ec.Request().Context(), "console error page failed", "err", rerr)
	}
}

// csp is the Content-Security-Policy of every console answer.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// headers sets the security headers on every console answer; pages are not
// stored, static files may be cached briefly.
func (c *Console) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		h := ec.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // a POST met by an expired session returns to its page after login
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(ec.Path(), "/console/static/") {
			h.Set("Cache-Control", "public, max-age=300")
		} else {
			h.Set("Cache-Control", "no-store")
		}
		return next(ec)
	}
}

// view is what every page template gets.
type view struct {
	Title   string
	Account *staff.Account
	CSRF    string
	Data    any
}

// render writes page name with status.
func (c *Console) render(ec echo.Context, status int, name string, v view) error {
	return c.renderTemplate(ec, status, name, "layout", v)
}

// renderTemplate executes one template of page name's set into a buffer
// first, so a failure still answers a clean 500.
func (c *Console) renderTemplate(ec echo.Context, status int, page, tmpl string, data any) error {
	var buf bytes.Buffer
	if err := c.pages[page].ExecuteTemplate(&buf, tmpl, data); err != nil {
		c.log.ErrorContext(ec.Request().Context(), "console template failed", "page", page, "err", err)
		return ec.String(http.StatusInternalServerError, "系统错误，请稍后重试")
	}
	return ec.HTMLBlob(status, buf.Bytes())
}

// errorPage renders the error page with the message people read.
func (c *Console) errorPage(ec echo.Context, status int, message string) error {
	acct, _ := ec.Get(ctxAccount).(staff.Account)
	v := view{Title: http.StatusText(status), Data: errorData{Status: status, Message: message}}
	if acct.Username != "" {
		v.Account = &acct
		v.CSRF = c.csrfFor(tokenOf(ec))
	}
	return c.render(ec, status, "error", v)
}

type errorData struct {
	Status  int
	Message string
}

// messageOf is the Chinese message of a service error; internal errors are
// logged and get a generic message.
func (c *Console) messageOf(ec echo.Context, err error) string {
	if e, ok := platform.AsError(err); ok {
		return e.Message
	}
	c.log.ErrorContext(ec.Request().Context(), "console action failed", "path", ec.Path(), "err", err)
	return "系统繁忙，请稍后重试"
}

// statusOf is the HTTP status of a service error on a page: the API's, from
// its one error map.
func statusOf(err error) int { return api.StatusOf(err) }

// outcomeOf is the audit outcome of err: "ok" or the error's code.
func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	if code := platform.CodeOf(err); code != "" {
		return code
	}
	return "internal"
}

func statusLabel(s string) string {
	switch s {
	case appointments.StatusBooked:
		return "已预约"
	case appointments.StatusCheckedIn:
		return "已签到"
	case appointments.StatusCompleted:
		return "已办结"
	case appointments.StatusNoShow:
		return "未到"
	case appointments.StatusCancelled:
		return "已取消"
	}
	return s
}

func roleLabel(r string) string {
	switch r {
	case staff.RoleAdmin:
		return "管理员"
	case staff.RoleHallStaff:
		return "大厅工作人员"
	case staff.RoleFinance:
		return "财务人员"
	}
	return r
}
