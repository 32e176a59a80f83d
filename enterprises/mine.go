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

// Mine returns the enterprises userID acts for, oldest claim first (at most
// 100), an empty slice for none. Errors: storage errors.
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
	out := make([]Membership, len(docs))
	for i, d := range docs {
		out[i] = d.membership()
	}
	return out, nil
}
