package evaluations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MaxMine is the most evaluations ForUser returns.
const MaxMine = 200

// ForUser lists the evaluations of userID, newest first (at most MaxMine):
// those they made (for themselves or for an enterprise they act for) and
// the default ratings of applications of the ID number they proved; each
// 差评 with its ticket's state and the department's reply. It is what the
// citizen's list shows and what a personal-data export includes.
// Errors: storage only.
func (s *Service) ForUser(ctx context.Context, userID string) ([]Evaluation, error) {
	filters := []bson.M{{"evaluator.user_id": userID}}
	idx, err := s.ids.ProvenIndex(ctx, userID)
	if err != nil {
		return nil, err
	}
	if idx != "" {
		filters = append(filters, bson.M{"evaluator.id_index": idx})
	}
	seen := map[string]bool{}
	var docs []evalDoc
	for _, f := range filters {
		cur, err := s.evals.Find(ctx, f, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(MaxMine))
		if err != nil {
			return nil, fmt.Errorf("list evaluations: %w", err)
		}
		var part []evalDoc
		if err := cur.All(ctx, &part); err != nil {
			return nil, fmt.Errorf("list evaluations: %w", err)
		}
		for _, d := range part {
			if !seen[d.ID] {
				seen[d.ID] = true
				docs = append(docs, d)
			}
		}
	}
	slices.SortFunc(docs, func(a, b evalDoc) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(docs) > MaxMine {
		docs = docs[:MaxMine]
	}
	out := make([]Evaluation, 0, len(docs))
	for _, d := range docs {
		v := d.view()
		if Bad(d.Level) {
			t, err := s.ticket(ctx, d.ID)
			switch {
			case err == nil:
				v.Ticket = t.summary()
			case !errors.Is(err, ErrTicketNotFound):
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}
