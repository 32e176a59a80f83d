package enterprises

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/account"
)

// Invitations returns the pending invitations (administrator appointments
// and agent invitations) addressed to userID, oldest first: those whose ID
// number's index is the one the user proved (level 3 or more) and whose
// name is the user's, and whose validity has not ended. A user who proved
// no identity has none. Errors: account.ErrNotFound, storage errors.
func (s *Service) Invitations(ctx context.Context, userID string) ([]Invitation, error) {
	idx, err := s.people.ProvenIndex(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []Invitation{}
	if idx == "" {
		return out, nil
	}
	cur, err := s.members.Find(ctx, bson.M{"id_index": idx, "state": MemberPending},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(maxMembersListed))
	if err != nil {
		return nil, fmt.Errorf("enterprises: list invitations: %w", err)
	}
	var docs []memberDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("enterprises: list invitations: %w", err)
	}
	now := s.clock.Now()
	for _, d := range docs {
		if !d.holds(now) {
			continue
		}
		ok, err := s.addressedTo(ctx, d, userID, idx)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, Invitation{ID: d.ID, USCC: d.USCC, Enterprise: d.Enterprise, Role: d.Role, Scope: d.scope(),
				ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil, CreatedAt: d.CreatedAt})
		}
	}
	return out, nil
}

// addressedTo reports whether the invitation d is for the user, who proved
// the ID number with index idx: the same index, and the name and number the
// inviter typed (opened) are the user's identity.
func (s *Service) addressedTo(ctx context.Context, d memberDoc, userID, idx string) (bool, error) {
	if idx == "" || d.IDIndex != idx {
		return false, nil
	}
	name, err := s.sealer.Open(d.NameSealed, account.Binding{Collection: CollMembers, ID: d.ID, Field: "name"})
	if err != nil {
		return false, fmt.Errorf("enterprises: open invitee name of %s: %w", d.ID, err)
	}
	id, err := s.sealer.Open(d.IDSealed, account.Binding{Collection: CollMembers, ID: d.ID, Field: "id_number"})
	if err != nil {
		return false, fmt.Errorf("enterprises: open invitee id number of %s: %w", d.ID, err)
	}
	return s.people.CheckIdentity(ctx, userID, account.Identity{Name: name, IDNumber: id})
}

// Accept makes the user the member the pending invitation id invites: the
// user must have proven (level 3 or more) the invitee's ID number and name.
// Accepting one's accepted invitation again answers it unchanged.
//
// Errors: ErrRealnameRequired (no proven identity), ErrInvitationNotFound
// (unknown, another's, withdrawn, declined, revoked or past its validity),
// ErrAlreadyMember (the user claimed the enterprise meanwhile),
// ErrMemberBusy, storage errors. Nothing changes on an error.
func (s *Service) Accept(ctx context.Context, userID, id string) (Member, error) {
	return s.answer(ctx, userID, id, true)
}

// Decline refuses the pending invitation id (the invitee only): it ends and
// frees its arbiters. Declining again answers it unchanged. Errors: as
// Accept's (but ErrAlreadyMember).
func (s *Service) Decline(ctx context.Context, userID, id string) (Member, error) {
	return s.answer(ctx, userID, id, false)
}

// answer accepts or declines by compare-and-swap on the member's version.
func (s *Service) answer(ctx context.Context, userID, id string, accept bool) (Member, error) {
	idx, err := s.people.ProvenIndex(ctx, userID)
	if err != nil {
		return Member{}, err
	}
	if idx == "" {
		return Member{}, ErrInviteeLevel
	}
	for range casAttempts {
		d, err := s.loadMember(ctx, id)
		if errors.Is(err, ErrMemberNotFound) {
			return Member{}, ErrInvitationNotFound
		}
		if err != nil {
			return Member{}, err
		}
		ok, err := s.addressedTo(ctx, d, userID, idx)
		if err != nil {
			return Member{}, err
		}
		if !ok {
			return Member{}, ErrInvitationNotFound
		}
		now := s.now()
		switch {
		case accept && d.State == MemberActive && d.UserID == userID, !accept && d.State == MemberDeclined:
			return d.member(now), nil // answered so already
		case d.State != MemberPending || !d.holds(now):
			return Member{}, ErrInvitationNotFound
		}
		set := bson.M{"updated_at": now, "answered_at": now}
		action := AuditDecline
		if accept {
			claim, err := s.claimOf(ctx, d.USCC)
			if err != nil {
				return Member{}, err
			}
			if claim.UserID == userID {
				return Member{}, ErrAlreadyMember
			}
			set["state"], set["user_id"] = MemberActive, userID
			action = AuditAccept
		} else {
			set["state"], set["ended_at"], set["ended_by"] = MemberDeclined, now, userID
		}
		next, changed, err := s.swap(ctx, d, set)
		if err != nil {
			return Member{}, err
		}
		if !changed {
			continue
		}
		if !accept {
			s.release(ctx, next.Seat, next.ID)
			s.release(ctx, next.PersonKey, next.ID)
		}
		s.record(ctx, userID, action, next)
		return next.member(s.clock.Now()), nil
	}
	return Member{}, ErrMemberBusy
}

// casAttempts bounds the retries of a compare-and-swap on a member.
const casAttempts = 5

// swap sets set on d's document if it is still at d's version, raising the
// version, and returns the new document; changed false when it moved on.
func (s *Service) swap(ctx context.Context, d memberDoc, set bson.M) (memberDoc, bool, error) {
	return s.swapWhere(ctx, bson.M{"_id": d.ID, "version": d.Version}, set)
}

// swapWhere applies set (and raises the version) to the one member filter
// names, returning the document as this update left it (not a later one,
// so its audit entry is this change's); changed false when none matched.
func (s *Service) swapWhere(ctx context.Context, filter, set bson.M) (memberDoc, bool, error) {
	var next memberDoc
	err := s.members.FindOneAndUpdate(ctx, filter, bson.M{"$set": set, "$inc": bson.M{"version": 1}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&next)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return memberDoc{}, false, nil
	}
	if err != nil {
		return memberDoc{}, false, fmt.Errorf("enterprises: update member: %w", err)
	}
	return next, true, nil
}
