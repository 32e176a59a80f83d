package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/integrations"
	"banshi/internal/staff"
)

// IntegrationAdmin is what admins do with the registry of department
// systems.
type IntegrationAdmin interface {
	Create(ctx context.Context, n integrations.New) (integrations.WithSecret, error)
	List(ctx context.Context) ([]integrations.Integration, error)
	Rotate(ctx context.Context, id string) (integrations.WithSecret, error)
	SetDisabled(ctx context.Context, id string, disabled bool) (integrations.Integration, error)
}

var _ IntegrationAdmin = (*integrations.Registry)(nil)

// IntegrationRoutes let admins register department systems, rotate their
// secrets and disable them, under /api/v1/staff/admin/integrations. They
// authenticate and audit through the staff routes' middleware.
type IntegrationRoutes struct {
	Staff    StaffRoutes
	Registry IntegrationAdmin
}

// Register adds the routes.
func (ir IntegrationRoutes) Register(r Router) {
	s := r.Server()
	admin := staff.RoleAdmin
	g := r.Public.Group("/staff/admin/integrations")
	g.POST("", ir.create, ir.Staff.require(s, "integrations.create", admin))
	g.GET("", ir.list, ir.Staff.require(s, "integrations.list", admin))
	g.POST("/:id/rotate", ir.rotate, ir.Staff.require(s, "integrations.rotate", admin))
	g.POST("/:id/disable", ir.setDisabled(true), ir.Staff.require(s, "integrations.disable", admin))
	g.POST("/:id/enable", ir.setDisabled(false), ir.Staff.require(s, "integrations.enable", admin))
}

// secretAnswer answers an integration with its secret, shown this once:
// never stored by a cache on the way.
func secretAnswer(c echo.Context, status int, w integrations.WithSecret) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, w)
}

func (ir IntegrationRoutes) create(c echo.Context) error {
	var n integrations.New
	if err := bindJSON(c, &n); err != nil {
		return err
	}
	c.Set(ctxAuditTarget, n.ID)
	w, err := ir.Registry.Create(c.Request().Context(), n)
	if err != nil {
		return err
	}
	return secretAnswer(c, http.StatusCreated, w)
}

func (ir IntegrationRoutes) list(c echo.Context) error {
	list, err := ir.Registry.List(c.Request().Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []integrations.Integration{}
	}
	return c.JSON(http.StatusOK, map[string]any{"integrations": list})
}

func (ir IntegrationRoutes) rotate(c echo.Context) error {
	w, err := ir.Registry.Rotate(c.Request().Context(), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return secretAnswer(c, http.StatusOK, w)
}

func (ir IntegrationRoutes) setDisabled(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		i, err := ir.Registry.SetDisabled(c.Request().Context(), pathParam(c, "id"), disabled)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, i)
	}
}
