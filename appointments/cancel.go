package appointments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Cancel cancels the citizen's booked appointment. Its seat is free at once
// (see cancelBooked). On a day the calendar closes (a closure of the hall or
// a public holiday, even one declared that morning) there is no cut-off.
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
	if s.clock.Now().After(d.Start.Add(-cutoff)) && !cat.dayClosed(d.HallID, d.Date) {
		return Appointment{}, ErrCancelTooLate
	}
	out, err := s.cancelBooked(ctx, cat, d, "", "")
	if err != nil {
		return Appointment{}, err
	}
	return s.view(cat, out), nil
}

// maxCancelReason is the longest reason staff may give, in characters.
const maxCancelReason = 200

// CancelByStaff cancels a booked appointment for the hall, at any time, with
// a reason (1 to 200 characters, spaces around it dropped) that the citizen
// is told in the inbox. The seat is free at once. Admins may cancel at every
// hall, hall staff at their halls. Cancelling every booking of a closed day
// is this, once per appointment.
//
// Errors, in the order checked: ErrForbidden (neither admin nor hall staff),
// ErrInvalid (field "id" malformed, or "reason": required, length, format),
// ErrNotFound, ErrWrongHall (hall staff of another hall), ErrNotCancellable
// (not booked). Nothing changes on an error.
func (s *Service) CancelByStaff(ctx context.Context, actor StaffActor, appointmentID, reason string) (StaffAppointment, error) {
	if actor.Role != RoleAdmin && actor.Role != RoleHallStaff {
		return StaffAppointment{}, ErrForbidden
	}
	if !validAppointmentID(appointmentID) {
		return StaffAppointment{}, invalid("id", "format", "预约编号格式错误")
	}
	reason, err := checkCancelReason(reason)
	if err != nil {
		return StaffAppointment{}, err
	}
	d, err := s.findAppt(ctx, appointmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	if d.Status == statusFailed {
		return StaffAppointment{}, ErrNotFound
	}
	if !actor.mayWork(d.HallID) {
		return StaffAppointment{}, ErrWrongHall
	}
	if d.Status != StatusBooked {
		return StaffAppointment{}, ErrNotCancellable
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return StaffAppointment{}, err
	}
	out, err := s.cancelBooked(ctx, cat, d, actor.ID, reason)
	if err != nil {
		return StaffAppointment{}, err
	}
	return s.staffView(ctx, cat, out, nil), nil
}

func checkCancelReason(reason string) (string, error) {
	r := strings.TrimSpace(reason)
	switch {
	case r == "":
		return "", invalid("reason", "required", "请填写取消原因")
	case !utf8.ValidString(r):
		return "", invalid("reason", "format", "取消原因含有无效字符")
	case utf8.RuneCountInString(r) > maxCancelReason:
		return "", invalid("reason", "length", fmt.Sprintf("取消原因最多 %d 个字", maxCancelReason))
	case strings.IndexFunc(r, unicode.IsControl) >= 0:
		return "", invalid("reason", "format", "取消原因不能含控制字符")
	}
	return r, nil
}

// cancelledBySystem names the sweeper as the canceller of a booking left on
// a closed day.
const cancelledBySystem = "system"

// cancelBooked cancels booked appointment d for by ("" the citizen, a staff
// ID, or cancelledBySystem) with reason ("" for the citizen's own). The
// status change, conditional on "booked", is the decision: of concurrent
// cancellations and check-ins exactly one wins, the others get
// ErrNotCancellable. Then the seat document goes and its number returns to
// the Redis pool, the personal arbiters go, the appointment is marked
// released, and the citizen is told. A crash in between leaves released
// false; the sweeper finishes the release and the message.
func (s *Service) cancelBooked(ctx context.Context, cat *catalog, d *apptDoc, by, reason string) (*apptDoc, error) {
	set := bson.M{"status": StatusCancelled, "cancelled_at": ms(s.clock.Now()), "released": false, "notice": KindCancelled}
	if by != "" {
		set["cancelled_by"] = by
	}
	if reason != "" {
		set["cancel_reason"] = reason
	}
	var out apptDoc
	err := s.appts.FindOneAndUpdate(ctx, bson.M{"_id": d.ID, "status": StatusBooked}, bson.M{"$set": set},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotCancellable
	}
	if err != nil {
		return nil, fmt.Errorf("cancel: %w", err)
	}
	s.metrics.cancelled(out.HallID, cancelledBy(by))
	if err := s.releaseCancelled(ctx, cat, &out); err != nil {
		s.log.Warn("cancelled seat not fully released; the sweeper finishes it", "appointment", out.ID, "err", err)
	}
	s.settleNotice(ctx, cat, &out)
	return &out, nil
}

// releaseCancelled frees what cancelled appointment d holds. Idempotent.
func (s *Service) releaseCancelled(ctx context.Context, cat *catalog, d *apptDoc) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// The pool is the slot's current one: the schedule may have changed since
	// the booking. With Redis down the sweeper's reconciliation returns the
	// number later.
	sl := slotDef{ID: d.SlotID, Capacity: d.Capacity, End: d.End}
	if cur, found, _ := cat.lookupSlot(d.SlotID); found {
		sl = cur
	}
	if err := s.releaseSeat(ctx, sl, d.Seat, d.ID); err != nil {
		return err
	}
	s.releasePersonal(ctx, d)
	if _, err := s.appts.UpdateOne(ctx, bson.M{"_id": d.ID, "released": false}, bson.M{"$set": bson.M{"released": true}}); err != nil {
		return fmt.Errorf("mark released: %w", err)
	}
	d.Released = true
	return nil
}
