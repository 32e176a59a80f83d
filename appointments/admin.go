package appointments

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Admin writes. The api layer lets only staff with role admin call these.
// Every write announces a catalog change (see catalogcache.go): this process
// sees it at once, the others within a second.

func (s *Service) insertCatalog(ctx context.Context, coll *mongo.Collection, doc any) error {
	if _, err := coll.InsertOne(ctx, doc); err != nil {
		if platform.IsDuplicateKey(err) {
			return ErrAlreadyExists
		}
		return fmt.Errorf("insert %s: %w", coll.Name(), err)
	}
	s.cat.changed(ctx)
	return nil
}

func (s *Service) replaceCatalog(ctx context.Context, coll *mongo.Collection, id string, doc any, upsert bool) error {
	if err := s.replaceDoc(ctx, coll, id, doc, upsert); err != nil {
		return err
	}
	s.cat.changed(ctx)
	return nil
}

// replaceDoc replaces (or with upsert creates) document id without
// announcing the change.
func (s *Service) replaceDoc(ctx context.Context, coll *mongo.Collection, id string, doc any, upsert bool) error {
	var err error
	var res *mongo.UpdateResult
	for range 2 { // concurrent upserts of one new _id: the loser retries as an update
		res, err = coll.ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(upsert))
		if err == nil || !platform.IsDuplicateKey(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("replace %s: %w", coll.Name(), err)
	}
	if !upsert && res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// hallRefs checks what a department, service, schedule or calendar day
// refers to, against the catalog plus pending (an import's own items).
type refs struct {
	cat      *catalog
	halls    map[string]bool
	depts    map[string]string // department → hall
	services map[string]string // service → hall|department
}

func newRefs(cat *catalog) *refs {
	return &refs{cat: cat, halls: map[string]bool{}, depts: map[string]string{}, services: map[string]string{}}
}

func (r *refs) hall(id string) bool { return r.halls[id] || r.cat.halls[id] != nil }

func (r *refs) deptHall(id string) (string, bool) {
	if h, ok := r.depts[id]; ok {
		return h, true
	}
	if d := r.cat.depts[id]; d != nil {
		return d.HallID, true
	}
	return "", false
}

func (r *refs) serviceDept(id string) (string, bool) {
	if v, ok := r.services[id]; ok {
		return v, true
	}
	if v := r.cat.services[id]; v != nil {
		return v.HallID + "|" + v.DepartmentID, true
	}
	return "", false
}

func (r *refs) checkDepartment(d *Department) error {
	if !r.hall(d.HallID) {
		return invalid("hall_id", "reference", "大厅不存在")
	}
	return nil
}

func (r *refs) checkService(v *ServiceItem) error {
	if !r.hall(v.HallID) {
		return invalid("hall_id", "reference", "大厅不存在")
	}
	if h, ok := r.deptHall(v.DepartmentID); !ok || h != v.HallID {
		return invalid("department_id", "reference", "该大厅没有此部门")
	}
	return nil
}

func (r *refs) checkSchedule(sc *Schedule) error {
	if !r.hall(sc.HallID) {
		return invalid("hall_id", "reference", "大厅不存在")
	}
	if h, ok := r.deptHall(sc.DepartmentID); !ok || h != sc.HallID {
		return invalid("department_id", "reference", "该大厅没有此部门")
	}
	for i, id := range sc.ServiceIDs {
		if hd, ok := r.serviceDept(id); !ok || hd != sc.HallID+"|"+sc.DepartmentID {
			return invalid(fmt.Sprintf("service_ids[%d]", i), "reference", "该部门没有此事项")
		}
	}
	return nil
}

func (r *refs) checkCalendar(c *CalendarDay) error {
	if c.HallID != "" && !r.hall(c.HallID) {
		return invalid("hall_id", "reference", "大厅不存在")
	}
	return nil
}

// CreateHall adds a hall (rules default when zero).
// Errors: ErrInvalid (naming the field), ErrAlreadyExists (the ID is taken).
func (s *Service) CreateHall(ctx context.Context, h Hall) (Hall, error) {
	if err := h.normalize(); err != nil {
		return Hall{}, err
	}
	h.UpdatedAt = platform.Local(ms(s.clock.Now()))
	return h, s.insertCatalog(ctx, s.halls, h)
}

// UpdateHall replaces hall h.ID. Errors: ErrInvalid, ErrNotFound.
func (s *Service) UpdateHall(ctx context.Context, h Hall) (Hall, error) {
	if err := h.normalize(); err != nil {
		return Hall{}, err
	}
	h.UpdatedAt = platform.Local(ms(s.clock.Now()))
	return h, s.replaceCatalog(ctx, s.halls, h.ID, h, false)
}

func (s *Service) refs(ctx context.Context) (*refs, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	return newRefs(cat), nil
}

// CreateDepartment adds a department to an existing hall.
// Errors: ErrInvalid (naming the field, also for an unknown hall_id),
// ErrAlreadyExists.
func (s *Service) CreateDepartment(ctx context.Context, d Department) (Department, error) {
	return d, s.putDepartment(ctx, &d, true)
}

// UpdateDepartment replaces department d.ID. Errors: ErrInvalid, ErrNotFound.
func (s *Service) UpdateDepartment(ctx context.Context, d Department) (Department, error) {
	return d, s.putDepartment(ctx, &d, false)
}

func (s *Service) putDepartment(ctx context.Context, d *Department, create bool) error {
	if err := d.normalize(); err != nil {
		return err
	}
	r, err := s.refs(ctx)
	if err != nil {
		return err
	}
	if err := r.checkDepartment(d); err != nil {
		return err
	}
	d.UpdatedAt = platform.Local(ms(s.clock.Now()))
	if create {
		return s.insertCatalog(ctx, s.depts, d)
	}
	return s.replaceCatalog(ctx, s.depts, d.ID, d, false)
}

// CreateService adds a service item to a department of a hall.
// Errors: ErrInvalid (naming the field, also for unknown references),
// ErrAlreadyExists.
func (s *Service) CreateService(ctx context.Context, v ServiceItem) (ServiceItem, error) {
	return v, s.putService(ctx, &v, true)
}

// UpdateService replaces service v.ID. Errors: ErrInvalid, ErrNotFound.
func (s *Service) UpdateService(ctx context.Context, v ServiceItem) (ServiceItem, error) {
	return v, s.putService(ctx, &v, false)
}

func (s *Service) putService(ctx context.Context, v *ServiceItem, create bool) error {
	if err := v.normalize(); err != nil {
		return err
	}
	r, err := s.refs(ctx)
	if err != nil {
		return err
	}
	if err := r.checkService(v); err != nil {
		return err
	}
	v.UpdatedAt = platform.Local(ms(s.clock.Now()))
	if create {
		return s.insertCatalog(ctx, s.services, v)
	}
	return s.replaceCatalog(ctx, s.services, v.ID, v, false)
}

// CreateSchedule adds a schedule. Bookings made under a deleted schedule of
// the same ID keep their seats: a capacity below one of them is refused.
// Errors: ErrInvalid (naming the field, also for unknown references),
// ErrAlreadyExists, ErrCapacityInUse.
func (s *Service) CreateSchedule(ctx context.Context, sc Schedule) (Schedule, error) {
	return sc, s.putSchedule(ctx, &sc, true)
}

func (s *Service) putSchedule(ctx context.Context, sc *Schedule, create bool) error {
	if err := sc.normalize(); err != nil {
		return err
	}
	r, err := s.refs(ctx)
	if err != nil {
		return err
	}
	if err := r.checkSchedule(sc); err != nil {
		return err
	}
	write := s.replaceSchedule
	if create {
		write = s.createSchedule
	}
	if err := write(ctx, sc); err != nil {
		return err
	}
	s.cat.changed(ctx)
	return nil
}

// DeleteSchedule removes a schedule: its slots disappear; existing bookings
// stay. Errors: ErrNotFound.
func (s *Service) DeleteSchedule(ctx context.Context, id string) error {
	res, err := s.schedules.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return fmt.Errorf("delete schedule: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	s.cat.changed(ctx)
	return nil
}

// PutCalendarDay sets (creates or replaces) the calendar entry of c.HallID
// ("" for every hall) on c.Date: a holiday, a hall closure or a make-up
// working day. A closure or holiday cancels the bookings already made on that
// day (CancelClosedDays) and tells their citizens; no new slots are offered
// on a closed day. Errors: ErrInvalid (naming the field).
func (s *Service) PutCalendarDay(ctx context.Context, c CalendarDay) (CalendarDay, error) {
	if err := c.normalize(); err != nil {
		return CalendarDay{}, err
	}
	r, err := s.refs(ctx)
	if err != nil {
		return CalendarDay{}, err
	}
	if err := r.checkCalendar(&c); err != nil {
		return CalendarDay{}, err
	}
	c.UpdatedAt = platform.Local(ms(s.clock.Now()))
	if err := s.replaceCatalog(ctx, s.calendar, c.ID, c, true); err != nil {
		return c, err
	}
	if c.Kind == DayClosure || c.Kind == DayHoliday {
		// Bookings already made on the day are cancelled and their citizens
		// told now; if this is cut short the sweeper finishes it.
		if _, err := s.CancelClosedDays(ctx); err != nil {
			s.log.Warn("bookings on the closed day not all cancelled yet; the sweeper finishes", "date", c.Date, "err", err)
		}
	}
	return c, nil
}

// DeleteCalendarDay removes the entry of hallID ("" for every hall) on date.
// Errors: ErrInvalid (date), ErrNotFound.
func (s *Service) DeleteCalendarDay(ctx context.Context, hallID, date string) error {
	if err := checkDate("date", date, true); err != nil {
		return err
	}
	res, err := s.calendar.DeleteOne(ctx, bson.M{"_id": calendarID(hallID, date)})
	if err != nil {
		return fmt.Errorf("delete calendar day: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	s.cat.changed(ctx)
	return nil
}
