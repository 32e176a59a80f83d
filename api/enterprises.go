package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/enterprises"
	"banshi/internal/platform"
)

// Enterprises is what the enterprise routes call (enterprises.Service).
type Enterprises interface {
	Claim(ctx context.Context, userID, uscc string) (enterprises.Membership, bool, error)
	Mine(ctx context.Context, userID string) ([]enterprises.Membership, error)
}

var _ Enterprises = (*enterprises.Service)(nil)

// EnterpriseRoutes let a citizen claim an enterprise as its legal
// representative and list the enterprises they act for.
type EnterpriseRoutes struct {
	Enterprises Enterprises
}

// Register adds the routes.
func (e EnterpriseRoutes) Register(r Router) {
	r.Citizen(http.MethodPost, "/enterprises/claim", e.claim)
	r.Citizen(http.MethodGet, "/me/enterprises", e.mine)
}

// claimRequest is POST /enterprises/claim's body.
type claimRequest struct {
	USCC string `json:"uscc"`
}

// membershipView is an enterprise a citizen acts for, as the API shows it.
type membershipView struct {
	USCC      string    `json:"uscc"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	ClaimedAt time.Time `json:"claimed_at"`
}

func viewOfMembership(m enterprises.Membership) membershipView {
	return membershipView{USCC: m.USCC, Name: m.Name, Role: m.Role, ClaimedAt: platform.Local(m.ClaimedAt)}
}

// claim answers 201 with a new claim, 200 with the citizen's existing one.
func (e EnterpriseRoutes) claim(c echo.Context) error {
	var req claimRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	m, created, err := e.Enterprises.Claim(c.Request().Context(), userID(c), req.USCC)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, viewOfMembership(m))
}

func (e EnterpriseRoutes) mine(c echo.Context) error {
	list, err := e.Enterprises.Mine(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	out := make([]membershipView, len(list))
	for i, m := range list {
		out[i] = viewOfMembership(m)
	}
	return c.JSON(http.StatusOK, map[string][]membershipView{"enterprises": out})
}
