package console

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/staff"
	"banshi/licences"
)

// LicenceVerifier checks a citizen's 亮证 token at the counter (one
// verification per token, recorded as a use), as the staff API does.
type LicenceVerifier interface {
	Verify(ctx context.Context, by licences.Verifier, token string) (licences.Verification, error)
}

var _ LicenceVerifier = (*licences.Service)(nil)

// Audit action of a verification, as the API names it.
const actionLicenceVerify = "licences.verify"

type verifyData struct {
	Token  string
	Error  string
	Result *licences.Verification
}

// licenceRoutes adds the counter's licence verification (when wired).
func (c *Console) licenceRoutes(g *echo.Group) {
	if c.licences == nil {
		return
	}
	g.GET("/licences/verify", c.verifyPage, c.requireSession)
	g.POST("/licences/verify", c.verifyLicence, c.requirePost)
}

// requireDesk answers the 403 page unless the account works at halls.
func (c *Console) requireDesk(ec echo.Context) (staff.Account, bool, error) {
	a := accountOf(ec)
	if !a.HasRole(staff.RoleAdmin, staff.RoleHallStaff) {
		return a, false, c.errorPage(ec, http.StatusForbidden, appointments.ErrForbidden.Message)
	}
	return a, true, nil
}

func (c *Console) verifyPage(ec echo.Context) error {
	if _, ok, err := c.requireDesk(ec); !ok {
		return err
	}
	return c.showVerify(ec, http.StatusOK, verifyData{})
}

func (c *Console) showVerify(ec echo.Context, status int, d verifyData) error {
	a := accountOf(ec)
	return c.render(ec, status, "licence_verify", view{Title: "核验电子证照", Account: &a, CSRF: c.csrfFor(tokenOf(ec)), Data: d})
}

// verifyLicence verifies the pasted or scanned token and shows the licence
// face; a refusal (expired, used, forged) is shown by the field.
func (c *Console) verifyLicence(ec echo.Context) error {
	a, ok, err := c.requireDesk(ec)
	if !ok {
		return err
	}
	token := strings.TrimSpace(ec.FormValue("token"))
	var v licences.Verification
	if token == "" {
		err = platform.Invalid("token", "required", "请扫描或输入亮证码")
	} else {
		v, err = c.licences.Verify(ec.Request().Context(), licences.Verifier{Username: a.Username, Role: a.Role}, token)
	}
	_ = c.audit(ec, actionLicenceVerify, v.Licence.ID, "", err)
	if err != nil {
		return c.showVerify(ec, statusOf(err), verifyData{Token: token, Error: c.messageOf(ec, err)})
	}
	return c.showVerify(ec, http.StatusOK, verifyData{Result: &v})
}
