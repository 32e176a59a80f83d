package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"banshi/applications"
	"banshi/internal/platform"
)

// MyApplications is what the citizen's application routes read.
type MyApplications interface {
	ListMine(ctx context.Context, userID string, limit int) ([]applications.Summary, error)
	GetMine(ctx context.Context, userID, applicationNo, source string) (applications.Detail, error)
}

var _ MyApplications = (*applications.Service)(nil)

// ApplicationRoutes show citizens their applications (办件进度).
type ApplicationRoutes struct {
	Apps MyApplications
}

// Register adds the routes.
func (a ApplicationRoutes) Register(r Router) {
	r.Citizen(http.MethodGet, "/me/applications", a.list)
	r.Citizen(http.MethodGet, "/me/applications/:application_no", a.get)
}

func (a ApplicationRoutes) list(c echo.Context) error {
	limit := 0
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > applications.MaxList {
			return invalid("limit", "range", "条数应为 1 至 100 的整数")
		}
		limit = n
	}
	list, err := a.Apps.ListMine(c.Request().Context(), userID(c), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"applications": list})
}

func (a ApplicationRoutes) get(c echo.Context) error {
	source := c.QueryParam("source")
	if source != "" && !platform.ValidCatalogID(source) {
		return invalid("source", "format", "来源系统编号格式错误")
	}
	d, err := a.Apps.GetMine(c.Request().Context(), userID(c), pathParam(c, "application_no"), source)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
