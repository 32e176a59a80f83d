package appointments

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ListMine returns the citizen's appointments, newest slot first, at most
// limit (1..100; other values mean 50). Upcoming only when upcoming is true
// (booked and not yet started: the citizen page's section).
// Errors: storage only.
func (s *Service) ListMine(ctx context.Context, userID string, upcoming bool, limit int) ([]Appointment, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	f := bson.M{"user_id": userID, "status": bson.M{"$in": staffStatuses()}}
	sort := bson.D{{Key: "start", Value: -1}, {Key: "_id", Value: 1}}
	if upcoming {
		f["status"] = StatusBooked
		f["start"] = bson.M{"$gt": s.clock.Now()}
		sort = bson.D{{Key: "start", Value: 1}, {Key: "_id", Value: 1}}
	}
	cur, err := s.appts.Find(ctx, f, options.Find().SetSort(sort).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Appointment, 0, len(docs))
	for i := range docs {
		out = append(out, s.view(cat, &docs[i]))
	}
	return out, nil
}

// Get returns one of the citizen's appointments.
// Errors: ErrInvalid (malformed id), ErrNotFound (unknown, or another
// citizen's).
func (s *Service) Get(ctx context.Context, userID, appointmentID string) (Appointment, error) {
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
	cat, err := s.cat.get(ctx)
	if err != nil {
		return Appointment{}, err
	}
	return s.view(cat, d), nil
}
