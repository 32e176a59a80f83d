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

// Served is an appointment as the evaluation of a visit (好差评) reads it:
// who booked it, whether it was completed, and where, by whom and for which
// service it was served.
type Served struct {
	ID             string
	UserID         string
	Status         string
	HallID         string
	HallName       string
	DepartmentID   string
	DepartmentName string
	ServiceID      string
	ServiceCode    string // 统一事项编码 of the service item
	ServiceName    string
	CompletedAt    time.Time // zero unless completed
	CompletedBy    string    // the staff member who completed it
}

func (s *Service) served(cat *catalog, d *apptDoc) Served {
	v := Served{ID: d.ID, UserID: d.UserID, Status: d.Status, HallID: d.HallID,
		DepartmentID: d.DepartmentID, ServiceID: d.ServiceID, CompletedBy: d.CompletedBy}
	if d.CompletedAt != nil {
		v.CompletedAt = d.CompletedAt.UTC()
	}
	if cat != nil {
		if h := cat.halls[d.HallID]; h != nil {
			v.HallName = h.Name
		}
		if dp := cat.depts[d.DepartmentID]; dp != nil {
			v.DepartmentName = dp.Name
		}
		if it := cat.services[d.ServiceID]; it != nil {
			v.ServiceCode, v.ServiceName = it.Code, it.Name
		}
	}
	return v
}

// ServedAppointment returns the appointment id as an evaluation reads it.
// ok is false for an unknown (or malformed, or failed) appointment.
// Errors: storage only.
func (s *Service) ServedAppointment(ctx context.Context, id string) (Served, bool, error) {
	if !validAppointmentID(id) {
		return Served{}, false, nil
	}
	d, err := s.findAppt(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Served{}, false, nil
	}
	if err != nil {
		return Served{}, false, err
	}
	if d.Status == statusFailed {
		return Served{}, false, nil
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return Served{}, false, err
	}
	return s.served(cat, d), true, nil
}

// CompletedBetween lists completed appointments whose completion is after
// (afterAt, afterID) in the order (completed_at, _id) and not after before,
// in that order, at most limit: the pages of a sweep that resumes where it
// stopped. Errors: storage only.
func (s *Service) CompletedBetween(ctx context.Context, afterAt time.Time, afterID string, before time.Time, limit int) ([]Served, error) {
	f := bson.M{"status": StatusCompleted, "completed_at": bson.M{"$lte": before.UTC()},
		"$or": bson.A{
			bson.M{"completed_at": bson.M{"$gt": afterAt.UTC()}},
			bson.M{"completed_at": afterAt.UTC(), "_id": bson.M{"$gt": afterID}},
		}}
	cur, err := s.appts.Find(ctx, f, options.Find().
		SetSort(bson.D{{Key: "completed_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list completed appointments: %w", err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list completed appointments: %w", err)
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Served, 0, len(docs))
	for i := range docs {
		out = append(out, s.served(cat, &docs[i]))
	}
	return out, nil
}

// EnsureEvaluationIndexes creates the index CompletedBetween reads by.
// Idempotent.
func (s *Service) EnsureEvaluationIndexes(ctx context.Context) error {
	_, err := s.appts.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "status", Value: 1}, {Key: "completed_at", Value: 1}}})
	if err != nil {
		return fmt.Errorf("appointment evaluation index: %w", err)
	}
	return nil
}

// AddWorkingDays returns the end of the n-th working day after the
// Asia/Shanghai date of from (n ≥ 1): the instant (UTC) its next day
// begins. Working days are Monday to Friday, except public holidays, plus
// make-up working days (调休上班), as the calendar for every hall says when
// called (a hall's own closures do not count: they close one hall, not the
// administration). Errors: the catalog could not be read.
func (s *Service) AddWorkingDays(ctx context.Context, from time.Time, n int) (time.Time, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return time.Time{}, err
	}
	d := dateOf(from)
	for left, i := max(n, 1), 0; left > 0 && i < 3660; i++ {
		d = addDays(d, 1)
		if cat.publicWorkday(d) {
			left--
		}
	}
	t, _ := parseDate(addDays(d, 1))
	return t.UTC(), nil
}

// publicWorkday reports whether date is a working day of the administration:
// the calendar entry for every hall decides (holiday, make-up workday), else
// Monday to Friday.
func (c *catalog) publicWorkday(date string) bool {
	if e := c.days[calendarID("", date)]; e != nil {
		switch e.Kind {
		case DayHoliday:
			return false
		case DayWorkday:
			return true
		}
	}
	t, ok := parseDate(date)
	if !ok {
		return false
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}
