package enterprises

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// timePrecision is what MongoDB keeps of a time: claims are answered as
// they will read back.
const timePrecision = time.Millisecond

// maxMemberships bounds Mine's answer.
const maxMemberships = 100

// Mine returns the enterprises userID acts for, in every role: first those
// it claimed as legal representative (oldest claim first), then those whose
// administrator or agent it accepted to be and that are not ended (oldest
// acceptance first, InForce false once the validity is over or not begun);
// at most 100 in all, an empty slice for none. Errors: storage errors.
func (s *Service) Mine(ctx context.Context, userID string) ([]Membership, error) {
	cur, err := s.claims.Find(ctx, bson.M{"user_id": userID},
		options.Find().SetSort(bson.D{{Key: "claimed_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(maxMemberships))
	if err != nil {
		return nil, fmt.Errorf("enterprises: list claims: %w", err)
	}
	var docs []claimDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("enterprises: list claims: %w", err)
	}
	out := make([]Membership, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.membership())
	}
	if len(out) >= maxMemberships {
		return out, nil
	}
	cur, err = s.members.Find(ctx, bson.M{"user_id": userID, "state": MemberActive},
		options.Find().SetSort(bson.D{{Key: "answered_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(maxMemberships-len(out))))
	if err != nil {
		return nil, fmt.Errorf("enterprises: list memberships: %w", err)
	}
	var ms []memberDoc
	if err := cur.All(ctx, &ms); err != nil {
		return nil, fmt.Errorf("enterprises: list memberships: %w", err)
	}
	now := s.clock.Now()
	for _, d := range ms {
		sc := d.scope()
		from := d.ValidFrom
		in := d.inForce(now)
		if in && d.GrantedByMember != "" {
			g, err := s.loadMember(ctx, d.GrantedByMember)
			in = err == nil && g.inForce(now)
		}
		out = append(out, Membership{USCC: d.USCC, Name: d.Enterprise, Role: d.Role, ClaimedAt: d.AnsweredAt,
			MemberID: d.ID, Scope: &sc, ValidFrom: &from, ValidUntil: d.ValidUntil, InForce: in})
	}
	return out, nil
}
