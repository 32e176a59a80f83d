package enterprises

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Members lists the enterprise's administrators and agents, every state,
// oldest first (at most 200), to its legal representative and
// administrators in force. Errors: invalid_argument (uscc), ErrNotMember,
// ErrNotPermitted (an agent), storage errors.
func (s *Service) Members(ctx context.Context, userID, uscc string) ([]Member, error) {
	a, err := s.ActorOf(ctx, userID, uscc)
	if err != nil {
		return nil, err
	}
	if a.Role == RoleAgent {
		return nil, ErrNotPermitted
	}
	return s.membersOf(ctx, a.USCC)
}

// membersOf reads the enterprise's members, oldest first.
func (s *Service) membersOf(ctx context.Context, uscc string) ([]Member, error) {
	cur, err := s.members.Find(ctx, bson.M{"uscc": uscc},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(maxMembersListed))
	if err != nil {
		return nil, fmt.Errorf("enterprises: list members: %w", err)
	}
	var docs []memberDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("enterprises: list members: %w", err)
	}
	now := s.clock.Now()
	out := make([]Member, len(docs))
	for i, d := range docs {
		out[i] = d.member(now)
	}
	return out, nil
}

// managed reads the member id of the enterprise and checks that the caller
// may change it: the legal representative any member, an administrator in
// force those it granted. Errors: invalid_argument (uscc), ErrNotMember,
// ErrNotPermitted, ErrMemberNotFound (unknown, of another enterprise, or
// not the administrator's grant), storage errors.
func (s *Service) managed(ctx context.Context, userID, uscc, id string) (Actor, memberDoc, error) {
	a, err := s.ActorOf(ctx, userID, uscc)
	if err != nil {
		return Actor{}, memberDoc{}, err
	}
	if a.Role == RoleAgent {
		return Actor{}, memberDoc{}, ErrNotPermitted
	}
	d, err := s.loadMember(ctx, id)
	if err != nil {
		return Actor{}, memberDoc{}, err
	}
	if d.USCC != a.USCC || (a.Role == RoleAdministrator && d.GrantedByMember != a.MemberID) {
		return Actor{}, memberDoc{}, ErrMemberNotFound
	}
	return a, d, nil
}

// End ends the binding id of the enterprise: a pending invitation is
// withdrawn, an accepted one revoked; its arbiters are freed, and every
// binding it granted is ended too (cascade), each audited. Ending an ended
// binding answers it unchanged (and finishes a cascade a crash left).
// The legal representative ends any binding, an administrator those it
// granted. Errors: as managed's; ErrMemberBusy; storage errors.
func (s *Service) End(ctx context.Context, userID, uscc, id string) (Member, error) {
	for range casAttempts {
		_, d, err := s.managed(ctx, userID, uscc, id)
		if err != nil {
			return Member{}, err
		}
		if !d.live() {
			if err := s.cascade(ctx, userID, d); err != nil {
				return Member{}, err
			}
			return d.member(s.clock.Now()), nil
		}
		next, changed, err := s.end(ctx, userID, d, false)
		if err != nil {
			return Member{}, err
		}
		if !changed {
			continue
		}
		if err := s.cascade(ctx, userID, next); err != nil {
			return Member{}, err
		}
		return next.member(s.clock.Now()), nil
	}
	return Member{}, ErrMemberBusy
}

// end moves the live member d to withdrawn (pending) or revoked (active)
// by compare-and-swap, frees its arbiters and records it. The member then
// owes its cascade (cascaded false) unless it granted nothing.
func (s *Service) end(ctx context.Context, actor string, d memberDoc, byCascade bool) (memberDoc, bool, error) {
	now := s.now()
	state, action := MemberRevoked, AuditRevoke
	if d.State == MemberPending {
		state, action = MemberWithdrawn, AuditWithdraw
	}
	if byCascade {
		action = AuditCascade
	}
	next, changed, err := s.swap(ctx, d, bson.M{"state": state, "ended_at": now, "ended_by": actor, "updated_at": now,
		"cascaded": d.Role == RoleAgent})
	if err != nil || !changed {
		return memberDoc{}, changed, err
	}
	s.release(ctx, next.Seat, next.ID)
	s.release(ctx, next.PersonKey, next.ID)
	s.record(ctx, actor, action, next)
	return next, true, nil
}

// cascade ends every live binding the ended member d granted, then marks d
// cascaded. Idempotent; until it finishes, ActorOf already denies the
// grants their rights (their grantor is not in force).
func (s *Service) cascade(ctx context.Context, actor string, d memberDoc) error {
	if d.Cascaded {
		return nil
	}
	cur, err := s.members.Find(ctx, bson.M{"granted_by_member": d.ID, "state": bson.M{"$in": bson.A{MemberPending, MemberActive}}},
		options.Find().SetLimit(1000))
	if err != nil {
		return fmt.Errorf("enterprises: list grants of %s: %w", d.ID, err)
	}
	var grants []memberDoc
	if err := cur.All(ctx, &grants); err != nil {
		return fmt.Errorf("enterprises: list grants of %s: %w", d.ID, err)
	}
	for _, g := range grants {
		for range casAttempts {
			_, changed, err := s.end(ctx, actor, g, true)
			if err != nil {
				return err
			}
			if changed {
				break
			}
			if g, err = s.loadMember(ctx, g.ID); err != nil {
				return err
			}
			if !g.live() {
				break
			}
		}
	}
	if _, err := s.members.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"cascaded": true}}); err != nil {
		return fmt.Errorf("enterprises: mark cascade of %s: %w", d.ID, err)
	}
	return nil
}

// ChangeValidity sets when the live binding id ends (nil: no end, for
// administrators only) after the checks of Invite (field "valid_until":
// "required", "range", "max", "beyond_grantor"). A binding whose validity is
// over, or that ended, cannot be changed (ErrMemberState): invite again.
// Permissions and other errors as End's.
func (s *Service) ChangeValidity(ctx context.Context, userID, uscc, id string, until *time.Time) (Member, error) {
	for range casAttempts {
		a, d, err := s.managed(ctx, userID, uscc, id)
		if err != nil {
			return Member{}, err
		}
		now := s.now()
		if !d.holds(now) {
			return Member{}, ErrMemberState
		}
		var newUntil *time.Time
		switch {
		case until == nil && d.Role == RoleAgent:
			return Member{}, platform.Invalid("valid_until", "required", "请填写经办人授权的有效期")
		case until != nil:
			u, err := checkUntil(*until, d.ValidFrom, now)
			if err != nil {
				return Member{}, err
			}
			newUntil = &u
		}
		if a.ValidUntil != nil && (newUntil == nil || newUntil.After(*a.ValidUntil)) {
			return Member{}, platform.Invalid("valid_until", "beyond_grantor", "经办人的授权期限不能超过您自己的管理员期限")
		}
		set := bson.M{"valid_until": newUntil, "updated_at": now}
		if newUntil == nil {
			set["valid_until"] = nil
		}
		// The swap's version guard also keeps a validity that ran out
		// meanwhile (its seat may be another's) from being extended: the
		// version did not change, so check the time in the filter too.
		filter := bson.M{"_id": d.ID, "version": d.Version}
		if d.ValidUntil != nil {
			filter["valid_until"] = bson.M{"$gt": now}
		}
		next, changed, err := s.swapWhere(ctx, filter, set)
		if err != nil {
			return Member{}, err
		}
		if !changed {
			continue
		}
		s.record(ctx, userID, AuditValidity, next)
		return next.member(s.clock.Now()), nil
	}
	return Member{}, ErrMemberBusy
}
