package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
)

// Counter is what a counter (window) does with the hall's queue and its
// missed bookings, through the same service rules as the staff API.
type Counter interface {
	CallNext(ctx context.Context, actor appointments.StaffActor, hallID, departmentID, window string) (appointments.StaffAppointment, error)
	Recall(ctx context.Context, actor appointments.StaffActor, hallID, appointmentID, window string) (appointments.StaffAppointment, error)
	Skip(ctx context.Context, actor appointments.StaffActor, hallID, appointmentID string) (appointments.StaffAppointment, error)
	MarkNoShow(ctx context.Context, actor appointments.StaffActor, appointmentID string) (appointments.StaffAppointment, error)
}

var _ Counter = (*appointments.Service)(nil)

// Audit actions of the counter, as the API names them.
const (
	actionCallNext = "queue.call_next"
	actionRecall   = "queue.recall"
	actionSkip     = "queue.skip"
	actionNoShow   = "appointments.no_show"
)

// callNext calls the next waiting citizen of the form's department to the
// form's window. The window and department stay filled in for the next call.
func (c *Console) callNext(ec echo.Context) error {
	a := accountOf(ec)
	hallID := ec.Param("hall_id")
	dept, window := ec.FormValue("department_id"), ec.FormValue("window")
	appt, err := c.counter.CallNext(ec.Request().Context(), actorOf(a), hallID, dept, window)
	_ = c.audit(ec, actionCallNext, appt.ID, hallID, err)
	keep := url.Values{"call_department": {dept}, "window": {window}}
	if err == nil {
		keep.Set("notice", "已叫号 "+appt.QueueNumber+"，请到 "+appt.Window+" 号窗口")
		return ec.Redirect(http.StatusSeeOther, "/console/halls/"+url.PathEscape(hallID)+"/today?"+keep.Encode())
	}
	return c.todayFailed(ec, hallID, err, func(d *todayData) {
		d.CallDepartment, d.Window, d.CallError = dept, window, c.messageOf(ec, err)
	})
}

// queueAction runs one action on an appointment of the form's hall and
// comes back to the hall's page with its notice or error.
func (c *Console) queueAction(action, done string, do func(ctx context.Context, actor appointments.StaffActor, hallID, id string) (appointments.StaffAppointment, error)) echo.HandlerFunc {
	return func(ec echo.Context) error {
		a := accountOf(ec)
		id, hallID := ec.Param("id"), ec.FormValue("hall_id")
		appt, err := do(ec.Request().Context(), actorOf(a), hallID, id)
		_ = c.audit(ec, action, id, hallID, err)
		if err == nil {
			return ec.Redirect(http.StatusSeeOther, "/console/halls/"+url.PathEscape(hallID)+"/today?notice="+
				url.QueryEscape(done+" "+appt.QueueNumber))
		}
		return c.todayFailed(ec, hallID, err, func(d *todayData) { d.ActionError = c.messageOf(ec, err) })
	}
}

func (c *Console) recall(ctx context.Context, actor appointments.StaffActor, hallID, id string) (appointments.StaffAppointment, error) {
	return c.counter.Recall(ctx, actor, hallID, id, "")
}

func (c *Console) skip(ctx context.Context, actor appointments.StaffActor, hallID, id string) (appointments.StaffAppointment, error) {
	return c.counter.Skip(ctx, actor, hallID, id)
}

func (c *Console) noShow(ctx context.Context, actor appointments.StaffActor, _, id string) (appointments.StaffAppointment, error) {
	return c.counter.MarkNoShow(ctx, actor, id)
}

// todayFailed shows the hall's page again with a refused action's message
// (set puts it by its field), or the error page when the hall is not the
// account's.
func (c *Console) todayFailed(ec echo.Context, hallID string, err error, set func(*todayData)) error {
	if hallID == "" || !accountOf(ec).CanAccessHall(hallID) {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d, ok, lerr := c.loadToday(ec, appointments.StaffListQuery{HallID: hallID, PageSize: 100})
	if !ok {
		return lerr
	}
	set(&d)
	return c.showToday(ec, statusOf(err), d)
}
