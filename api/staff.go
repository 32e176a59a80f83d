package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

// StaffAuth is what the staff routes need of staff accounts.
type StaffAuth interface {
	Login(ctx context.Context, username, password, ip string) (staff.Session, error)
	Logout(ctx context.Context, token, ip string) error
	// Authorize authenticates the token (sliding the session) and takes one
	// request of perMinute (0: no limit) from the account's budget.
	Authorize(ctx context.Context, token string, perMinute int) (staff.Account, platform.RateDecision, error)
	Audit(ctx context.Context, e staff.Entry) error
	ListAudit(ctx context.Context, q staff.AuditQuery) ([]staff.Entry, error)
}

// HallDesk is what hall staff and admins do with appointments and the catalog.
type HallDesk interface {
	CheckIn(ctx context.Context, actor appointments.StaffActor, code string) (appointments.StaffAppointment, error)
	ListForStaff(ctx context.Context, actor appointments.StaffActor, q appointments.StaffListQuery) (appointments.StaffPage, error)
	WriteStaffCSV(ctx context.Context, w io.Writer, actor appointments.StaffActor, q appointments.StaffListQuery) error
	Complete(ctx context.Context, actor appointments.StaffActor, appointmentID string) (appointments.StaffAppointment, error)
	MarkNoShow(ctx context.Context, actor appointments.StaffActor, appointmentID string) (appointments.StaffAppointment, error)
	CancelByStaff(ctx context.Context, actor appointments.StaffActor, appointmentID, reason string) (appointments.StaffAppointment, error)

	CreateHall(ctx context.Context, h appointments.Hall) (appointments.Hall, error)
	UpdateHall(ctx context.Context, h appointments.Hall) (appointments.Hall, error)
	CreateDepartment(ctx context.Context, d appointments.Department) (appointments.Department, error)
	UpdateDepartment(ctx context.Context, d appointments.Department) (appointments.Department, error)
	CreateService(ctx context.Context, v appointments.ServiceItem) (appointments.ServiceItem, error)
	UpdateService(ctx context.Context, v appointments.ServiceItem) (appointments.ServiceItem, error)
	CreateSchedule(ctx context.Context, sc appointments.Schedule) (appointments.Schedule, error)
	UpdateSchedule(ctx context.Context, sc appointments.Schedule) (appointments.Schedule, error)
	DeleteSchedule(ctx context.Context, id string) error
	ListSchedules(ctx context.Context, hallID string) ([]appointments.Schedule, error)
	PutCalendarDay(ctx context.Context, c appointments.CalendarDay) (appointments.CalendarDay, error)
	DeleteCalendarDay(ctx context.Context, hallID, date string) error
	ListCalendar(ctx context.Context, hallID, from, to string) ([]appointments.CalendarDay, error)
	Import(ctx context.Context, in appointments.CatalogImport) (appointments.ImportResult, error)
}

var (
	_ StaffAuth = (*staff.Service)(nil)
	_ HallDesk  = (*appointments.Service)(nil)
)

// StaffRoutes are the routes of hall staff, finance staff and admins under
// /api/v1/staff. Every action is written to the audit log.
type StaffRoutes struct {
	Auth StaffAuth
	Desk HallDesk
	// CatalogChanged runs after a successful admin change of the catalog
	// (it drops cached availability). Optional.
	CatalogChanged func()
}

const (
	ctxStaff       = "banshi.staff"
	ctxStaffToken  = "banshi.staff_token"
	ctxAuditTarget = "banshi.audit_target" // set by a handler whose target is not in the path
)

// ImportBodyLimit is the largest catalog import accepted.
const ImportBodyLimit = 4 << 20

// Register adds the routes.
func (st StaffRoutes) Register(r Router) {
	s := r.Server()
	g := r.Public.Group("/staff")
	g.POST("/login", st.login, s.limitLoginByIP)
	desk := []string{staff.RoleAdmin, staff.RoleHallStaff}
	admin := []string{staff.RoleAdmin}
	everyone := []string{staff.RoleAdmin, staff.RoleHallStaff, staff.RoleFinance}
	g.POST("/logout", st.logout, st.require(s, "staff.logout", everyone...))
	g.POST("/checkin", st.checkin, st.require(s, "appointments.checkin", desk...))
	g.GET("/halls/:hall_id/appointments", st.list, st.require(s, "appointments.list", desk...))
	g.POST("/appointments/:id/complete", st.complete, st.require(s, "appointments.complete", desk...))
	g.POST("/appointments/:id/no-show", st.noShow, st.require(s, "appointments.no_show", desk...))
	g.POST("/appointments/:id/cancel", st.cancelAppointment(s), st.require(s, "appointments.cancel", desk...))
	g.GET("/audit", st.audit, st.require(s, "audit.list", admin...))

	a := g.Group("/admin", st.afterCatalogChange)
	a.POST("/halls", st.createHall, st.require(s, "catalog.hall.create", admin...))
	a.PUT("/halls/:id", st.updateHall, st.require(s, "catalog.hall.update", admin...))
	a.POST("/departments", st.createDepartment, st.require(s, "catalog.department.create", admin...))
	a.PUT("/departments/:id", st.updateDepartment, st.require(s, "catalog.department.update", admin...))
	a.POST("/services", st.createService, st.require(s, "catalog.service.create", admin...))
	a.PUT("/services/:id", st.updateService, st.require(s, "catalog.service.update", admin...))
	a.GET("/halls/:hall_id/schedules", st.listSchedules, st.require(s, "catalog.schedule.list", admin...))
	a.POST("/schedules", st.createSchedule, st.require(s, "catalog.schedule.create", admin...))
	a.PUT("/schedules/:id", st.updateSchedule, st.require(s, "catalog.schedule.update", admin...))
	a.DELETE("/schedules/:id", st.deleteSchedule, st.require(s, "catalog.schedule.delete", admin...))
	a.GET("/calendar", st.listCalendar, st.require(s, "catalog.calendar.list", admin...))
	a.PUT("/calendar", st.putCalendar, st.require(s, "catalog.calendar.put", admin...))
	a.DELETE("/calendar", st.deleteCalendar, st.require(s, "catalog.calendar.delete", admin...))
	a.POST("/import", st.importCatalog, st.require(s, "catalog.import", admin...))
}

// afterCatalogChange calls CatalogChanged after every successful admin write.
func (st StaffRoutes) afterCatalogChange(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil && c.Request().Method != http.MethodGet && st.CatalogChanged != nil {
			st.CatalogChanged()
		}
		return err
	}
}

// require authenticates the staff bearer token, applies the per-staff rate
// limit (not audited: a flood would fill the log), checks the role, and writes
// the action to the audit log once the handler has answered (outcome "ok" or
// the error code), with a context that outlives the request. An answer that
// shows citizens' data (piiActions) is held until its record is written and
// refused with 503 audit_unavailable when it cannot be; the record of any
// other action is logged as lost (the action has happened). Citizen tokens
// are not staff tokens: 401.
func (st StaffRoutes) require(s *Server, action string, roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			noStore(c)
			ctx := c.Request().Context()
			token := bearer(c)
			if token == "" {
				return staff.ErrUnauthenticated
			}
			// The session and the per-staff limit: one Redis round trip.
			acct, dec, err := st.Auth.Authorize(ctx, token, s.deps.Limits.StaffPerUser)
			if err != nil {
				return err
			}
			if !dec.Allowed {
				return limited(dec.RetryAfter)
			}
			c.Set(ctxStaff, acct)
			c.Set(ctxStaffToken, token)
			finish := func(bool) error { return nil }
			err = staff.Require(acct, roles...)
			if err == nil {
				finish, err = holdAnswer(c, action, next)
			}
			outcome := "ok"
			if err != nil {
				a, _ := answerFor(err)
				outcome = a.Code
			}
			target, _ := c.Get(ctxAuditTarget).(string)
			if target == "" {
				target = pathParam(c, "id")
			}
			if target == "" {
				target = pathParam(c, "hall_id")
			}
			aerr := st.writeAudit(ctx, staff.Entry{
				Actor: acct.Username, Role: acct.Role, Action: action, Target: target,
				HallID: pathParam(c, "hall_id"), IP: c.RealIP(), Outcome: outcome,
			})
			if aerr != nil {
				s.log.ErrorContext(ctx, "audit log write failed", "err", aerr, "action", action)
			}
			if ferr := finish(aerr == nil); ferr != nil {
				return ferr
			}
			return err
		}
	}
}

func actor(c echo.Context) appointments.StaffActor {
	a, _ := c.Get(ctxStaff).(staff.Account)
	return appointments.StaffActor{ID: a.Username, Role: a.Role, HallIDs: a.HallIDs}
}

type staffLoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (st StaffRoutes) login(c echo.Context) error {
	var req staffLoginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("username", req.Username, "password", req.Password); err != nil {
		return err
	}
	sess, err := st.Auth.Login(c.Request().Context(), req.Username, req.Password, c.RealIP())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sess)
}

func (st StaffRoutes) logout(c echo.Context) error {
	token, _ := c.Get(ctxStaffToken).(string)
	if err := st.Auth.Logout(c.Request().Context(), token, c.RealIP()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type checkinRequest struct {
	Code string `json:"code"`
}

func (st StaffRoutes) checkin(c echo.Context) error {
	var req checkinRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("code", req.Code); err != nil {
		return err
	}
	a, err := st.Desk.CheckIn(c.Request().Context(), actor(c), req.Code)
	if err != nil {
		return err
	}
	c.Set(ctxAuditTarget, a.ID)
	return c.JSON(http.StatusOK, a)
}

func (st StaffRoutes) list(c echo.Context) error {
	q := appointments.StaffListQuery{
		HallID: pathParam(c, "hall_id"), Date: c.QueryParam("date"),
		DepartmentID: c.QueryParam("department_id"), Status: c.QueryParam("status"),
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &q.Page}, {"page_size", &q.PageSize}} {
		if v := c.QueryParam(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return invalid(p.name, "range", "应为正整数")
			}
			*p.dst = n
		}
	}
	ctx := c.Request().Context()
	switch c.QueryParam("format") {
	case "", "json":
		page, err := st.Desk.ListForStaff(ctx, actor(c), q)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	case "csv":
		// WriteStaffCSV returns its errors before writing anything, so a
		// failure still gets the JSON error body.
		var buf bytes.Buffer
		if err := st.Desk.WriteStaffCSV(ctx, &buf, actor(c), q); err != nil {
			return err
		}
		name := "appointments-" + q.HallID + "-" + q.Date + ".csv"
		if q.Date == "" {
			name = "appointments-" + q.HallID + ".csv"
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	default:
		return invalid("format", "enum", "格式应为 json 或 csv")
	}
}

func (st StaffRoutes) complete(c echo.Context) error {
	a, err := st.Desk.Complete(c.Request().Context(), actor(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (st StaffRoutes) noShow(c echo.Context) error {
	a, err := st.Desk.MarkNoShow(c.Request().Context(), actor(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

type staffCancelRequest struct {
	Reason string `json:"reason"`
}

// cancelAppointment cancels a booking for the hall with a reason the
// citizen is told; its seat is free at once.
func (st StaffRoutes) cancelAppointment(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req staffCancelRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		a, err := st.Desk.CancelByStaff(c.Request().Context(), actor(c), pathParam(c, "id"), req.Reason)
		if err != nil {
			return err
		}
		if st.CatalogChanged != nil {
			st.CatalogChanged() // drops cached availability: a seat is free
		}
		s.PageChanged(c, a.UserID)
		return c.JSON(http.StatusOK, a)
	}
}

func (st StaffRoutes) audit(c echo.Context) error {
	q := staff.AuditQuery{Actor: c.QueryParam("actor"), Action: c.QueryParam("action"), Target: c.QueryParam("target"),
		HallID: c.QueryParam("hall_id"), Outcome: c.QueryParam("outcome")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v := c.QueryParam(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return invalid(p.name, "format", "时间格式应为 RFC 3339")
			}
			*p.dst = t
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return invalid("limit", "range", "条数应为 1 至 1000 的整数")
		}
		q.Limit = n
	}
	entries, err := st.Auth.ListAudit(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

// errIDMismatch: the body names another ID than the path.
var errIDMismatch = invalid("id", "mismatch", "请求体中的编号与路径不一致")

// adminWrite decodes a body of type T, runs write, and answers status.
func adminWrite[T any](c echo.Context, status int, pathID func(*T) *string, write func(context.Context, T) (T, error)) error {
	var v T
	if err := bindJSON(c, &v); err != nil {
		return err
	}
	if pathID != nil {
		id := pathID(&v)
		if *id != "" && *id != pathParam(c, "id") {
			return errIDMismatch
		}
		*id = pathParam(c, "id")
	}
	out, err := write(c.Request().Context(), v)
	if err != nil {
		return err
	}
	return c.JSON(status, out)
}

func (st StaffRoutes) createHall(c echo.Context) error {
	return adminWrite(c, http.StatusCreated, nil, st.Desk.CreateHall)
}
func (st StaffRoutes) updateHall(c echo.Context) error {
	return adminWrite(c, http.StatusOK, func(h *appointments.Hall) *string { return &h.ID }, st.Desk.UpdateHall)
}
func (st StaffRoutes) createDepartment(c echo.Context) error {
	return adminWrite(c, http.StatusCreated, nil, st.Desk.CreateDepartment)
}
func (st StaffRoutes) updateDepartment(c echo.Context) error {
	return adminWrite(c, http.StatusOK, func(d *appointments.Department) *string { return &d.ID }, st.Desk.UpdateDepartment)
}
func (st StaffRoutes) createService(c echo.Context) error {
	return adminWrite(c, http.StatusCreated, nil, st.Desk.CreateService)
}
func (st StaffRoutes) updateService(c echo.Context) error {
	return adminWrite(c, http.StatusOK, func(v *appointments.ServiceItem) *string { return &v.ID }, st.Desk.UpdateService)
}
func (st StaffRoutes) createSchedule(c echo.Context) error {
	return adminWrite(c, http.StatusCreated, nil, st.Desk.CreateSchedule)
}
func (st StaffRoutes) updateSchedule(c echo.Context) error {
	return adminWrite(c, http.StatusOK, func(v *appointments.Schedule) *string { return &v.ID }, st.Desk.UpdateSchedule)
}
func (st StaffRoutes) putCalendar(c echo.Context) error {
	return adminWrite(c, http.StatusOK, nil, st.Desk.PutCalendarDay)
}

func (st StaffRoutes) deleteSchedule(c echo.Context) error {
	if err := st.Desk.DeleteSchedule(c.Request().Context(), pathParam(c, "id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (st StaffRoutes) listSchedules(c echo.Context) error {
	list, err := st.Desk.ListSchedules(c.Request().Context(), pathParam(c, "hall_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"schedules": list})
}

func (st StaffRoutes) listCalendar(c echo.Context) error {
	list, err := st.Desk.ListCalendar(c.Request().Context(), c.QueryParam("hall_id"), c.QueryParam("from"), c.QueryParam("to"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"days": list})
}

func (st StaffRoutes) deleteCalendar(c echo.Context) error {
	if err := required("date", c.QueryParam("date")); err != nil {
		return err
	}
	if err := st.Desk.DeleteCalendarDay(c.Request().Context(), c.QueryParam("hall_id"), c.QueryParam("date")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// importCatalog loads halls, departments, services, schedules and calendar
// days in bulk: all validated first, nothing written on any error.
func (st StaffRoutes) importCatalog(c echo.Context) error {
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, ImportBodyLimit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return invalid("body", "format", "无法读取请求体")
	}
	in, err := appointments.ParseImport(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	res, err := st.Desk.Import(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
