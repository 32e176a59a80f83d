package console

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

// Audit actions, as the API names them.
const (
	actionList     = "appointments.list"
	actionCheckIn  = "appointments.checkin"
	actionComplete = "appointments.complete"
)

func actorOf(a staff.Account) appointments.StaffActor {
	return appointments.StaffActor{ID: a.Username, Role: a.Role, HallIDs: a.HallIDs}
}

// audit writes one console action to the staff audit log with a context that
// outlives the request; a failure is logged and returned.
func (c *Console) audit(ec echo.Context, action, target, hallID string, err error) error {
	a := accountOf(ec)
	ctx := context.WithoutCancel(ec.Request().Context())
	aerr := c.auth.Audit(ctx, staff.Entry{
		Actor: a.Username, Role: a.Role, Action: action, Target: target,
		HallID: hallID, IP: ec.RealIP(), Outcome: outcomeOf(err),
	})
	if aerr != nil {
		c.log.ErrorContext(ctx, "audit log write failed", "err", aerr, "action", action)
	}
	return aerr
}

// errAuditUnavailable: a page with citizens' data is not shown unless its
// audit record was written (as in the API).
var errAuditUnavailable = platform.NewError("audit_unavailable", "审计日志暂不可用，请稍后重试")

type homeData struct {
	Halls   []string
	Desk    bool
	Finance bool
	Admin   bool
}

func (c *Console) home(ec echo.Context) error {
	a := accountOf(ec)
	d := homeData{
		Halls:   a.HallIDs,
		Desk:    a.HasRole(staff.RoleAdmin, staff.RoleHallStaff),
		Finance: a.HasRole(staff.RoleFinance),
		Admin:   a.HasRole(staff.RoleAdmin),
	}
	return c.render(ec, http.StatusOK, "home", view{Title: "工作台", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// goHall opens the today page of the hall typed on the home page.
func (c *Console) goHall(ec echo.Context) error {
	id := ec.QueryParam("hall_id")
	if !platform.ValidCatalogID(id) {
		return c.errorPage(ec, http.StatusNotFound, "没有这个大厅")
	}
	return ec.Redirect(http.StatusSeeOther, "/console/halls/"+id+"/today")
}

// todayData is the today page: the list, its filters, and the check-in
// form's state.
type todayData struct {
	HallID       string
	DepartmentID string
	Status       string
	Statuses     []string
	Page         appointments.StaffPage
	TableURL     template.URL // the table fragment with the filters, for htmx
	CSVURL       template.URL // the CSV export with the filters
	Code         string       // the typed check-in code, kept on error
	CodeError    string
	Notice       string
	ActionError  string
	// Queue calling: shown when the console has a Counter; the department
	// and window stay filled in between calls.
	Counter        bool
	CallDepartment string
	Window         string
	CallError      string
	// Departments of the hall for the department pickers (empty: the
	// pickers fall back to typing the department's id).
	Departments []appointments.Department
}

func (c *Console) query(ec echo.Context) appointments.StaffListQuery {
	return appointments.StaffListQuery{
		HallID: ec.Param("hall_id"), DepartmentID: ec.QueryParam("department_id"), Status: ec.QueryParam("status"),
		PageSize: 100,
	}
}

// loadToday checks the hall, lists it and audits the listing; it answers the
// browser itself (and returns false) on any failure.
func (c *Console) loadToday(ec echo.Context, q appointments.StaffListQuery) (todayData, bool, error) {
	a := accountOf(ec)
	d := todayData{
		HallID: q.HallID, DepartmentID: q.DepartmentID, Status: q.Status, Counter: c.counter != nil,
		CallDepartment: ec.QueryParam("call_department"), Window: ec.QueryParam("window"),
		Statuses: []string{appointments.StatusBooked, appointments.StatusCheckedIn, appointments.StatusCompleted,
			appointments.StatusNoShow, appointments.StatusCancelled},
	}
	v := url.Values{}
	if q.DepartmentID != "" {
		v.Set("department_id", q.DepartmentID)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	base := "/console/halls/" + url.PathEscape(q.HallID) + "/today"
	qs := ""
	if len(v) > 0 {
		qs = "?" + v.Encode()
	}
	// Built here, escaped once: html/template would escape a query string
	// placed after "?" a second time.
	d.TableURL = template.URL(base + "/table" + qs)
	d.CSVURL = template.URL(base + ".csv" + qs)
	var err error
	if !a.CanAccessHall(q.HallID) {
		err = appointments.ErrForbidden
		if a.HasRole(staff.RoleHallStaff) {
			err = appointments.ErrWrongHall
		}
	} else {
		d.Page, err = c.desk.ListForStaff(ec.Request().Context(), actorOf(a), q)
	}
	if aerr := c.audit(ec, actionList, q.HallID, q.HallID, err); aerr != nil && err == nil {
		err = errAuditUnavailable
	}
	if err != nil {
		return d, false, c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	return d, true, nil
}

func (c *Console) today(ec echo.Context) error {
	d, ok, err := c.loadToday(ec, c.query(ec))
	if !ok {
		return err
	}
	d.Notice = ec.QueryParam("notice")
	return c.showToday(ec, http.StatusOK, d)
}

func (c *Console) showToday(ec echo.Context, status int, d todayData) error {
	a := accountOf(ec)
	deps, err := c.desk.ListDepartments(ec.Request().Context(), d.HallID)
	if err != nil {
		c.log.WarnContext(ec.Request().Context(), "console: departments not listed; typing the id instead", "hall", d.HallID, "err", err)
	}
	d.Departments = deps
	return c.render(ec, status, "today", view{Title: "今日预约", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// todayTable is the table fragment htmx polls.
func (c *Console) todayTable(ec echo.Context) error {
	d, ok, err := c.loadToday(ec, c.query(ec))
	if !ok {
		return err
	}
	return c.renderTemplate(ec, http.StatusOK, "today", "table", view{CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

func (c *Console) todayCSV(ec echo.Context) error {
	a := accountOf(ec)
	q := c.query(ec)
	q.PageSize = 0
	var buf bytes.Buffer
	var err error
	if !a.CanAccessHall(q.HallID) {
		err = appointments.ErrWrongHall
	} else {
		err = c.desk.WriteStaffCSV(ec.Request().Context(), &buf, actorOf(a), q)
	}
	if aerr := c.audit(ec, actionList, q.HallID, q.HallID, err); aerr != nil && err == nil {
		err = errAuditUnavailable
	}
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	ec.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="appointments-`+q.HallID+`.csv"`)
	return ec.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// checkin checks a citizen in by the typed short code or the scanned QR
// text; on failure the today page comes back with the message next to the
// field and the code kept.
func (c *Console) checkin(ec echo.Context) error {
	a := accountOf(ec)
	hallID := ec.FormValue("hall_id")
	code := ec.FormValue("code")
	var appt appointments.StaffAppointment
	var err error
	if code == "" {
		err = platform.Invalid("code", "required", "请输入签到码")
	} else {
		appt, err = c.desk.CheckIn(ec.Request().Context(), actorOf(a), code)
	}
	_ = c.audit(ec, actionCheckIn, appt.ID, appt.HallID, err)
	if err == nil {
		if hallID == "" {
			hallID = appt.HallID
		}
		return ec.Redirect(http.StatusSeeOther, "/console/halls/"+url.PathEscape(hallID)+"/today?notice="+
			url.QueryEscape("已签到，排队号 "+appt.QueueNumber))
	}
	return c.todayFailed(ec, hallID, err, func(d *todayData) { d.Code, d.CodeError = code, c.messageOf(ec, err) })
}

// complete marks a checked-in appointment served.
func (c *Console) complete(ec echo.Context) error {
	a := accountOf(ec)
	id := ec.Param("id")
	hallID := ec.FormValue("hall_id")
	appt, err := c.desk.Complete(ec.Request().Context(), actorOf(a), id)
	if appt.HallID != "" {
		hallID = appt.HallID
	}
	_ = c.audit(ec, actionComplete, id, hallID, err)
	if err == nil {
		return ec.Redirect(http.StatusSeeOther, "/console/halls/"+url.PathEscape(hallID)+"/today?notice="+
			url.QueryEscape("已办结 "+appt.QueueNumber))
	}
	return c.todayFailed(ec, hallID, err, func(d *todayData) { d.ActionError = c.messageOf(ec, err) })
}
