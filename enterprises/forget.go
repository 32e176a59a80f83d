package enterprises

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// actorDeletion is who ends bindings when their holder or grantor asked to
// be deleted (recorded in the audit trail instead of a user id).
const actorDeletion = "system:account_deleted"

// Forget ends what a person who asked to be deleted holds in enterprises
// (PIPL art. 47): every live binding they hold or were invited to is ended
// (with what they granted), and every enterprise they claimed as its legal
// representative is released, its live bindings ended first, so that the
// enterprise may be claimed again. The audit trails stay (they hold user
// ids and masked names only). Idempotent: a resumed deletion calls it
// again. Errors: storage errors, ErrMemberBusy.
func (s *Service) Forget(ctx context.Context, userID string) error {
	held, err := s.liveMembers(ctx, bson.M{"user_id": userID})
	if err != nil {
		return err
	}
	for _, d := range held {
		if err := s.endBySystem(ctx, d); err != nil {
			return err
		}
	}
	cur, err := s.claims.Find(ctx, bson.M{"user_id": userID})
	if err != nil {
		return fmt.Errorf("enterprises: list claims: %w", err)
	}
	var claims []claimDoc
	if err := cur.All(ctx, &claims); err != nil {
		return fmt.Errorf("enterprises: list claims: %w", err)
	}
	for _, c := range claims {
		members, err := s.liveMembers(ctx, bson.M{"uscc": c.USCC})
		if err != nil {
			return err
		}
		for _, d := range members {
			if err := s.endBySystem(ctx, d); err != nil {
				return err
			}
		}
		if _, err := s.claims.DeleteOne(ctx, bson.M{"_id": c.USCC, "user_id": userID}); err != nil {
			return fmt.Errorf("enterprises: release claim: %w", err)
		}
		s.log.InfoContext(ctx, "enterprise claim released: its legal representative's account was deleted",
			"user_id", userID, "uscc", c.USCC)
	}
	return nil
}

// liveMembers returns the pending and active bindings matching filter.
func (s *Service) liveMembers(ctx context.Context, filter bson.M) ([]memberDoc, error) {
	filter["state"] = bson.M{"$in": bson.A{MemberPending, MemberActive}}
	cur, err := s.members.Find(ctx, filter, options.Find().SetLimit(1000))
	if err != nil {
		return nil, fmt.Errorf("enterprises: list members: %w", err)
	}
	var out []memberDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("enterprises: list members: %w", err)
	}
	return out, nil
}

// endBySystem ends the live binding d and what it granted, as End does,
// without an acting member's permission (deletion needs none).
func (s *Service) endBySystem(ctx context.Context, d memberDoc) error {
	for range casAttempts {
		if !d.live() {
			return s.cascade(ctx, actorDeletion, d)
		}
		next, changed, err := s.end(ctx, actorDeletion, d, false)
		if err != nil {
			return err
		}
		if changed {
			return s.cascade(ctx, actorDeletion, next)
		}
		if d, err = s.loadMember(ctx, d.ID); err != nil {
			return err
		}
	}
	return ErrMemberBusy
}
