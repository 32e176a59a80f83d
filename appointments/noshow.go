package appointments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// No-show policy. An appointment still booked no_show_after_minutes (hall
// rule, default 30) after its slot ends becomes no_show at end+grace. Each
// no-show is recorded once (appt_noshows, _id = appointment). When the
// citizen has NoShowLimit (2) no-shows within NoShowPeriod (30 days) ending
// at this one, booking is suspended for SuspendFor (30 days) from it and the
// inbox says until when; otherwise the inbox gets a warning. Every step is
// idempotent (conditional status change, deterministic IDs, $max), so two
// sweeper replicas, or a sweep repeated after a crash, change nothing more.
//
// A day the calendar closes (a closure of the hall or a public holiday, as
// the catalog has it when the sweep runs, even if declared that morning)
// never produces a no-show or a suspension: a booking left on it is
// cancelled instead ("system", with the reason, and the citizen is told),
// and a no-show of such a day not yet penalized is not penalized.

// noShowSweep counts what sweepNoShows did.
type noShowSweep struct{ noShows, penalized, closureCancelled int }

// sweepNoShows turns overdue booked appointments into no-shows (or, on a
// closed day, cancels them) and applies the penalties not yet applied.
func (s *Service) sweepNoShows(ctx context.Context, cat *catalog) (noShowSweep, error) {
	var r noShowSweep
	now := s.clock.Now()
	docs, err := s.findAppts(ctx, bson.M{"status": StatusBooked, "end": bson.M{"$lt": now}})
	if err != nil {
		return r, err
	}
	for i := range docs {
		d := &docs[i]
		grace := 30 * time.Minute
		if h := cat.halls[d.HallID]; h != nil {
			grace = time.Duration(h.Rules.NoShowAfterMinutes) * time.Minute
		}
		if now.Before(d.End.Add(grace)) {
			continue
		}
		if cat.dayClosed(d.HallID, d.Date) {
			_, err := s.cancelBooked(ctx, cat, d, cancelledBySystem, closureReason(cat, d))
			switch {
			case err == nil:
				r.closureCancelled++
			case !errors.Is(err, ErrNotCancellable): // checked in or cancelled meanwhile
				return r, err
			}
			continue
		}
		res, err := s.appts.UpdateOne(ctx, bson.M{"_id": d.ID, "status": StatusBooked},
			bson.M{"$set": bson.M{"status": StatusNoShow, "no_show_at": ms(d.End.Add(grace)), "penalized": false}})
		if err != nil {
			return r, fmt.Errorf("mark no-show: %w", err)
		}
		if res.ModifiedCount == 1 {
			r.noShows++
			s.metrics.noShow(d.HallID, NoShowBySweep)
			s.releasePersonal(ctx, d)
		}
	}
	pending, err := s.findAppts(ctx, bson.M{"status": StatusNoShow, "penalized": false})
	if err != nil {
		return r, err
	}
	for i := range pending {
		applied, err := s.penalize(ctx, cat, &pending[i])
		if err != nil {
			return r, err
		}
		if applied {
			r.penalized++
		}
	}
	return r, nil
}

// closureReason is what the citizen is told of a booking cancelled because
// the hall did not open that day.
func closureReason(cat *catalog, d *apptDoc) string {
	if e := cat.dayEntry(d.HallID, d.Date); e != nil && e.Name != "" {
		return fmt.Sprintf("大厅当日不办公（%s）", e.Name)
	}
	return "大厅当日不办公"
}

// penalize records no-show d and applies its penalty, unless its day is
// closed (then it is only marked done). applied is false when nothing was
// applied.
func (s *Service) penalize(ctx context.Context, cat *catalog, d *apptDoc) (applied bool, err error) {
	if d.NoShowAt == nil {
		return false, nil
	}
	if cat.dayClosed(d.HallID, d.Date) {
		if _, err := s.appts.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"penalized": true}}); err != nil {
			return false, fmt.Errorf("mark penalized: %w", err)
		}
		return false, nil
	}
	at := ms(*d.NoShowAt)
	if _, err := s.noshows.InsertOne(ctx, bson.M{"_id": d.ID, "user_id": d.UserID, "at": at}); err != nil && !platform.IsDuplicateKey(err) {
		return false, fmt.Errorf("record no-show: %w", err)
	}
	n, err := s.noshows.CountDocuments(ctx, bson.M{"user_id": d.UserID,
		"at": bson.M{"$gt": at.Add(-s.cfg.noShowPeriod), "$lte": at}})
	if err != nil {
		return false, fmt.Errorf("count no-shows: %w", err)
	}
	if int(n) >= s.cfg.noShowLimit {
		until := at.Add(s.cfg.suspendFor)
		if _, err := s.penalties.UpdateOne(ctx, bson.M{"_id": d.UserID},
			bson.M{"$max": bson.M{"suspended_until": until}}, options.UpdateOne().SetUpsert(true)); err != nil && !platform.IsDuplicateKey(err) {
			return false, fmt.Errorf("suspend: %w", err)
		}
		if err := s.send(ctx, suspendedMessage(cat, d, until)); err != nil {
			return false, nil // penalized stays false: the next sweep sends it again
		}
		s.log.Info("booking suspended after no-shows", "user", d.UserID, "until", until)
	} else if err := s.send(ctx, noShowMessage(cat, d, s.cfg.noShowLimit, s.cfg.noShowPeriod)); err != nil {
		return false, nil
	}
	if _, err := s.appts.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"penalized": true}}); err != nil {
		return false, fmt.Errorf("mark penalized: %w", err)
	}
	return true, nil
}

// SuspendedUntil returns when the citizen's booking suspension ends, or the
// zero time when not suspended. Errors: storage only.
func (s *Service) SuspendedUntil(ctx context.Context, userID string) (time.Time, error) {
	err := s.checkSuspension(ctx, userID)
	if errors.Is(err, ErrBookingSuspended) {
		pe, _ := platform.AsError(err)
		return pe.Until, nil
	}
	return time.Time{}, err
}

func (s *Service) findAppts(ctx context.Context, f bson.M) ([]apptDoc, error) {
	cur, err := s.appts.Find(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("find appointments: %w", err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find appointments: %w", err)
	}
	return docs, nil
}
