package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/staff"
)

// QueueDesk is what the counters of a hall do with its queue (叫号).
type QueueDesk interface {
	StaffQueueBoard(ctx context.Context, actor appointments.StaffActor, hallID string) (appointments.QueueBoard, error)
	CallNext(ctx context.Context, actor appointments.StaffActor, hallID, departmentID, window string) (appointments.StaffAppointment, error)
	Recall(ctx context.Context, actor appointments.StaffActor, hallID, appointmentID, window string) (appointments.StaffAppointment, error)
	Skip(ctx context.Context, actor appointments.StaffActor, hallID, appointmentID string) (appointments.StaffAppointment, error)
	Transfer(ctx context.Context, actor appointments.StaffActor, hallID, appointmentID, departmentID string) (appointments.StaffAppointment, error)
}

var _ QueueDesk = (*appointments.Service)(nil)

// QueueRoutes are the queue-calling routes of hall staff and admins under
// /api/v1/staff/halls/{hall_id}/queue, audited like every staff action.
type QueueRoutes struct {
	Staff StaffRoutes
	Queue QueueDesk
}

// Register adds the routes.
func (q QueueRoutes) Register(r Router) {
	s := r.Server()
	desk := []string{staff.RoleAdmin, staff.RoleHallStaff}
	g := r.Public.Group("/staff/halls/:hall_id/queue")
	g.GET("", q.board, q.Staff.require(s, "queue.board", desk...))
	g.POST("/call-next", q.callNext, q.Staff.require(s, "queue.call_next", desk...))
	g.POST("/:id/recall", q.recall, q.Staff.require(s, "queue.recall", desk...))
	g.POST("/:id/skip", q.skip, q.Staff.require(s, "queue.skip", desk...))
	g.POST("/:id/transfer", q.transfer, q.Staff.require(s, "queue.transfer", desk...))
}

func (q QueueRoutes) board(c echo.Context) error {
	b, err := q.Queue.StaffQueueBoard(c.Request().Context(), actor(c), pathParam(c, "hall_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

type callNextRequest struct {
	DepartmentID string `json:"department_id"`
	Window       string `json:"window"`
}

func (q QueueRoutes) callNext(c echo.Context) error {
	var req callNextRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("department_id", req.DepartmentID, "window", req.Window); err != nil {
		return err
	}
	a, err := q.Queue.CallNext(c.Request().Context(), actor(c), pathParam(c, "hall_id"), req.DepartmentID, req.Window)
	if err != nil {
		return err
	}
	c.Set(ctxAuditTarget, a.ID)
	return c.JSON(http.StatusOK, a)
}

type recallRequest struct {
	Window string `json:"window"`
}

func (q QueueRoutes) recall(c echo.Context) error {
	var req recallRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := q.Queue.Recall(c.Request().Context(), actor(c), pathParam(c, "hall_id"), pathParam(c, "id"), req.Window)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (q QueueRoutes) skip(c echo.Context) error {
	a, err := q.Queue.Skip(c.Request().Context(), actor(c), pathParam(c, "hall_id"), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

type transferRequest struct {
	DepartmentID string `json:"department_id"`
}

func (q QueueRoutes) transfer(c echo.Context) error {
	var req transferRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("department_id", req.DepartmentID); err != nil {
		return err
	}
	a, err := q.Queue.Transfer(c.Request().Context(), actor(c), pathParam(c, "hall_id"), pathParam(c, "id"), req.DepartmentID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}
