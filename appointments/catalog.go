package appointments

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"
)

// Catalog reads are served from the in-memory snapshot (see catalogcache.go).

// ListHalls returns every hall, by ID. Errors: storage only.
func (s *Service) ListHalls(ctx context.Context) ([]Hall, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Hall, 0, len(cat.hallOrder))
	for _, id := range cat.hallOrder {
		out = append(out, *cat.halls[id])
	}
	return out, nil
}

// GetHall returns one hall. Errors: ErrNotFound.
func (s *Service) GetHall(ctx context.Context, hallID string) (Hall, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return Hall{}, err
	}
	h := cat.halls[hallID]
	if h == nil {
		return Hall{}, ErrNotFound
	}
	return *h, nil
}

// ListDepartments returns the hall's departments, by ID.
// Errors: ErrNotFound (unknown hall).
func (s *Service) ListDepartments(ctx context.Context, hallID string) ([]Department, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	if cat.halls[hallID] == nil {
		return nil, ErrNotFound
	}
	out := []Department{}
	for _, d := range cat.deptsByHall[hallID] {
		out = append(out, *d)
	}
	return out, nil
}

// ListServices returns the hall's services, by ID, optionally only those of
// departmentID and those whose name or code contains q (case-insensitive).
// Errors: ErrNotFound (unknown hall), ErrInvalid (naming the field:
// department_id malformed or not of this hall, q longer than 50 characters).
func (s *Service) ListServices(ctx context.Context, hallID, departmentID, q string) ([]ServiceItem, error) {
	if utf8.RuneCountInString(q) > 50 {
		return nil, invalid("q", "length", "搜索词最多 50 个字")
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	if cat.halls[hallID] == nil {
		return nil, ErrNotFound
	}
	if departmentID != "" {
		if d := cat.depts[departmentID]; d == nil || d.HallID != hallID {
			return nil, invalid("department_id", "reference", "该部门不属于此大厅")
		}
	}
	q = strings.ToLower(strings.TrimSpace(q))
	out := []ServiceItem{}
	for _, v := range cat.svcByHall[hallID] {
		if departmentID != "" && v.DepartmentID != departmentID {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(v.Name), q) && !strings.Contains(strings.ToLower(v.Code), q) {
			continue
		}
		out = append(out, *v)
	}
	return out, nil
}

// KnownServiceCode reports whether some hall offers a service item with this
// code (事项编码). Errors: storage only.
func (s *Service) KnownServiceCode(ctx context.Context, code string) (bool, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return false, err
	}
	return cat.svcCodes[code], nil
}

// GetService returns one service item with its guide. Errors: ErrNotFound.
func (s *Service) GetService(ctx context.Context, serviceID string) (ServiceItem, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return ServiceItem{}, err
	}
	v := cat.services[serviceID]
	if v == nil {
		return ServiceItem{}, ErrNotFound
	}
	return *v, nil
}

// ListSchedules returns the hall's schedules, by ID. Errors: ErrNotFound.
func (s *Service) ListSchedules(ctx context.Context, hallID string) ([]Schedule, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	if cat.halls[hallID] == nil {
		return nil, ErrNotFound
	}
	out := []Schedule{}
	for _, sc := range cat.schedules {
		if sc.HallID == hallID {
			out = append(out, *sc)
		}
	}
	slices.SortFunc(out, func(a, b Schedule) int { return cmpStr(a.ID, b.ID) })
	return out, nil
}

// ListCalendar returns the calendar days from..to (inclusive, YYYY-MM-DD)
// that apply to hallID: its own and those of every hall ("" lists only those
// of every hall). Errors: ErrInvalid (dates), ErrNotFound (unknown hall).
func (s *Service) ListCalendar(ctx context.Context, hallID, from, to string) ([]CalendarDay, error) {
	if err := checkDate("from", from, true); err != nil {
		return nil, err
	}
	if err := checkDate("to", to, true); err != nil {
		return nil, err
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	if hallID != "" && cat.halls[hallID] == nil {
		return nil, ErrNotFound
	}
	out := []CalendarDay{}
	for _, d := range cat.days {
		if d.Date >= from && d.Date <= to && (d.HallID == "" || d.HallID == hallID) {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b CalendarDay) int { return cmpStr(a.ID, b.ID) })
	return out, nil
}
