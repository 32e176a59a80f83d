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
	Invite(ctx context.Context, userID, uscc string, g enterprises.Grant) (enterprises.Member, error)
	Members(ctx context.Context, userID, uscc string) ([]enterprises.Member, error)
	End(ctx context.Context, userID, uscc, id string) (enterprises.Member, error)
	ChangeValidity(ctx context.Context, userID, uscc, id string, until *time.Time) (enterprises.Member, error)
	Audit(ctx context.Context, userID, uscc string) ([]enterprises.AuditEntry, error)
	Invitations(ctx context.Context, userID string) ([]enterprises.Invitation, error)
	Accept(ctx context.Context, userID, id string) (enterprises.Member, error)
	Decline(ctx context.Context, userID, id string) (enterprises.Member, error)
	EnterprisePage(ctx context.Context, userID, uscc string) (enterprises.Page, error)
	Policies(ctx context.Context) ([]enterprises.Policy, error)
	CreatePolicy(ctx context.Context, by string, in enterprises.PolicyInput) (enterprises.Policy, error)
	UpdatePolicy(ctx context.Context, by, id string, in enterprises.PolicyInput) (enterprises.Policy, error)
	DeletePolicy(ctx context.Context, id string) error
}

var _ Enterprises = (*enterprises.Service)(nil)

// EnterpriseRoutes let a citizen claim an enterprise as its legal
// representative, manage its members, answer invitations, list the
// enterprises they act for and read an enterprise's page; admins maintain
// the 惠企政策 catalog.
type EnterpriseRoutes struct {
	Enterprises Enterprises
	Staff       StaffRoutes
}

// Register adds the routes.
func (e EnterpriseRoutes) Register(r Router) {
	r.Citizen(http.MethodPost, "/enterprises/claim", e.claim)
	r.Citizen(http.MethodGet, "/me/enterprises", e.mine)
	r.Citizen(http.MethodPost, "/enterprises/:uscc/members", e.invite)
	r.Citizen(http.MethodGet, "/enterprises/:uscc/members", e.members)
	r.Citizen(http.MethodPatch, "/enterprises/:uscc/members/:member_id", e.changeValidity)
	r.Citizen(http.MethodDelete, "/enterprises/:uscc/members/:member_id", e.endMember)
	r.Citizen(http.MethodGet, "/enterprises/:uscc/audit", e.audit)
	r.Citizen(http.MethodGet, "/enterprises/:uscc/page", e.page)
	r.Citizen(http.MethodGet, "/me/enterprise-invitations", e.invitations)
	r.Citizen(http.MethodPost, "/me/enterprise-invitations/:id/accept", e.accept)
	r.Citizen(http.MethodPost, "/me/enterprise-invitations/:id/decline", e.decline)
	e.registerPolicies(r)
}

// claimRequest is POST /enterprises/claim's body.
type claimRequest struct {
	USCC string `json:"uscc"`
}

// membershipView is an enterprise a citizen acts for, as the API shows it:
// a claim shows the first four fields only; a membership its scope and
// validity too.
type membershipView struct {
	USCC       string     `json:"uscc"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	ClaimedAt  time.Time  `json:"claimed_at"`
	MemberID   string     `json:"member_id,omitempty"`
	Scope      *scopeView `json:"scope,omitempty"`
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	InForce    *bool      `json:"in_force,omitempty"`
}

func viewOfMembership(m enterprises.Membership) membershipView {
	v := membershipView{USCC: m.USCC, Name: m.Name, Role: m.Role, ClaimedAt: platform.Local(m.ClaimedAt)}
	if m.MemberID != "" {
		in := m.InForce
		v.MemberID, v.InForce, v.ValidFrom, v.ValidUntil = m.MemberID, &in, localPtr(m.ValidFrom), localPtr(m.ValidUntil)
		if m.Scope != nil {
			sv := viewOfScope(*m.Scope)
			v.Scope = &sv
		}
	}
	return v
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
