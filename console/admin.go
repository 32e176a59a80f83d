package console

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

// Calendar is what administrators do with the holiday calendar and hall
// closures, through the same service as the staff API: a closure or holiday
// cancels the bookings of that day and tells their citizens.
type Calendar interface {
	ListCalendar(ctx context.Context, hallID, from, to string) ([]appointments.CalendarDay, error)
	PutCalendarDay(ctx context.Context, c appointments.CalendarDay) (appointments.CalendarDay, error)
}

var _ Calendar = (*appointments.Service)(nil)

// Audit action of a calendar change, as the API names it.
const actionCalendarPut = "catalog.calendar.put"

type calendarData struct {
	HallID  string
	Days    []appointments.CalendarDay
	Kinds   []string
	Date    string // the form's values, kept on error
	Kind    string
	Name    string
	Notice  string
	Error   string
	ErrorOf string // the field the error names
}

// adminRoutes adds the administrators' pages (when their services are wired).
func (c *Console) adminRoutes(g *echo.Group) {
	if c.calendar == nil {
		return
	}
	g.GET("/admin/calendar", c.calendarPage, c.requireSession)
	g.POST("/admin/calendar", c.putCalendar, c.requirePost)
}

// requireAdmin answers the 403 page unless the account is an administrator.
func (c *Console) requireAdmin(ec echo.Context) (staff.Account, bool, error) {
	a := accountOf(ec)
	if !a.HasRole(staff.RoleAdmin) {
		return a, false, c.errorPage(ec, http.StatusForbidden, appointments.ErrForbidden.Message)
	}
	return a, true, nil
}

// calendarPage lists the calendar of a hall (or every hall: hall_id empty)
// from today for 90 days, with the form to close a day.
func (c *Console) calendarPage(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	d := calendarData{HallID: ec.QueryParam("hall_id"), Notice: ec.QueryParam("notice"), Kind: appointments.DayClosure}
	return c.showCalendar(ec, http.StatusOK, d)
}

func (c *Console) showCalendar(ec echo.Context, status int, d calendarData) error {
	a := accountOf(ec)
	d.Kinds = []string{appointments.DayClosure, appointments.DayHoliday, appointments.DayWorkday}
	from := platform.Local(time.Now()).Format(time.DateOnly)
	to := platform.Local(time.Now().AddDate(0, 0, 90)).Format(time.DateOnly)
	days, err := c.calendar.ListCalendar(ec.Request().Context(), d.HallID, from, to)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d.Days = days
	return c.render(ec, status, "admin_calendar", view{Title: "节假日与闭厅", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// putCalendar sets a day of the calendar; a closure cancels that day's
// bookings and tells the citizens (the service does it).
func (c *Console) putCalendar(ec echo.Context) error {
	if _, ok, err := c.requireAdmin(ec); !ok {
		return err
	}
	day := appointments.CalendarDay{HallID: ec.FormValue("hall_id"), Date: ec.FormValue("date"),
		Kind: ec.FormValue("kind"), Name: ec.FormValue("name")}
	out, err := c.calendar.PutCalendarDay(ec.Request().Context(), day)
	_ = c.audit(ec, actionCalendarPut, day.Date, day.HallID, err)
	if err == nil {
		if c.catalogChanged != nil {
			c.catalogChanged()
		}
		q := url.Values{"notice": {"已保存 " + out.Date + " " + kindLabel(out.Kind)}}
		if day.HallID != "" {
			q.Set("hall_id", day.HallID)
		}
		return ec.Redirect(http.StatusSeeOther, "/console/admin/calendar?"+q.Encode())
	}
	d := calendarData{HallID: day.HallID, Date: day.Date, Kind: day.Kind, Name: day.Name, Error: c.messageOf(ec, err)}
	if pe, ok := platform.AsError(err); ok {
		d.ErrorOf = pe.Field
	}
	return c.showCalendar(ec, statusOf(err), d)
}

// kindLabel is the Chinese name of a calendar kind.
func kindLabel(k string) string {
	switch k {
	case appointments.DayClosure:
		return "闭厅"
	case appointments.DayHoliday:
		return "法定节假日"
	case appointments.DayWorkday:
		return "调休上班"
	}
	return k
}

// errAdminOnly: the page is the administrators'.
var errAdminOnly = platform.NewError("forbidden", appointments.ErrForbidden.Message)

// adminOnly answers the 403 page to anyone but administrators, auditing the
// refused action as the API does (outcome "forbidden"); it runs after
// requireSession or requirePost.
func (c *Console) adminOnly(action string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec echo.Context) error {
			if !accountOf(ec).HasRole(staff.RoleAdmin) {
				_ = c.audit(ec, action, ec.Param("id"), "", errAdminOnly)
				return c.errorPage(ec, http.StatusForbidden, errAdminOnly.Message)
			}
			return next(ec)
		}
	}
}
