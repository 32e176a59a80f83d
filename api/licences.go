package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/integrations"
	"banshi/internal/staff"
	"banshi/licences"
	"banshi/privacy"
)

// Licences is what the licence routes call (licences.Service).
type Licences interface {
	Receive(ctx context.Context, source string, body []byte) (licences.Receipt, error)
	Copy(ctx context.Context, source string, body []byte) (licences.Copy, error)
	ForUser(ctx context.Context, userID string) ([]licences.LicenceView, error)
	Get(ctx context.Context, userID, id string) (licences.LicenceView, error)
	Show(ctx context.Context, userID, id string) (licences.Shown, error)
	Verify(ctx context.Context, by licences.Verifier, token string) (licences.Verification, error)
	Uses(ctx context.Context, userID, id string) ([]licences.UseView, error)
	Authorize(ctx context.Context, userID, id string, in licences.AuthorizationInput) (licences.AuthorizationView, error)
	Authorizations(ctx context.Context, userID, id string) ([]licences.AuthorizationView, error)
	Withdraw(ctx context.Context, userID, id, aid string) (licences.AuthorizationView, error)
}

// IssuerKeyAdmin registers integrations' SM2 public keys
// (integrations.Registry).
type IssuerKeyAdmin interface {
	SetSM2Key(ctx context.Context, id, pemText string) (integrations.SM2Key, error)
}

var (
	_ Licences       = (*licences.Service)(nil)
	_ IssuerKeyAdmin = (*integrations.Registry)(nil)
)

// LicenceRoutes are the 电子证照 routes: departments' signed hooks (issue,
// update, revoke; annotated copies), the citizen's wallet, showing (亮证),
// authorisations and uses, the counter's verification, and the admin route
// registering an integration's SM2 key.
type LicenceRoutes struct {
	// Consents records authorisations as consents (nil: not recorded).
	Consents interface {
		ConsentRecorder
		MarkWithdrawn(ctx context.Context, userID, purpose, ref string) error
	}
	Staff    StaffRoutes
	Hooks    HookRoutes // its Verifier and Scopes sign the licence hooks
	Licences Licences
	Keys     IssuerKeyAdmin
	// SigningKey is Banshi's public key (PEM) and its fingerprint, published
	// for verifiers; "" when none is configured.
	SigningKey, SigningFingerprint string
}

// Register adds the routes.
func (l LicenceRoutes) Register(r Router) {
	s := r.Server()
	r.Public.POST("/hooks/licences", l.Hooks.signed(integrations.ScopeLicences, l.receive))
	r.Public.POST("/hooks/licences/copies", l.Hooks.signed(integrations.ScopeLicences, l.copy))
	r.Public.GET("/licences/signing-key", l.signingKey)
	r.Citizen(http.MethodGet, "/me/licences", l.mine)
	r.Citizen(http.MethodGet, "/me/licences/:id", l.get)
	r.Citizen(http.MethodPost, "/me/licences/:id/show", l.show)
	r.Citizen(http.MethodGet, "/me/licences/:id/uses", l.uses)
	r.Citizen(http.MethodPost, "/me/licences/:id/authorizations", l.authorize)
	r.Citizen(http.MethodGet, "/me/licences/:id/authorizations", l.authorizations)
	r.Citizen(http.MethodPost, "/me/licences/:id/authorizations/:aid/withdraw", l.withdraw)
	desk := []string{staff.RoleAdmin, staff.RoleHallStaff}
	r.Public.POST("/staff/licences/verify", l.verify, l.Staff.require(s, "licences.verify", desk...))
	r.Public.PUT("/staff/admin/integrations/:id/sm2-key", l.setKey, l.Staff.require(s, "integrations.sm2_key", staff.RoleAdmin))
}

func (l LicenceRoutes) receive(c echo.Context, source string, body []byte) error {
	r, err := l.Licences.Receive(c.Request().Context(), source, body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (l LicenceRoutes) copy(c echo.Context, source string, body []byte) error {
	r, err := l.Licences.Copy(c.Request().Context(), source, body)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, r)
}

func (l LicenceRoutes) signingKey(c echo.Context) error {
	if l.SigningKey == "" {
		return licences.ErrSignerUnavailable
	}
	return c.JSON(http.StatusOK, map[string]string{"algorithm": licences.SignatureAlgorithm,
		"public_key": l.SigningKey, "fingerprint": l.SigningFingerprint})
}

func (l LicenceRoutes) mine(c echo.Context) error {
	list, err := l.Licences.ForUser(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"licences": list})
}

func (l LicenceRoutes) get(c echo.Context) error {
	v, err := l.Licences.Get(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (l LicenceRoutes) show(c echo.Context) error {
	v, err := l.Licences.Show(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, v)
}

func (l LicenceRoutes) uses(c echo.Context) error {
	list, err := l.Licences.Uses(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"uses": list})
}

func (l LicenceRoutes) authorize(c echo.Context) error {
	var in licences.AuthorizationInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	a, err := l.Licences.Authorize(c.Request().Context(), userID(c), pathParam(c, "id"), in)
	if err != nil {
		return err
	}
	// The authorisation is the holder's separate consent to the department's
	// use of the licence (PIPL art. 14), listed under /me/consents.
	if l.Consents != nil {
		if _, err := l.Consents.Record(c.Request().Context(), userID(c), privacy.PurposeLicenceAuthorization,
			privacy.LicenceRef(pathParam(c, "id"), a.ID)); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusCreated, a)
}

func (l LicenceRoutes) authorizations(c echo.Context) error {
	list, err := l.Licences.Authorizations(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"authorizations": list})
}

func (l LicenceRoutes) withdraw(c echo.Context) error {
	a, err := l.Licences.Withdraw(c.Request().Context(), userID(c), pathParam(c, "id"), pathParam(c, "aid"))
	if err != nil {
		return err
	}
	if l.Consents != nil {
		if err := l.Consents.MarkWithdrawn(c.Request().Context(), userID(c), privacy.PurposeLicenceAuthorization,
			privacy.LicenceRef(pathParam(c, "id"), a.ID)); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, a)
}

// licenceVerifyRequest is POST /staff/licences/verify's body.
type licenceVerifyRequest struct {
	Token string `json:"token"`
}

func (l LicenceRoutes) verify(c echo.Context) error {
	var req licenceVerifyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return invalid("token", "required", "请扫描或输入亮证码")
	}
	a, _ := c.Get(ctxStaff).(staff.Account)
	v, err := l.Licences.Verify(c.Request().Context(), licences.Verifier{Username: a.Username, Role: a.Role}, req.Token)
	if err != nil {
		return err
	}
	c.Set(ctxAuditTarget, v.Licence.ID)
	return c.JSON(http.StatusOK, v)
}

// sm2KeyRequest is PUT /staff/admin/integrations/{id}/sm2-key's body.
type sm2KeyRequest struct {
	PublicKey string `json:"sm2_public_key"`
}

func (l LicenceRoutes) setKey(c echo.Context) error {
	var req sm2KeyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.PublicKey == "" {
		return invalid("sm2_public_key", "required", "请填写 SM2 公钥（PEM）")
	}
	k, err := l.Keys.SetSM2Key(c.Request().Context(), pathParam(c, "id"), req.PublicKey)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, k)
}
