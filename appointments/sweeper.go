package appointments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// SweepReport counts what one sweep did.
type SweepReport struct {
	NoShows     int `json:"no_shows"`
	Penalized   int `json:"penalized"`
	Reminders   int `json:"reminders"`
	Released    int `json:"released"`
	SeatsReturn int `json:"seats_returned"`
	IdemExpired int `json:"idempotency_expired"`
}

// SweepOnce runs every background duty once: no-shows and their penalties,
// day-before reminders, finishing cancellations a crash interrupted,
// returning lost seat numbers to the Redis pools, and expiring idempotency
// records. Idempotent and safe to run on several
// replicas at once. Errors: storage errors (the parts before it are done).
func (s *Service) SweepOnce(ctx context.Context) (SweepReport, error) {
	var r SweepReport
	cat, err := s.cat.get(ctx)
	if err != nil {
		return r, err
	}
	if r.NoShows, r.Penalized, err = s.sweepNoShows(ctx, cat); err != nil {
		return r, err
	}
	if r.Reminders, err = s.sweepReminders(ctx, cat); err != nil {
		return r, err
	}
	if r.Released, err = s.sweepReleases(ctx, cat); err != nil {
		return r, err
	}
	if r.SeatsReturn, err = s.reconcilePools(ctx, cat); err != nil {
		s.log.Warn("seat pools not reconciled", "err", err) // Redis down: nothing to repair there now
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

// sweepReleases finishes cancellations whose release a crash interrupted.
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

// RunSweeper runs SweepOnce every interval (default one minute) until ctx
// ends. Replicas share the work through a lease in MongoDB (appt_leases):
// usually one sweeps, and if two ever do, the duties are idempotent.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	holder := hex.EncodeToString(b)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if ok, err := s.takeLease(ctx, "sweeper", holder, every); err != nil {
			s.log.Warn("sweeper lease", "err", err)
		} else if ok {
			sctx, cancel := context.WithTimeout(ctx, max(every, time.Minute))
			r, err := s.SweepOnce(sctx)
			cancel()
			if err != nil {
				s.log.Warn("appointments sweep", "err", err, "report", r)
			} else if r != (SweepReport{}) {
				s.log.Info("appointments sweep", "report", r)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takeLease takes or renews the named lease for d. False when another
// holder's lease is still running.
func (s *Service) takeLease(ctx context.Context, name, holder string, d time.Duration) (bool, error) {
	now := s.clock.Now()
	_, err := s.db.Collection("appt_leases").UpdateOne(ctx,
		bson.M{"_id": name, "$or": bson.A{bson.M{"until": bson.M{"$lte": now}}, bson.M{"holder": holder}}},
		bson.M{"$set": bson.M{"holder": holder, "until": ms(now.Add(d))}}, options.UpdateOne().SetUpsert(true))
	if platform.IsDuplicateKey(err) {
		return false, nil
	}
	return err == nil, err
}
