package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"banshi/internal/staff"
	"banshi/notify"
)

// OutboxAdmin is what admins do with the outbox: look at deliveries by state
// and queue a failed or dead one again.
type OutboxAdmin interface {
	List(ctx context.Context, state string, limit int) ([]notify.DeliveryView, error)
	Retry(ctx context.Context, id string) (notify.DeliveryView, error)
}

var _ OutboxAdmin = (*notify.Outbox)(nil)

// OutboxRoutes are the outbox's admin routes under
// /api/v1/staff/admin/outbox, authenticated and audited through the staff
// routes' middleware.
type OutboxRoutes struct {
	Staff  StaffRoutes
	Outbox OutboxAdmin
}

// Register adds the routes.
func (o OutboxRoutes) Register(r Router) {
	s := r.Server()
	g := r.Public.Group("/staff/admin/outbox")
	g.GET("", o.list, o.Staff.require(s, "outbox.list", staff.RoleAdmin))
	g.POST("/:id/retry", o.retry, o.Staff.require(s, "outbox.retry", staff.RoleAdmin))
}

func (o OutboxRoutes) list(c echo.Context) error {
	limit := 0
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return invalid("limit", "range", "条数应为 1 至 200 的整数")
		}
		limit = n
	}
	list, err := o.Outbox.List(c.Request().Context(), c.QueryParam("state"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": list})
}

func (o OutboxRoutes) retry(c echo.Context) error {
	d, err := o.Outbox.Retry(c.Request().Context(), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
