package licences

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// UseView is one use of a licence, as its holder sees it.
type UseView struct {
	Kind            string    `json:"kind"` // verify | copy
	By              string    `json:"by"`   // the staff member, or the department system
	ByRole          string    `json:"by_role"`
	AuthorizationID string    `json:"authorization_id,omitempty"`
	Cause           string    `json:"cause,omitempty"`
	At              time.Time `json:"at"`
}

// maxUses bounds the uses listed.
const maxUses = 500

// Uses lists every use of userID's licence id (verifications at counters and
// copies departments fetched), most recent first. Errors: ErrNotFound.
func (s *Service) Uses(ctx context.Context, userID, id string) ([]UseView, error) {
	d, err := s.owned(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	cur, err := s.uses.Find(ctx, bson.M{"licence_id": d.ID},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(maxUses))
	if err != nil {
		return nil, fmt.Errorf("list licence uses: %w", err)
	}
	var docs []useDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list licence uses: %w", err)
	}
	out := make([]UseView, len(docs))
	for i, u := range docs {
		out[i] = UseView{Kind: u.Kind, By: u.By, ByRole: u.ByRole, AuthorizationID: u.AuthorizationID, Cause: u.Cause, At: platform.Local(u.At)}
	}
	return out, nil
}
