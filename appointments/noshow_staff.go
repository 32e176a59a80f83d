package appointments

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// ErrNoShowTooEarly: a booking can be marked missed only once its slot ended.
var ErrNoShowTooEarly = platform.NewError("no_show_too_early", "预约时段结束后才能标记爽约")

// MarkNoShow records, for the hall, that the citizen of a booked appointment
// did not come: it becomes no_show now (instead of after the hall's grace,
// as the sweep would), and the no-show policy applies to it as to any other
// (warning or suspension, once). Marking a no-show again returns it
// unchanged.
//
// Errors: ErrInvalid (malformed id), ErrNotFound, ErrForbidden (finance),
// ErrWrongHall, ErrNoShowTooEarly (its slot has not ended), ErrNotActive
// (cancelled), ErrAlreadyCheckedIn (checked in or completed).
func (s *Service) MarkNoShow(ctx context.Context, actor StaffActor, appointmentID string) (StaffAppointment, error) {
	cat, d, err := s.deskAppt(ctx, actor, appointmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	if d.Status == StatusNoShow {
		return s.staffView(ctx, cat, d, nil), nil
	}
	if err := noShowStatus(d.Status); err != nil {
		return StaffAppointment{}, err
	}
	now := s.clock.Now()
	if now.Before(d.End) {
		return StaffAppointment{}, ErrNoShowTooEarly
	}
	var out apptDoc
	err = s.appts.FindOneAndUpdate(ctx, bson.M{"_id": d.ID, "status": StatusBooked},
		bson.M{"$set": bson.M{"status": StatusNoShow, "no_show_at": ms(now), "penalized": false, "no_show_by": actor.ID}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		cur, ferr := s.findAppt(ctx, d.ID)
		if ferr != nil {
			return StaffAppointment{}, ferr
		}
		if cur.Status == StatusNoShow {
			return s.staffView(ctx, cat, cur, nil), nil
		}
		return StaffAppointment{}, noShowStatus(cur.Status)
	}
	if err != nil {
		return StaffAppointment{}, fmt.Errorf("mark no-show: %w", err)
	}
	s.metrics.noShow(out.HallID, NoShowByStaff)
	s.releasePersonal(ctx, &out)
	// The penalty now; a failure leaves penalized false for the sweep.
	if _, err := s.penalize(ctx, cat, &out); err != nil {
		s.log.Warn("no-show penalty left to the sweep", "appointment", out.ID, "err", err)
	}
	return s.staffView(ctx, cat, &out, nil), nil
}

// noShowStatus is the refusal of MarkNoShow for an appointment in status
// (nil for booked and no_show).
func noShowStatus(status string) error {
	switch status {
	case StatusBooked, StatusNoShow:
		return nil
	case StatusCheckedIn, StatusCompleted:
		return ErrAlreadyCheckedIn
	default:
		return ErrNotActive
	}
}
