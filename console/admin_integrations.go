package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/integrations"
	"banshi/internal/platform"
)

// Integrations is what administrators do with the registry of department
// systems, through the same service as the API's admin routes. A secret is
// returned by Create and Rotate only, and the console shows it on that one
// answer page (never stored, never logged, never on the list).
type Integrations interface {
	Create(ctx context.Context, n integrations.New) (integrations.WithSecret, error)
	List(ctx context.Context) ([]integrations.Integration, error)
	Rotate(ctx context.Context, id string) (integrations.WithSecret, error)
	SetDisabled(ctx context.Context, id string, disabled bool) (integrations.Integration, error)
}

var _ Integrations = (*integrations.Registry)(nil)

// Audit actions of the integrations page, as the API names them.
const (
	actionIntegrationsList    = "integrations.list"
	actionIntegrationsCreate  = "integrations.create"
	actionIntegrationsRotate  = "integrations.rotate"
	actionIntegrationsDisable = "integrations.disable"
	actionIntegrationsEnable  = "integrations.enable"
)

// integrationsData is the list page with the create form.
type integrationsData struct {
	List    []integrations.Integration
	Scopes  []string // every scope, in the admins' order
	Form    integrations.New
	Notice  string
	Error   string
	ErrorOf string // the form field the error names ("id", "name", "scopes", "callback_url")
	RowErr  string // an error about one row's action
	RowOf   string // that row's integration id
}

// Checked reports whether scope is ticked in the kept form.
func (d integrationsData) Checked(scope string) bool { return slices.Contains(d.Form.Scopes, scope) }

// secretData is the page showing a secret, once.
type secretData struct {
	Integration integrations.Integration
	Secret      string
	Rotated     bool
	// Overlap is how long the previous secret keeps working after a
	// rotation (the registry's RotationOverlap), in hours.
	OverlapHours int
	PreviousEnds *time.Time
}

// integrationRoutes adds the integrations pages (when wired).
func (c *Console) integrationRoutes(g *echo.Group) {
	if c.integrations == nil {
		return
	}
	g.GET("/admin/integrations", c.integrationsPage, c.requireSession, c.adminOnly(actionIntegrationsList))
	g.POST("/admin/integrations", c.createIntegration, c.requirePost, c.adminOnly(actionIntegrationsCreate))
	g.POST("/admin/integrations/:id/rotate", c.rotateIntegration, c.requirePost, c.adminOnly(actionIntegrationsRotate))
	g.POST("/admin/integrations/:id/disable", c.setIntegrationDisabled(true), c.requirePost, c.adminOnly(actionIntegrationsDisable))
	g.POST("/admin/integrations/:id/enable", c.setIntegrationDisabled(false), c.requirePost, c.adminOnly(actionIntegrationsEnable))
}

func (c *Console) integrationsPage(ec echo.Context) error {
	return c.showIntegrations(ec, http.StatusOK, integrationsData{Notice: ec.QueryParam("notice")})
}

// showIntegrations lists the integrations (audited as the API's list) and
// renders d with status.
func (c *Console) showIntegrations(ec echo.Context, status int, d integrationsData) error {
	a := accountOf(ec)
	list, err := c.integrations.List(ec.Request().Context())
	_ = c.audit(ec, actionIntegrationsList, "", "", err)
	if err != nil {
		return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
	}
	d.List, d.Scopes = list, integrations.AllScopes()
	return c.render(ec, status, "admin_integrations", view{Title: "对接系统", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// createIntegration registers a department system and answers its secret
// on this page only; on a refusal the form comes back with the message next
// to the field and the typed values.
func (c *Console) createIntegration(ec echo.Context) error {
	form, err := ec.FormParams()
	if err != nil {
		return c.errorPage(ec, http.StatusBadRequest, "表单格式不正确")
	}
	n := integrations.New{ID: strings.TrimSpace(form.Get("id")), Name: form.Get("name"),
		Scopes: form["scopes"], CallbackURL: strings.TrimSpace(form.Get("callback_url"))}
	w, err := c.integrations.Create(ec.Request().Context(), n)
	_ = c.audit(ec, actionIntegrationsCreate, n.ID, "", err)
	if err != nil {
		d := integrationsData{Form: n, Error: c.messageOf(ec, err)}
		if pe, ok := platform.AsError(err); ok {
			d.ErrorOf, _, _ = strings.Cut(pe.Field, "[") // scopes[1] → scopes
		}
		return c.showIntegrations(ec, statusOf(err), d)
	}
	return c.showSecret(ec, http.StatusCreated, secretData{Integration: w.Integration, Secret: w.Secret})
}

// rotateIntegration gives the integration a new secret, shown on this page
// only; the previous one keeps working for the registry's overlap.
func (c *Console) rotateIntegration(ec echo.Context) error {
	id := ec.Param("id")
	w, err := c.integrations.Rotate(ec.Request().Context(), id)
	_ = c.audit(ec, actionIntegrationsRotate, id, "", err)
	if err != nil {
		return c.showIntegrations(ec, statusOf(err), integrationsData{RowErr: c.messageOf(ec, err), RowOf: id})
	}
	return c.showSecret(ec, http.StatusOK, secretData{Integration: w.Integration, Secret: w.Secret, Rotated: true,
		OverlapHours: int(integrations.RotationOverlap / time.Hour), PreviousEnds: w.PreviousValidUntil})
}

// showSecret renders the one answer that carries a secret. The console's
// headers already forbid storing it (Cache-Control: no-store); it is set
// again here so that this page never depends on that.
func (c *Console) showSecret(ec echo.Context, status int, d secretData) error {
	a := accountOf(ec)
	ec.Response().Header().Set("Cache-Control", "no-store")
	return c.render(ec, status, "admin_integration_secret", view{Title: "对接系统密钥", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// setIntegrationDisabled disables (its requests are refused at once) or
// enables an integration, then goes back to the list with a notice.
func (c *Console) setIntegrationDisabled(disabled bool) echo.HandlerFunc {
	action, done := actionIntegrationsEnable, "已启用 "
	if disabled {
		action, done = actionIntegrationsDisable, "已停用 "
	}
	return func(ec echo.Context) error {
		id := ec.Param("id")
		i, err := c.integrations.SetDisabled(ec.Request().Context(), id, disabled)
		_ = c.audit(ec, action, id, "", err)
		if err != nil {
			return c.showIntegrations(ec, statusOf(err), integrationsData{RowErr: c.messageOf(ec, err), RowOf: id})
		}
		return ec.Redirect(http.StatusSeeOther, "/console/admin/integrations?"+url.Values{"notice": {done + i.Name + "（" + i.ID + "）"}}.Encode())
	}
}

// scopeLabel is the Chinese name of an integration scope.
func scopeLabel(s string) string {
	switch s {
	case integrations.ScopeApplications:
		return "办件进度"
	case integrations.ScopeBills:
		return "缴费账单"
	case integrations.ScopeLicences:
		return "电子证照"
	}
	return s
}
