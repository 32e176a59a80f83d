package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/privacy"
)

// ConsentRecorder records a citizen's consent (*privacy.Consents).
type ConsentRecorder interface {
	Record(ctx context.Context, userID, purpose, ref string) (privacy.Consent, error)
}

// Consents is what the consent routes need (*privacy.Consents).
type Consents interface {
	ConsentRecorder
	List(ctx context.Context, userID string) ([]privacy.Consent, error)
	Withdraw(ctx context.Context, userID, id string) (privacy.Consent, error)
}

// Privacy exports and deletes a person's data (*privacy.Service).
type Privacy interface {
	Export(ctx context.Context, userID, code string) (privacy.Package, error)
	Delete(ctx context.Context, userID, code string) (privacy.Deletion, error)
}

var (
	_ Consents = (*privacy.Consents)(nil)
	_ Privacy  = (*privacy.Service)(nil)
)

// PrivacyRoutes are a citizen's rights over their data (PIPL): consents,
// export, deletion.
type PrivacyRoutes struct {
	Consents Consents
	Privacy  Privacy
}

// Register adds the routes.
func (p PrivacyRoutes) Register(r Router) {
	r.Citizen(http.MethodGet, "/me/consents", p.consents)
	r.Citizen(http.MethodPost, "/me/consents/:id/withdraw", p.withdraw)
	r.Citizen(http.MethodPost, "/me/export", p.export)
	r.Citizen(http.MethodDelete, "/me", p.delete)
}

// freshCheck is the body of export and deletion: a WeChat real-name consent
// code obtained for this request.
type freshCheck struct {
	Code string `json:"code"`
}

func (p PrivacyRoutes) consents(c echo.Context) error {
	list, err := p.Consents.List(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]privacy.Consent{"consents": list})
}

func (p PrivacyRoutes) withdraw(c echo.Context) error {
	got, err := p.Consents.Withdraw(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, got)
}

// export answers the package; it holds the person's name and ID number in
// clear, so no cache may keep it.
func (p PrivacyRoutes) export(c echo.Context) error {
	var req freshCheck
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	pkg, err := p.Privacy.Export(c.Request().Context(), userID(c), req.Code)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="banshi-personal-data.json"`)
	return c.JSON(http.StatusOK, pkg)
}

func (p PrivacyRoutes) delete(c echo.Context) error {
	var req freshCheck
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	d, err := p.Privacy.Delete(c.Request().Context(), userID(c), req.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
