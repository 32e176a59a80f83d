package enterprises

import (
	"context"
	"fmt"
	"slices"
	"time"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// Invite appoints an administrator (the legal representative only) or
// invites an agent (the legal representative or an administrator in force)
// to the enterprise uscc for the person g.Invitee, who becomes a member
// once they accept (Accept). The invitee is stored as the blind index of
// the ID number, masked forms, and the name and number sealed; neither is
// logged.
//
// Checks, in order: the code (invalid_argument, field "uscc"); the grant
// (validateGrant: field "role", "invitee.name", "invitee.id_number",
// "scope…", "valid_from", "valid_until"); the caller's role (ErrNotMember,
// ErrNotPermitted); an administrator grantor's own validity bounds an
// agent's (invalid_argument "valid_until", check "beyond_grantor"); the
// invitee is not the caller (ErrInviteSelf), nor the legal representative,
// nor holding a live binding to the enterprise (ErrAlreadyMember); a free
// administrator seat (ErrAdministratorLimit). Nothing is stored on an
// error. Of concurrent appointments at most MaxAdministrators live
// administrators exist (seat arbiters), and a person holds at most one live
// binding per enterprise (person arbiter).
func (s *Service) Invite(ctx context.Context, userID, uscc string, g Grant) (Member, error) {
	code, err := parseCode(uscc)
	if err != nil {
		return Member{}, err
	}
	now := s.now()
	g, err = validateGrant(g, now)
	if err != nil {
		return Member{}, err
	}
	a, err := s.ActorOf(ctx, userID, code)
	if err != nil {
		return Member{}, err
	}
	switch {
	case g.Role == RoleAdministrator && a.Role != RoleLegalRepresentative,
		g.Role == RoleAgent && a.Role == RoleAgent:
		return Member{}, ErrNotPermitted
	}
	if a.ValidUntil != nil && (g.ValidUntil == nil || g.ValidUntil.After(*a.ValidUntil)) {
		return Member{}, platform.Invalid("valid_until", "beyond_grantor", "经办人的授权期限不能超过您自己的管理员期限")
	}
	idx := s.sealer.BlindIndex(idNumberKind, g.Invitee.IDNumber)
	mine, err := s.people.ProvenIndex(ctx, userID)
	if err != nil {
		return Member{}, err
	}
	if mine != "" && mine == idx {
		return Member{}, ErrInviteSelf
	}
	claim, err := s.claimOf(ctx, code)
	if err != nil {
		return Member{}, err
	}
	if claim.UserID != userID {
		rep, err := s.people.ProvenIndex(ctx, claim.UserID)
		if err != nil {
			return Member{}, err
		}
		if rep == idx {
			return Member{}, ErrAlreadyMember
		}
	}
	d := memberDoc{
		ID: newMemberID(), USCC: code, Enterprise: claim.Name, Role: g.Role, State: MemberPending, IDIndex: idx,
		NameMasked: account.MaskName(g.Invitee.Name), IDMasked: account.MaskIDNumber(g.Invitee.IDNumber),
		Scope: scopeDoc{All: g.Scope.All, Items: g.Scope.Items}, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil,
		GrantedBy: userID, GrantedByMember: a.MemberID, CreatedAt: now, UpdatedAt: now, Cascaded: true, Version: 1,
	}
	if d.NameSealed, err = s.sealer.Seal(g.Invitee.Name, account.Binding{Collection: CollMembers, ID: d.ID, Field: "name"}); err != nil {
		return Member{}, fmt.Errorf("enterprises: seal name: %w", err)
	}
	if d.IDSealed, err = s.sealer.Seal(g.Invitee.IDNumber, account.Binding{Collection: CollMembers, ID: d.ID, Field: "id_number"}); err != nil {
		return Member{}, fmt.Errorf("enterprises: seal id number: %w", err)
	}
	d.PersonKey = personKey(code, idx)
	held, err := s.hold(ctx, d.PersonKey, d.ID)
	if err != nil {
		return Member{}, fmt.Errorf("enterprises: hold person arbiter: %w", err)
	}
	if !held {
		return Member{}, ErrAlreadyMember
	}
	if g.Role == RoleAdministrator {
		if d.Seat, err = s.holdSeat(ctx, code, d.ID); err != nil {
			s.release(ctx, d.PersonKey, d.ID)
			return Member{}, err
		}
	}
	if _, err := s.members.InsertOne(ctx, d); err != nil {
		// The outcome may be unknown: the arbiters are left to judge the
		// member (live if stored, stale a minute after if not).
		return Member{}, fmt.Errorf("enterprises: store member: %w", err)
	}
	action := AuditInvite
	if g.Role == RoleAdministrator {
		action = AuditAppoint
	}
	s.record(ctx, userID, action, d)
	s.tellInvitee(ctx, d, g.Invitee)
	return d.member(s.clock.Now()), nil
}

// validateGrant checks and normalises a grant at now:
//   - role administrator or agent (field "role", check "enum");
//   - the invitee's name (account.ValidateName) and ID number
//     (account.ValidateIDNumber), fields "invitee.name", "invitee.id_number";
//   - agents: all business or 1–50 service item codes, not both (field
//     "scope", checks "required", "exclusive", "length"; "scope.items",
//     "format"), duplicates dropped; administrators: no listed items (field
//     "scope.items", check "not_allowed");
//   - valid_from (zero: now) not more than maxValidity ahead; valid_until
//     required for agents (check "required"), after both now and valid_from
//     (check "range"), not more than three years ahead (check "max").
func validateGrant(g Grant, now time.Time) (Grant, error) {
	if g.Role != RoleAdministrator && g.Role != RoleAgent {
		return Grant{}, platform.Invalid("role", "enum", "角色应为 administrator（管理员）或 agent（经办人）")
	}
	name, err := account.ValidateName(g.Invitee.Name)
	if err != nil {
		return Grant{}, underField("invitee", err)
	}
	id, err := account.ValidateIDNumber(g.Invitee.IDNumber, now)
	if err != nil {
		return Grant{}, underField("invitee", err)
	}
	g.Invitee = Invitee{Name: name, IDNumber: id}
	switch g.Role {
	case RoleAdministrator:
		if len(g.Scope.Items) > 0 {
			return Grant{}, platform.Invalid("scope.items", "not_allowed", "管理员可办理全部业务，不能限定事项")
		}
		g.Scope = Scope{All: true}
	case RoleAgent:
		switch {
		case !g.Scope.All && len(g.Scope.Items) == 0:
			return Grant{}, platform.Invalid("scope", "required", "请选择全部业务或列出授权办理的事项")
		case g.Scope.All && len(g.Scope.Items) > 0:
			return Grant{}, platform.Invalid("scope", "exclusive", "全部业务与指定事项只能二选一")
		case len(g.Scope.Items) > maxScopeItems:
			return Grant{}, platform.Invalid("scope", "length", "指定事项最多50项")
		}
		var items []string
		for _, it := range g.Scope.Items {
			if !platform.ValidServiceCode(it) {
				return Grant{}, platform.Invalid("scope.items", "format", "事项编码格式不正确")
			}
			if !slices.Contains(items, it) {
				items = append(items, it)
			}
		}
		g.Scope.Items = items
	}
	if g.ValidFrom.IsZero() || g.ValidFrom.Before(now) {
		g.ValidFrom = now
	}
	g.ValidFrom = g.ValidFrom.UTC().Truncate(timePrecision)
	if g.ValidFrom.After(now.Add(maxValidity)) {
		return Grant{}, platform.Invalid("valid_from", "max", "授权开始时间不能超过三年后")
	}
	if g.ValidUntil == nil {
		if g.Role == RoleAgent {
			return Grant{}, platform.Invalid("valid_until", "required", "请填写经办人授权的有效期")
		}
		return g, nil
	}
	until, err := checkUntil(*g.ValidUntil, g.ValidFrom, now)
	if err != nil {
		return Grant{}, err
	}
	g.ValidUntil = &until
	return g, nil
}

// checkUntil checks the end of a validity: after now and from, at most
// maxValidity ahead. Errors: invalid_argument, field "valid_until".
func checkUntil(until, from, now time.Time) (time.Time, error) {
	until = until.UTC().Truncate(timePrecision)
	if !until.After(now) || !until.After(from) {
		return time.Time{}, platform.Invalid("valid_until", "range", "有效期截止时间应晚于现在和开始时间")
	}
	if until.After(now.Add(maxValidity)) {
		return time.Time{}, platform.Invalid("valid_until", "max", "有效期最长三年")
	}
	return until, nil
}

// underField names a validation error's field under prefix.
func underField(prefix string, err error) error {
	pe, ok := platform.AsError(err)
	if !ok {
		return err
	}
	c := *pe
	c.Field = prefix + "." + pe.Field
	return &c
}
