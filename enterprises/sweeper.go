package enterprises

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// cascadeGrace is how long an ended member's cascade is left to the
// request that ended it before the sweeper finishes it.
const cascadeGrace = time.Minute

// maxCascadesPerSweep bounds one sweep.
const maxCascadesPerSweep = 100

// FinishCascades ends what the members that ended more than a minute ago
// still owe (cascaded false: a process died between ending a member and
// ending its grants) and returns how many it finished. Idempotent; run it
// periodically under a lease (Leases.RunEvery). ActorOf denies the grants
// their rights meanwhile; this frees their arbiters and records them.
// Errors: storage errors (what was finished stays finished).
func (s *Service) FinishCascades(ctx context.Context) (int, error) {
	cur, err := s.members.Find(ctx, bson.M{"cascaded": false, "state": bson.M{"$in": bson.A{MemberRevoked, MemberWithdrawn, MemberDeclined}},
		"ended_at": bson.M{"$lt": s.now().Add(-cascadeGrace)}}, options.Find().SetLimit(maxCascadesPerSweep))
	if err != nil {
		return 0, fmt.Errorf("enterprises: find unfinished cascades: %w", err)
	}
	var docs []memberDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("enterprises: find unfinished cascades: %w", err)
	}
	n := 0
	for _, d := range docs {
		actor := d.EndedBy
		if actor == "" {
			actor = "system"
		}
		if err := s.cascade(ctx, actor, d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
