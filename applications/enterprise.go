package applications

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// ListForEnterprise returns the applications whose applicant is the
// enterprise uscc, most recently changed first, at most limit (1 to
// MaxList; out of range means 20). The caller decides who may see them (the
// enterprise page: its members). Errors: platform.Invalid (field uscc) for
// a malformed code; storage errors.
func (s *Service) ListForEnterprise(ctx context.Context, uscc string, limit int) ([]Summary, error) {
	if _, err := platform.ParseUSCC(uscc); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxList {
		limit = 20
	}
	cur, err := s.apps.Find(ctx, bson.M{"uscc": uscc}, options.Find().
		SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list applications of an enterprise: %w", err)
	}
	var docs []appDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list applications of an enterprise: %w", err)
	}
	out := []Summary{}
	for _, d := range docs {
		out = append(out, d.summary())
	}
	return out, nil
}
