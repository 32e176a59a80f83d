package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/enterprises"
	"banshi/internal/platform"
)

// scopeView is an agent's scope: all business, or the listed service item
// codes.
type scopeView struct {
	All   bool     `json:"all"`
	Items []string `json:"items"`
}

func viewOfScope(s enterprises.Scope) scopeView {
	items := s.Items
	if items == nil {
		items = []string{}
	}
	return scopeView{All: s.All, Items: items}
}

// localPtr is t in Asia/Shanghai, nil for nil.
func localPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	l := platform.Local(*t)
	return &l
}

// parseTimeField parses an RFC 3339 time given in field; nil for nil.
func parseTimeField(field string, v *string) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil {
		return nil, platform.Invalid(field, "format", "时间应为 RFC 3339 格式，如 2026-03-16T09:00:00+08:00")
	}
	return &t, nil
}

// inviteeInput is the person a grant is for.
type inviteeInput struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// scopeInput is an agent's scope as asked.
type scopeInput struct {
	All   bool     `json:"all"`
	Items []string `json:"items"`
}

// memberRequest is POST /enterprises/{uscc}/members's body.
type memberRequest struct {
	Role       string        `json:"role"`
	Invitee    *inviteeInput `json:"invitee"`
	Scope      *scopeInput   `json:"scope"`
	ValidFrom  *string       `json:"valid_from"`
	ValidUntil *string       `json:"valid_until"`
}

// memberView is a member or invitation as the enterprise's managers see it.
type memberView struct {
	ID              string     `json:"id"`
	USCC            string     `json:"uscc"`
	Role            string     `json:"role"`
	State           string     `json:"state"`
	NameMasked      string     `json:"name_masked"`
	IDNumberMasked  string     `json:"id_number_masked"`
	Scope           scopeView  `json:"scope"`
	ValidFrom       time.Time  `json:"valid_from"`
	ValidUntil      *time.Time `json:"valid_until"`
	InForce         bool       `json:"in_force"`
	GrantedByMember string     `json:"granted_by_member,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func viewOfMember(m enterprises.Member) memberView {
	return memberView{ID: m.ID, USCC: m.USCC, Role: m.Role, State: m.State, NameMasked: m.NameMasked, IDNumberMasked: m.IDMasked,
		Scope: viewOfScope(m.Scope), ValidFrom: platform.Local(m.ValidFrom), ValidUntil: localPtr(m.ValidUntil), InForce: m.InForce,
		GrantedByMember: m.GrantedByMember, CreatedAt: platform.Local(m.CreatedAt), UpdatedAt: platform.Local(m.UpdatedAt)}
}

// invite answers 201 with the new pending member.
func (e EnterpriseRoutes) invite(c echo.Context) error {
	var req memberRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Invitee == nil {
		return platform.Invalid("invitee", "required", "请填写被邀请人的姓名和身份证号")
	}
	from, err := parseTimeField("valid_from", req.ValidFrom)
	if err != nil {
		return err
	}
	until, err := parseTimeField("valid_until", req.ValidUntil)
	if err != nil {
		return err
	}
	g := enterprises.Grant{Role: req.Role, Invitee: enterprises.Invitee{Name: req.Invitee.Name, IDNumber: req.Invitee.IDNumber}, ValidUntil: until}
	if from != nil {
		g.ValidFrom = *from
	}
	if req.Scope != nil {
		g.Scope = enterprises.Scope{All: req.Scope.All, Items: req.Scope.Items}
	}
	m, err := e.Enterprises.Invite(c.Request().Context(), userID(c), pathParam(c, "uscc"), g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewOfMember(m))
}

func (e EnterpriseRoutes) members(c echo.Context) error {
	list, err := e.Enterprises.Members(c.Request().Context(), userID(c), pathParam(c, "uscc"))
	if err != nil {
		return err
	}
	out := make([]memberView, len(list))
	for i, m := range list {
		out[i] = viewOfMember(m)
	}
	return c.JSON(http.StatusOK, map[string][]memberView{"members": out})
}

// validityRequest is PATCH /enterprises/{uscc}/members/{member_id}'s body:
// valid_until is required; null means no end (administrators only).
type validityRequest struct {
	ValidUntil *string `json:"valid_until"`
	NoEnd      bool    `json:"no_end"`
}

func (e EnterpriseRoutes) changeValidity(c echo.Context) error {
	var req validityRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.ValidUntil == nil && !req.NoEnd {
		return platform.Invalid("valid_until", "required", "请填写新的有效期截止时间")
	}
	if req.ValidUntil != nil && req.NoEnd {
		return platform.Invalid("no_end", "exclusive", "有效期截止时间与长期有效只能二选一")
	}
	until, err := parseTimeField("valid_until", req.ValidUntil)
	if err != nil {
		return err
	}
	m, err := e.Enterprises.ChangeValidity(c.Request().Context(), userID(c), pathParam(c, "uscc"), pathParam(c, "member_id"), until)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOfMember(m))
}

func (e EnterpriseRoutes) endMember(c echo.Context) error {
	m, err := e.Enterprises.End(c.Request().Context(), userID(c), pathParam(c, "uscc"), pathParam(c, "member_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOfMember(m))
}

// auditEntryView is one change in an enterprise's audit trail.
type auditEntryView struct {
	At         time.Time  `json:"at"`
	Actor      string     `json:"actor"`
	Action     string     `json:"action"`
	MemberID   string     `json:"member_id"`
	Role       string     `json:"role"`
	NameMasked string     `json:"name_masked"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

func (e EnterpriseRoutes) audit(c echo.Context) error {
	list, err := e.Enterprises.Audit(c.Request().Context(), userID(c), pathParam(c, "uscc"))
	if err != nil {
		return err
	}
	out := make([]auditEntryView, len(list))
	for i, a := range list {
		out[i] = auditEntryView{At: platform.Local(a.At), Actor: a.Actor, Action: a.Action, MemberID: a.MemberID, Role: a.Role,
			NameMasked: a.NameMasked, ValidUntil: localPtr(a.ValidUntil)}
	}
	return c.JSON(http.StatusOK, map[string][]auditEntryView{"entries": out})
}

// invitationView is a pending invitation as its invitee sees it.
type invitationView struct {
	ID         string     `json:"id"`
	USCC       string     `json:"uscc"`
	Enterprise string     `json:"enterprise_name"`
	Role       string     `json:"role"`
	Scope      scopeView  `json:"scope"`
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
	CreatedAt  time.Time  `json:"created_at"`
}

func (e EnterpriseRoutes) invitations(c echo.Context) error {
	list, err := e.Enterprises.Invitations(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	out := make([]invitationView, len(list))
	for i, v := range list {
		out[i] = invitationView{ID: v.ID, USCC: v.USCC, Enterprise: v.Enterprise, Role: v.Role, Scope: viewOfScope(v.Scope),
			ValidFrom: platform.Local(v.ValidFrom), ValidUntil: localPtr(v.ValidUntil), CreatedAt: platform.Local(v.CreatedAt)}
	}
	return c.JSON(http.StatusOK, map[string][]invitationView{"invitations": out})
}

func (e EnterpriseRoutes) accept(c echo.Context) error {
	m, err := e.Enterprises.Accept(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOfMember(m))
}

func (e EnterpriseRoutes) decline(c echo.Context) error {
	m, err := e.Enterprises.Decline(c.Request().Context(), userID(c), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOfMember(m))
}
