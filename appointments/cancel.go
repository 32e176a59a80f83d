package appointments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Cancel cancels the citizen's booked appointment. Its seat is free at once:
// the status changes first (the decision), then the seat document goes and
// its number returns to the Redis pool, then the personal arbiters go, then
// the appointment is marked released. A crash in between leaves released
// false; the sweeper finishes the release.
//
// Errors: ErrInvalid (malformed id), ErrNotFound (no such appointment of this
// citizen), ErrNotCancellable (not booked: already cancelled, checked in,
// completed or missed), ErrCancelTooLate (less than the hall's
// cancel_before_minutes, default 120, before the start).
func (s *Service) Cancel(ctx context.Context, userID, appointmentID string) (Appointment, error) {
	if !validAppointmentID(appointmentID) {
		return Appointment{}, invalid("id", "format", "预约编号格式错误")
	}
	d, err := s.findAppt(ctx, appointmentID)
	if err != nil {
		return Appointment{}, err
	}
	if d.UserID != userID || d.Status == statusFailed {
		return Appointment{}, ErrNotFound
	}
	if d.Status != StatusBooked {
		return Appointment{}, ErrNotCancellable
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return Appointment{}, err
	}
	cutoff := 120 * time.Minute
	if h := cat.halls[d.HallID]; h != nil {
		cutoff = time.Duration(h.Rules.CancelBeforeMinutes) * time.Minute
	}
	now := s.clock.Now()
	if now.After(d.Start.Add(-cutoff)) {
		return Appointment{}, ErrCancelTooLate
	}
	var out apptDoc
	err = s.appts.FindOneAndUpdate(ctx, bson.M{"_id": d.ID, "status": StatusBooked},
		bson.M{"$set": bson.M{"status": StatusCancelled, "cancelled_at": ms(now), "released": false}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Appointment{}, ErrNotCancellable
	}
	if err != nil {
		return Appointment{}, fmt.Errorf("cancel: %w", err)
	}
	if err := s.releaseCancelled(ctx, cat, &out); err != nil {
		s.log.Warn("cancelled seat not fully released; the sweeper finishes it", "appointment", out.ID, "err", err)
	}
	s.send(ctx, cancelledMessage(cat, &out))
	return s.view(cat, &out), nil
}

// releaseCancelled frees what cancelled appointment d holds. Idempotent.
func (s *Service) releaseCancelled(ctx context.Context, cat *catalog, d *apptDoc) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.release(ctx, s.seats, seatID(d.SlotID, d.Seat), d.ID); err != nil {
		return err
	}
	// Returning a number twice (a sweeper repeating a release) is harmless:
	// the seat insert arbitrates.
	// With Redis down the sweeper's reconciliation returns the number later.
	if s.redisOK.up() {
		sl := slotDef{ID: d.SlotID, Capacity: d.Capacity, End: d.End}
		if cur, found, _ := cat.lookupSlot(d.SlotID); found {
			sl = cur // the capacity may have changed since the booking
		}
		if err := s.pool.release(ctx, sl, d.Seat); err != nil {
			s.redisOK.failed(s.log, err)
		}
	}
	s.releasePersonal(ctx, d)
	if _, err := s.appts.UpdateOne(ctx, bson.M{"_id": d.ID, "released": false}, bson.M{"$set": bson.M{"released": true}}); err != nil {
		return fmt.Errorf("mark released: %w", err)
	}
	d.Released = true
	return nil
}
