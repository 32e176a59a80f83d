package applications

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// PublishGrace is how long a stored event may stay unpublished before the
// sweeper finishes it: long enough for the request that stored it to be done.
const PublishGrace = time.Minute

// sweeperLease names the lease under which one replica sweeps.
const (
	sweeperLease    = "applications.sweeper"
	sweeperLeaseTTL = time.Minute
	sweepBatch      = 500
)

// SweepOnce finishes events stored at least PublishGrace ago and not yet
// published — their process died, or a store failed, between storing and
// publishing: it applies them (when missing) and publishes their messages.
// One event that cannot be finished does not hold the others back: it
// returns how many it finished and the first error.
func (s *Service) SweepOnce(ctx context.Context) (int, error) {
	cutoff := s.clock.Now().Add(-PublishGrace).UTC()
	cur, err := s.events.Find(ctx, bson.M{"published": false, "received_at": bson.M{"$lte": cutoff}},
		options.Find().SetSort(bson.D{{Key: "received_at", Value: 1}}).SetLimit(sweepBatch))
	if err != nil {
		return 0, fmt.Errorf("find unpublished application events: %w", err)
	}
	var docs []eventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("find unpublished application events: %w", err)
	}
	n, first := 0, error(nil)
	for _, d := range docs {
		if _, err := s.finish(ctx, d); err != nil {
			if first == nil {
				first = fmt.Errorf("finish application event %s: %w", d.ID, err)
			}
			continue
		}
		n++
	}
	return n, first
}

// RunSweeper runs SweepOnce every interval (default one minute) until ctx
// ends, under the lease "applications.sweeper" (platform.Leases): one
// replica sweeps at a time, another takes over within a minute of its death.
// Should two ever sweep at once, finishing an event is idempotent.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	s.leases.RunEvery(ctx, sweeperLease, platform.LeaseRun{TTL: sweeperLeaseTTL, Log: s.log}, every,
		func(ctx context.Context) error {
			n, err := s.SweepOnce(ctx)
			if n > 0 {
				s.log.Info("applications sweep: published events left unpublished", "finished", n)
			}
			return err
		})
}
