package appointments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Arbiters (DESIGN.md invariant 1). Everything that must not happen twice is
// decided by inserting a document with a deterministic _id; the duplicate-key
// error means "taken". Every arbiter names the appointment that holds it:
//
//	appt_seats      "<slot id>#<n>"           a seat, n in [0, capacity)
//	appt_daylocks   "<user>|<service>|<date>" one active booking per person, service and day
//	appt_userslots  "<user>|<k>"              k in [0, MaxActive): at most MaxActive active bookings
//	                "ent|<uscc>|<date>|<k>"   k in [0, MaxPerEnterpriseDay): an enterprise's bookings of a day
//	appt_codes      "<check-in code>"         check-in codes are unique
//
// A booking inserts its arbiters first and its appointment document last (the
// commit). Without transactions a crash can leave arbiters behind; they repair
// themselves: when an insert meets an existing arbiter, the holder is looked
// up, and an arbiter is stale when its appointment no longer holds the right
// (cancelled, checked in, no-show, failed) or has never been written and the
// arbiter is older than AbandonAfter. A stale arbiter is deleted (conditionally
// on its holder, so a concurrent repair cannot delete a fresh one) and the
// insert retried. Before treating a never-written appointment as abandoned the
// repairer inserts a "failed" tombstone under its ID, so the slow original
// process, if it is still alive, fails at its commit instead of completing a
// booking whose arbiters were taken from it.
type arbiterDoc struct {
	ID            string    `bson:"_id"`
	AppointmentID string    `bson:"appointment_id"`
	UserID        string    `bson:"user_id,omitempty"`
	SlotID        string    `bson:"slot_id,omitempty"`
	Seat          int       `bson:"n"`
	CreatedAt     time.Time `bson:"created_at"`
}

// holds says whether an appointment in status still holds a kind of arbiter.
type holds func(status string) bool

// holdsBooking: day locks and user slots belong to booked appointments only.
func holdsBooking(status string) bool { return status == StatusBooked }

// holdsSeat: a seat stays taken unless the booking was cancelled or failed.
func holdsSeat(status string) bool {
	return status != StatusCancelled && status != statusFailed
}

// holdsCode: a code stays with any real appointment.
func holdsCode(status string) bool { return status != statusFailed }

func seatID(slotID string, n int) string          { return fmt.Sprintf("%s#%d", slotID, n) }
func dayLockID(user, service, date string) string { return user + "|" + service + "|" + date }
func userSlotID(user string, k int) string        { return fmt.Sprintf("%s|%d", user, k) }

// acquire inserts doc into coll (platform.Claim). It returns true when this
// appointment now holds it, false when a live holder has it. An arbiter
// still contended after the repairs platform.Claim allows is an error
// wrapping platform.ErrClaimContended.
func (s *Service) acquire(ctx context.Context, coll *mongo.Collection, doc arbiterDoc, h holds) (bool, error) {
	return platform.Claim(ctx, platform.UniqueClaim[arbiterDoc]{
		Coll:        coll,
		Doc:         doc,
		HolderField: "appointment_id",
		Judge: func(ctx context.Context, cur arbiterDoc) (platform.ClaimVerdict, error) {
			stale, err := s.stale(ctx, cur, h)
			if err != nil || !stale {
				return platform.ClaimLive, err
			}
			return platform.ClaimStale, nil
		},
	})
}

// stale reports whether arbiter a may be taken from its holder.
func (s *Service) stale(ctx context.Context, a arbiterDoc, h holds) (bool, error) {
	d, err := s.findAppt(ctx, a.AppointmentID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if err == nil {
		return !h(d.Status), nil
	}
	if s.clock.Now().Sub(a.CreatedAt) < s.cfg.abandonAfter {
		return false, nil // a booking in progress
	}
	if err := s.tombstone(ctx, a.AppointmentID, "abandoned"); err != nil {
		if !platform.IsDuplicateKey(err) {
			return false, err
		}
		// the original committed (or another repairer won) just now: judge again
		d, err := s.findAppt(ctx, a.AppointmentID)
		if err != nil {
			return false, err
		}
		return !h(d.Status), nil
	}
	s.log.Info("abandoned booking repaired", "appointment", a.AppointmentID)
	return true, nil
}

// tombstone writes a failed appointment under id. A duplicate-key error means
// the appointment exists.
func (s *Service) tombstone(ctx context.Context, id, code string) error {
	_, err := s.appts.InsertOne(ctx, apptDoc{ID: id, Status: statusFailed, FailCode: code, CreatedAt: ms(s.clock.Now())})
	return err
}

// release deletes arbiter id if appointment apptID still holds it.
func (s *Service) release(ctx context.Context, coll *mongo.Collection, id, apptID string) error {
	if _, err := coll.DeleteOne(ctx, bson.M{"_id": id, "appointment_id": apptID}); err != nil {
		return fmt.Errorf("release %s %s: %w", coll.Name(), id, err)
	}
	return nil
}

// releaseSeat deletes seat n of sl if appointment apptID still holds it and
// gives the number back to the Redis pool only when no seat document is left
// under it: a seat another booking took over meanwhile (its holder was
// stale) is not free, and its number only leaves the pool's leases. Redis
// failures are not errors (the sweeper reconciles the pools).
func (s *Service) releaseSeat(ctx context.Context, sl slotDef, n int, apptID string) error {
	id := seatID(sl.ID, n)
	res, err := s.seats.DeleteOne(ctx, bson.M{"_id": id, "appointment_id": apptID})
	if err != nil {
		return fmt.Errorf("release seat %s: %w", id, err)
	}
	free := res.DeletedCount == 1
	if !free {
		left, err := s.seats.CountDocuments(ctx, bson.M{"_id": id})
		if err != nil {
			return fmt.Errorf("read seat %s: %w", id, err)
		}
		free = left == 0 // released before (a repeated release)
	}
	if !s.redisOK.up() {
		return nil
	}
	if free {
		err = s.pool.release(ctx, sl, n)
	} else {
		err = s.pool.confirm(ctx, sl, n)
	}
	if err != nil {
		s.redisOK.failed(s.log, err)
	}
	return nil
}

// releasePersonal frees the day lock and the user slot of d (it left
// "booked"). Errors are logged: a left-over arbiter repairs itself.
func (s *Service) releasePersonal(ctx context.Context, d *apptDoc) {
	if err := s.release(ctx, s.daylocks, dayLockID(d.UserID, d.ServiceID, d.Date), d.ID); err != nil {
		s.log.Warn("day lock not released; it repairs itself", "appointment", d.ID, "err", err)
	}
	if err := s.release(ctx, s.userslots, userSlotID(d.UserID, d.LimitSlot), d.ID); err != nil {
		s.log.Warn("user slot not released; it repairs itself", "appointment", d.ID, "err", err)
	}
	if d.EntSlotID != "" {
		if err := s.release(ctx, s.userslots, d.EntSlotID, d.ID); err != nil {
			s.log.Warn("enterprise slot not released; it repairs itself", "appointment", d.ID, "err", err)
		}
	}
}

func (s *Service) findAppt(ctx context.Context, id string) (*apptDoc, error) {
	var d apptDoc
	err := s.appts.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read appointment: %w", err)
	}
	return &d, nil
}
