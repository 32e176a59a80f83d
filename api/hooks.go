package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/applications"
	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/payments"
)

// HookVerifier checks the signature of a department's request before
// anything parses its body (platform.HookVerifier).
type HookVerifier interface {
	Verify(ctx context.Context, method, path string, h http.Header, body []byte) (string, error)
}

// ScopeAuthorizer says whether a verified source was granted a scope
// (integrations.Registry).
type ScopeAuthorizer interface {
	Authorize(ctx context.Context, source, scope string) error
}

// ApplicationIntake takes departments' application events.
type ApplicationIntake interface {
	Receive(ctx context.Context, source string, body []byte) (applications.Receipt, error)
}

// BillIntake takes departments' bill events.
type BillIntake interface {
	Receive(ctx context.Context, source string, body []byte) (payments.BillReceipt, error)
}

var (
	_ HookVerifier      = (*platform.HookVerifier)(nil)
	_ ScopeAuthorizer   = (*integrations.Registry)(nil)
	_ ApplicationIntake = (*applications.Service)(nil)
	_ BillIntake        = (*payments.Bills)(nil)
)

// HookBodyLimit is the largest body a department may post (413 above).
const HookBodyLimit = 64 << 10

// HookRoutes are the routes department systems call, signed as reference
// integrations.md says. They need no session: the signature authenticates.
type HookRoutes struct {
	Verifier     HookVerifier
	Scopes       ScopeAuthorizer
	Applications ApplicationIntake
	Bills        BillIntake // nil: no bill hook
}

// Register adds the routes.
func (h HookRoutes) Register(r Router) {
	r.Public.POST("/hooks/applications", h.signed(integrations.ScopeApplications, h.applications))
	if h.Bills != nil {
		r.Public.POST("/hooks/bills", h.signed(integrations.ScopeBills, h.bills))
	}
}

// signed reads the raw body (at most HookBodyLimit), verifies its signature
// (401 signature_invalid, signature_stale, replayed) and the source's scope
// (403 forbidden) before handle parses anything; a refused request stores
// nothing.
func (h HookRoutes) signed(scope string, handle func(c echo.Context, source string, body []byte) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, HookBodyLimit))
		if err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
				return errTooLarge
			}
			return invalid("body", "format", "无法读取请求体")
		}
		ctx := req.Context()
		source, err := h.Verifier.Verify(ctx, req.Method, req.URL.Path, req.Header, body)
		if err != nil {
			return err
		}
		if err := h.Scopes.Authorize(ctx, source, scope); err != nil {
			if errors.Is(err, integrations.ErrNotFound) {
				return integrations.ErrForbidden // deleted since it was verified
			}
			return err
		}
		return handle(c, source, body)
	}
}

func (h HookRoutes) applications(c echo.Context, source string, body []byte) error {
	r, err := h.Applications.Receive(c.Request().Context(), source, body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h HookRoutes) bills(c echo.Context, source string, body []byte) error {
	r, err := h.Bills.Receive(c.Request().Context(), source, body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
