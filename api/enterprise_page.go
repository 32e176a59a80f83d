package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/enterprises"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

// enterpriseInfoView is the enterprise as its page shows it.
type enterpriseInfoView struct {
	USCC                string `json:"uscc"`
	Name                string `json:"name"`
	Status              string `json:"status,omitempty"`
	LegalRepresentative string `json:"legal_representative_masked,omitempty"`
	Address             string `json:"address,omitempty"`
	BusinessScope       string `json:"business_scope,omitempty"`
	Industry            string `json:"industry,omitempty"`
	Size                string `json:"size,omitempty"`
	RegisteredAt        string `json:"registered_at,omitempty"`
}

// viewerView is who reads the page.
type viewerView struct {
	Role       string     `json:"role"`
	MemberID   string     `json:"member_id,omitempty"`
	Scope      scopeView  `json:"scope"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// policyView is a 惠企政策.
type policyView struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Summary    string    `json:"summary"`
	Department string    `json:"department"`
	URL        string    `json:"url,omitempty"`
	Regions    []string  `json:"regions"`
	Industries []string  `json:"industries"`
	Sizes      []string  `json:"sizes"`
	ApplyUntil string    `json:"apply_until,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	UpdatedBy  string    `json:"updated_by"`
}

func viewOfPolicy(p enterprises.Policy) policyView {
	nonNil := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return policyView{ID: p.ID, Title: p.Title, Summary: p.Summary, Department: p.Department, URL: p.URL,
		Regions: nonNil(p.Regions), Industries: nonNil(p.Industries), Sizes: nonNil(p.Sizes), ApplyUntil: p.ApplyUntil,
		CreatedAt: platform.Local(p.CreatedAt), UpdatedAt: platform.Local(p.UpdatedAt), UpdatedBy: p.UpdatedBy}
}

// enterprisePageView is GET /enterprises/{uscc}/page's answer.
type enterprisePageView struct {
	Enterprise  enterpriseInfoView `json:"enterprise"`
	Viewer      viewerView         `json:"viewer"`
	Members     []memberView       `json:"members,omitempty"`
	Sections    map[string]any     `json:"sections"`
	Policies    []policyView       `json:"policies"`
	Unavailable []string           `json:"unavailable"`
	At          time.Time          `json:"at"`
}

func (e EnterpriseRoutes) page(c echo.Context) error {
	p, err := e.Enterprises.EnterprisePage(c.Request().Context(), userID(c), pathParam(c, "uscc"))
	if err != nil {
		return err
	}
	noStore(c)
	v := enterprisePageView{
		Enterprise: enterpriseInfoView{USCC: p.Enterprise.USCC, Name: p.Enterprise.Name, Status: p.Enterprise.Status,
			LegalRepresentative: p.Enterprise.LegalRepresentative, Address: p.Enterprise.Address,
			BusinessScope: p.Enterprise.BusinessScope, Industry: p.Enterprise.Industry, Size: p.Enterprise.Size,
			RegisteredAt: p.Enterprise.RegisteredAt},
		Viewer: viewerView{Role: p.Viewer.Role, MemberID: p.Viewer.MemberID, Scope: viewOfScope(p.Viewer.Scope),
			ValidUntil: localPtr(p.Viewer.ValidUntil)},
		Sections: p.Sections, Policies: make([]policyView, len(p.Policies)), Unavailable: p.Unavailable,
		At: platform.Local(p.At),
	}
	if v.Unavailable == nil {
		v.Unavailable = []string{}
	}
	if p.Members != nil {
		v.Members = make([]memberView, len(p.Members))
		for i, m := range p.Members {
			v.Members[i] = viewOfMember(m)
		}
	}
	for i, pol := range p.Policies {
		v.Policies[i] = viewOfPolicy(pol)
	}
	return c.JSON(http.StatusOK, v)
}

// policyRequest is a policy as an admin writes it.
type policyRequest struct {
	Title      string   `json:"title"`
	Summary    string   `json:"summary"`
	Department string   `json:"department"`
	URL        string   `json:"url"`
	Regions    []string `json:"regions"`
	Industries []string `json:"industries"`
	Sizes      []string `json:"sizes"`
	ApplyUntil string   `json:"apply_until"`
}

func (r policyRequest) input() enterprises.PolicyInput {
	return enterprises.PolicyInput{Title: r.Title, Summary: r.Summary, Department: r.Department, URL: r.URL, Regions: r.Regions,
		Industries: r.Industries, Sizes: r.Sizes, ApplyUntil: r.ApplyUntil}
}

// registerPolicies adds the admins' policy catalog routes (audited by the
// staff middleware).
func (e EnterpriseRoutes) registerPolicies(r Router) {
	s := r.Server()
	g := r.Public.Group("/staff/admin/policies")
	admin := []string{staff.RoleAdmin}
	g.GET("", e.listPolicies, e.Staff.require(s, "policies.list", admin...))
	g.POST("", e.createPolicy, e.Staff.require(s, "policies.create", admin...))
	g.PUT("/:id", e.updatePolicy, e.Staff.require(s, "policies.update", admin...), auditTargetParam("id"))
	g.DELETE("/:id", e.deletePolicy, e.Staff.require(s, "policies.delete", admin...), auditTargetParam("id"))
}

func (e EnterpriseRoutes) listPolicies(c echo.Context) error {
	list, err := e.Enterprises.Policies(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]policyView, len(list))
	for i, p := range list {
		out[i] = viewOfPolicy(p)
	}
	return c.JSON(http.StatusOK, map[string][]policyView{"policies": out})
}

func (e EnterpriseRoutes) createPolicy(c echo.Context) error {
	var req policyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p, err := e.Enterprises.CreatePolicy(c.Request().Context(), actor(c).ID, req.input())
	if err != nil {
		return err
	}
	c.Set(ctxAuditTarget, p.ID)
	return c.JSON(http.StatusCreated, viewOfPolicy(p))
}

func (e EnterpriseRoutes) updatePolicy(c echo.Context) error {
	var req policyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p, err := e.Enterprises.UpdatePolicy(c.Request().Context(), actor(c).ID, pathParam(c, "id"), req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOfPolicy(p))
}

func (e EnterpriseRoutes) deletePolicy(c echo.Context) error {
	if err := e.Enterprises.DeletePolicy(c.Request().Context(), pathParam(c, "id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
