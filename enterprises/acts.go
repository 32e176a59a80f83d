package enterprises

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Actor is who a citizen is for an enterprise right now.
type Actor struct {
	USCC     string
	Name     string // the enterprise's name when it was claimed
	UserID   string
	Role     string // RoleLegalRepresentative, RoleAdministrator or RoleAgent
	MemberID string // "" for the legal representative
	Scope    Scope  // all business but for agents with listed items
	// ValidUntil is when the member's rights end (nil: no end).
	ValidUntil *time.Time
}

// ActorOf returns the role and scope in force of userID for the enterprise
// uscc: its legal representative (the claimant), or an accepted
// administrator or agent within their validity whose grantor (for an agent
// invited by an administrator) is in force too — so a revoked or expired
// grantor takes its grants' rights away at once, before the cascade marks
// them revoked.
//
// Errors: invalid_argument (field "uscc") for a malformed code;
// ErrNotMember (also for an enterprise nobody claimed); storage errors.
func (s *Service) ActorOf(ctx context.Context, userID, uscc string) (Actor, error) {
	code, err := parseCode(uscc)
	if err != nil {
		return Actor{}, err
	}
	claim, err := s.claimOf(ctx, code)
	if err != nil {
		return Actor{}, err
	}
	if claim.UserID == userID {
		return Actor{USCC: code, Name: claim.Name, UserID: userID, Role: RoleLegalRepresentative, Scope: Scope{All: true}}, nil
	}
	// One live binding per person, but an expired one stays "active" beside
	// a newer binding: take the one in force.
	cur, err := s.members.Find(ctx, bson.M{"uscc": code, "user_id": userID, "state": MemberActive}, options.Find().SetLimit(maxMembersListed))
	if err != nil {
		return Actor{}, fmt.Errorf("enterprises: read membership: %w", err)
	}
	var docs []memberDoc
	if err := cur.All(ctx, &docs); err != nil {
		return Actor{}, fmt.Errorf("enterprises: read membership: %w", err)
	}
	now := s.clock.Now()
	for _, d := range docs {
		if !d.inForce(now) {
			continue
		}
		if d.GrantedByMember != "" {
			g, err := s.loadMember(ctx, d.GrantedByMember)
			if err != nil && !errors.Is(err, ErrMemberNotFound) {
				return Actor{}, err
			}
			if err != nil || !g.inForce(now) {
				continue
			}
		}
		return Actor{USCC: code, Name: claim.Name, UserID: userID, Role: d.Role, MemberID: d.ID, Scope: d.scope(), ValidUntil: d.ValidUntil}, nil
	}
	return Actor{}, ErrNotMember
}

// ActsFor reports whether userID acts for the enterprise uscc now (any
// role, any scope). Errors: as ActorOf's, but ErrNotMember is false.
func (s *Service) ActsFor(ctx context.Context, userID, uscc string) (bool, error) {
	_, err := s.ActorOf(ctx, userID, uscc)
	if errors.Is(err, ErrNotMember) {
		return false, nil
	}
	return err == nil, err
}

// MayActFor reports whether userID acts for the enterprise uscc now with a
// scope covering the service item code item (Scope.Covers: "" needs
// all-business authority). Errors: as ActsFor's.
func (s *Service) MayActFor(ctx context.Context, userID, uscc, item string) (bool, error) {
	a, err := s.ActorOf(ctx, userID, uscc)
	if errors.Is(err, ErrNotMember) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return a.Scope.Covers(item), nil
}

// parseCode trims and checks a USCC (platform.ParseUSCC: a wrong check
// character alone passes) and returns it.
func parseCode(uscc string) (string, error) {
	uscc = strings.TrimSpace(uscc)
	if uscc == "" {
		return "", platform.Invalid("uscc", "required", "请填写统一社会信用代码")
	}
	code, err := platform.ParseUSCC(uscc)
	if err != nil {
		return "", err
	}
	return code.Code, nil
}

// claimOf reads the enterprise's claim. Errors: ErrNotMember when nobody
// claimed it, storage errors.
func (s *Service) claimOf(ctx context.Context, uscc string) (claimDoc, error) {
	var c claimDoc
	err := s.claims.FindOne(ctx, bson.M{"_id": uscc}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return claimDoc{}, ErrNotMember
	}
	if err != nil {
		return claimDoc{}, fmt.Errorf("enterprises: read claim: %w", err)
	}
	return c, nil
}

// loadMember reads a member by id. Errors: ErrMemberNotFound, storage
// errors.
func (s *Service) loadMember(ctx context.Context, id string) (memberDoc, error) {
	var d memberDoc
	err := s.members.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return memberDoc{}, ErrMemberNotFound
	}
	if err != nil {
		return memberDoc{}, fmt.Errorf("enterprises: read member: %w", err)
	}
	return d, nil
}
