package appointments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// StaffAppointment is an appointment as hall staff see it: with the
// citizen's full name and masked ID number, without the check-in code.
type StaffAppointment struct {
	ID             string     `json:"id"`
	Status         string     `json:"status"`
	HallID         string     `json:"hall_id"`
	DepartmentID   string     `json:"department_id"`
	DepartmentName string     `json:"department_name"`
	ServiceID      string     `json:"service_id"`
	ServiceName    string     `json:"service_name"`
	Date           string     `json:"date"`
	Slot           SlotTime   `json:"slot"`
	UserID         string     `json:"user_id"`
	Name           string     `json:"name"`
	IDNumberMasked string     `json:"id_number_masked"`
	QueueNumber    string     `json:"queue_number,omitempty"`
	CheckedInAt    *time.Time `json:"checked_in_at,omitempty"`
	CompletedAt    *time.Time `json:"completed_at,omitempty"`
	CancelledAt    *time.Time `json:"cancelled_at,omitempty"`
	CancelledBy    string     `json:"cancelled_by,omitempty"`  // the staff member, or "system" (a closed day)
	CancelReason   string     `json:"cancel_reason,omitempty"` // as the citizen was told
	NoShowAt       *time.Time `json:"no_show_at,omitempty"`
	// CallState is "called" or "skipped" once a counter called the
	// checked-in citizen (Window, CalledAt); empty while waiting.
	CallState string     `json:"call_state,omitempty"`
	Window    string     `json:"window,omitempty"`
	CalledAt  *time.Time `json:"called_at,omitempty"`
}

// StaffListQuery selects a hall's appointments of one day. Date defaults to
// today (Asia/Shanghai); DepartmentID and Status (booked, checked_in,
// completed, no_show, cancelled) are optional filters; Page starts at 1
// (default 1), PageSize is 1..100 (default 20).
type StaffListQuery struct {
	HallID       string `json:"hall_id"`
	Date         string `json:"date"`
	DepartmentID string `json:"department_id"`
	Status       string `json:"status"`
	Page         int    `json:"page"`
	PageSize     int    `json:"page_size"`
}

// StaffPage is one page of a staff list, ordered by slot start.
type StaffPage struct {
	HallID   string             `json:"hall_id"`
	Date     string             `json:"date"`
	Page     int                `json:"page"`
	PageSize int                `json:"page_size"`
	Total    int                `json:"total"`
	Items    []StaffAppointment `json:"items"`
}

func staffStatuses() []string {
	return []string{StatusBooked, StatusCheckedIn, StatusCompleted, StatusNoShow, StatusCancelled}
}

// staffFilter checks the query and the actor's right to the hall.
func (s *Service) staffFilter(ctx context.Context, actor StaffActor, q *StaffListQuery) (*catalog, bson.M, error) {
	if actor.Role != RoleAdmin && actor.Role != RoleHallStaff {
		return nil, nil, ErrForbidden
	}
	if err := checkID("hall_id", q.HallID); err != nil {
		return nil, nil, err
	}
	if q.Date == "" {
		q.Date = dateOf(s.clock.Now())
	}
	if err := checkDate("date", q.Date, true); err != nil {
		return nil, nil, err
	}
	if q.DepartmentID != "" {
		if err := checkID("department_id", q.DepartmentID); err != nil {
			return nil, nil, err
		}
	}
	if q.Status != "" && !slices.Contains(staffStatuses(), q.Status) {
		return nil, nil, invalid("status", "enum", "状态应为 booked、checked_in、completed、no_show 或 cancelled")
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	if cat.halls[q.HallID] == nil {
		return nil, nil, ErrNotFound
	}
	if !actor.mayWork(q.HallID) {
		return nil, nil, ErrForbidden
	}
	f := bson.M{"hall_id": q.HallID, "date": q.Date}
	if q.DepartmentID != "" {
		f["department_id"] = q.DepartmentID
	}
	if q.Status != "" {
		f["status"] = q.Status
	} else {
		f["status"] = bson.M{"$in": staffStatuses()}
	}
	return cat, f, nil
}

// ListForStaff returns one page of a hall's appointments on a day.
//
// Errors: ErrInvalid (naming the field: hall_id, date, department_id,
// status, page, page_size), ErrForbidden (finance, or hall staff of other
// halls), ErrNotFound (unknown hall).
func (s *Service) ListForStaff(ctx context.Context, actor StaffActor, q StaffListQuery) (StaffPage, error) {
	if q.Page == 0 {
		q.Page = 1
	}
	if q.PageSize == 0 {
		q.PageSize = 20
	}
	if q.Page < 1 || q.Page > 10000 {
		return StaffPage{}, invalid("page", "range", "页码应为 1 至 10000")
	}
	if q.PageSize < 1 || q.PageSize > 100 {
		return StaffPage{}, invalid("page_size", "range", "每页条数应为 1 至 100")
	}
	cat, f, err := s.staffFilter(ctx, actor, &q)
	if err != nil {
		return StaffPage{}, err
	}
	total, err := s.appts.CountDocuments(ctx, f)
	if err != nil {
		return StaffPage{}, fmt.Errorf("count appointments: %w", err)
	}
	docs, err := s.findSorted(ctx, f, int64((q.Page-1)*q.PageSize), int64(q.PageSize))
	if err != nil {
		return StaffPage{}, err
	}
	out := StaffPage{HallID: q.HallID, Date: q.Date, Page: q.Page, PageSize: q.PageSize, Total: int(total), Items: []StaffAppointment{}}
	people := map[string][2]string{}
	for i := range docs {
		out.Items = append(out.Items, s.staffView(ctx, cat, &docs[i], people))
	}
	return out, nil
}

func (s *Service) findSorted(ctx context.Context, f bson.M, skip, limit int64) ([]apptDoc, error) {
	opts := options.Find().SetSort(bson.D{{Key: "start", Value: 1}, {Key: "_id", Value: 1}}).SetSkip(skip)
	if limit > 0 {
		opts.SetLimit(limit)
	}
	cur, err := s.appts.Find(ctx, f, opts)
	if err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	return docs, nil
}

// staffView adds names from the catalog and the people directory (cached per
// call in people, which may be nil).
func (s *Service) staffView(ctx context.Context, cat *catalog, d *apptDoc, people map[string][2]string) StaffAppointment {
	v := StaffAppointment{
		ID: d.ID, Status: d.Status, HallID: d.HallID, DepartmentID: d.DepartmentID, ServiceID: d.ServiceID,
		Date: d.Date, Slot: SlotTime{ID: d.SlotID, Start: d.Start.In(shanghai()), End: d.End.In(shanghai())},
		UserID: d.UserID, QueueNumber: d.QueueNumber,
		CheckedInAt: local(d.CheckedInAt), CompletedAt: local(d.CompletedAt),
		CancelledAt: local(d.CancelledAt), CancelledBy: d.CancelledBy, CancelReason: d.CancelReason,
		NoShowAt: local(d.NoShowAt), CallState: d.CallState, Window: d.Window, CalledAt: local(d.CalledAt),
	}
	if dp := cat.depts[d.DepartmentID]; dp != nil {
		v.DepartmentName = dp.Name
	}
	if sv := cat.services[d.ServiceID]; sv != nil {
		v.ServiceName = sv.Name
	}
	if p, ok := people[d.UserID]; ok {
		v.Name, v.IDNumberMasked = p[0], p[1]
		return v
	}
	if s.people != nil {
		name, masked, err := s.people.Person(ctx, d.UserID)
		if err != nil {
			s.log.Warn("person not found for staff list", "user", d.UserID, "err", err)
		} else {
			v.Name, v.IDNumberMasked = name, masked
		}
	}
	if people != nil {
		people[d.UserID] = [2]string{v.Name, v.IDNumberMasked}
	}
	return v
}

// Complete marks a checked-in appointment as served. Completing a completed
// appointment returns it unchanged.
//
// Errors: ErrInvalid (malformed id), ErrNotFound, ErrForbidden (finance),
// ErrWrongHall (staff of another hall), ErrNotCheckedIn (still booked),
// ErrNotActive (cancelled or no-show).
func (s *Service) Complete(ctx context.Context, actor StaffActor, appointmentID string) (StaffAppointment, error) {
	cat, d, err := s.deskAppt(ctx, actor, appointmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	var out apptDoc
	err = s.appts.FindOneAndUpdate(ctx, bson.M{"_id": d.ID, "status": StatusCheckedIn},
		bson.M{"$set": bson.M{"status": StatusCompleted, "completed_at": ms(s.clock.Now()), "completed_by": actor.ID}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		cur, ferr := s.findAppt(ctx, d.ID)
		if ferr != nil {
			return StaffAppointment{}, ferr
		}
		switch cur.Status {
		case StatusCompleted:
			return s.staffView(ctx, cat, cur, nil), nil
		case StatusBooked:
			return StaffAppointment{}, ErrNotCheckedIn
		default:
			return StaffAppointment{}, ErrNotActive
		}
	}
	if err != nil {
		return StaffAppointment{}, fmt.Errorf("complete: %w", err)
	}
	return s.staffView(ctx, cat, &out, nil), nil
}

// deskAppt loads appointmentID for a desk action of actor (admin, or hall
// staff of its hall) with the catalog. Errors: ErrForbidden, ErrInvalid
// (field "id"), ErrNotFound, ErrWrongHall, storage errors.
func (s *Service) deskAppt(ctx context.Context, actor StaffActor, appointmentID string) (*catalog, *apptDoc, error) {
	if actor.Role != RoleAdmin && actor.Role != RoleHallStaff {
		return nil, nil, ErrForbidden
	}
	if !validAppointmentID(appointmentID) {
		return nil, nil, invalid("id", "format", "预约编号格式错误")
	}
	d, err := s.findAppt(ctx, appointmentID)
	if err != nil {
		return nil, nil, err
	}
	if d.Status == statusFailed {
		return nil, nil, ErrNotFound
	}
	if !actor.mayWork(d.HallID) {
		return nil, nil, ErrWrongHall
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	return cat, d, nil
}

func validAppointmentID(id string) bool {
	if len(id) != 22 || id[:2] != "ap" {
		return false
	}
	for _, c := range id[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
