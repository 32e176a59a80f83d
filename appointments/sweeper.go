package appointments

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// SweepReport counts what one sweep did.
type SweepReport struct {
	NoShows   int `json:"no_shows"`
	Penalized int `json:"penalized"`
	// ClosureCancelled counts bookings left on a closed day, cancelled
	// instead of becoming no-shows.
	ClosureCancelled int `json:"closure_cancelled"`
	Reminders        int `json:"reminders"`
	Released         int `json:"released"`
	Notices          int `json:"notices"` // messages a crash (or a store outage) kept from being published
	SeatsReturn      int `json:"seats_returned"`
	IdemExpired      int `json:"idempotency_expired"`
}

// SweepOnce runs every background duty once: no-shows and their penalties
// (bookings left on a closed day are cancelled instead), day-before
// reminders, finishing cancellations a crash interrupted,
// returning lost seat numbers to the Redis pools, removing the schedule
// gates of writers that died, and expiring idempotency records. Idempotent and safe to run on several
// replicas at once. Errors: storage errors (the parts before it are done).
func (s *Service) SweepOnce(ctx context.Context) (SweepReport, error) {
	var r SweepReport
	cat, err := s.cat.get(ctx)
	if err != nil {
		return r, err
	}
	if r.ClosureCancelled, err = s.CancelClosedDays(ctx); err != nil {
		return r, err
	}
	ns, err := s.sweepNoShows(ctx, cat)
	r.NoShows, r.Penalized = ns.noShows, ns.penalized
	r.ClosureCancelled += ns.closureCancelled
	if err != nil {
		return r, err
	}
	if r.Reminders, err = s.sweepReminders(ctx, cat); err != nil {
		return r, err
	}
	if r.Released, err = s.sweepReleases(ctx, cat); err != nil {
		return r, err
	}
	if r.Notices, err = s.sweepNotices(ctx, cat); err != nil {
		return r, err
	}
	if r.SeatsReturn, err = s.reconcilePools(ctx, cat); err != nil {
		s.log.Warn("seat pools not reconciled", "err", err) // Redis down: nothing to repair there now
	}
	if err := s.sweepGates(ctx); err != nil {
		return r, err
	}
	now := s.clock.Now()
	res, err := s.idem.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now}})
	if err != nil {
		return r, fmt.Errorf("expire idempotency records: %w", err)
	}
	r.IdemExpired = int(res.DeletedCount)
	if _, err := s.appts.DeleteMany(ctx, bson.M{"status": statusFailed,
		"created_at": bson.M{"$lt": now.Add(-s.cfg.idempotencyTTL - s.cfg.abandonAfter - time.Hour)}}); err != nil {
		return r, fmt.Errorf("expire failed bookings: %w", err)
	}
	return r, nil
}

// sweepReleases finishes cancellations whose release a crash interrupted
// (their message is the notices' sweep's).
func (s *Service) sweepReleases(ctx context.Context, cat *catalog) (int, error) {
	docs, err := s.findAppts(ctx, bson.M{"status": StatusCancelled, "released": false,
		"cancelled_at": bson.M{"$lt": s.clock.Now().Add(-time.Minute)}})
	if err != nil {
		return 0, err
	}
	for i := range docs {
		if err := s.releaseCancelled(ctx, cat, &docs[i]); err != nil {
			return i, err
		}
	}
	return len(docs), nil
}

// sweeperLease names the lease (platform.Leases) under which one replica
// sweeps; sweeperLeaseTTL is how long a holder that died keeps it.
const (
	sweeperLease    = "appointments.sweeper"
	sweeperLeaseTTL = time.Minute
)

// RunSweeper runs SweepOnce every interval (default one minute) until ctx
// ends. Replicas share the work through a lease in MongoDB (platform.Leases,
// lease "appointments.sweeper"): one sweeps while it holds the lease, the
// others take over within a minute of its death, and a sweep whose lease is
// lost is cancelled. If two ever sweep at once, the duties are idempotent.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	s.leases.RunEvery(ctx, sweeperLease, platform.LeaseRun{TTL: sweeperLeaseTTL, Log: s.log}, every,
		func(ctx context.Context) error {
			r, err := s.SweepOnce(ctx)
			if r != (SweepReport{}) {
				s.log.Info("appointments sweep", "report", r)
			}
			return err
		})
}
