package appointments

import (
	"context"
	"time"
)

// DateRemaining is one date of the booking window with its free seats.
type DateRemaining struct {
	Date      string `json:"date"`
	Remaining int    `json:"remaining"`
}

// Availability is the answer of GET /halls/{hall_id}/availability?service_id=.
type Availability struct {
	Dates []DateRemaining `json:"dates"`
}

// SlotView is one slot with its free seats. Times are RFC 3339 in
// Asia/Shanghai.
type SlotView struct {
	ID        string    `json:"id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Capacity  int       `json:"capacity"`
	Remaining int       `json:"remaining"`
}

// DaySlots is the answer of GET /halls/{hall_id}/availability?service_id=&date=.
type DaySlots struct {
	Date  string     `json:"date"`
	Slots []SlotView `json:"slots"`
}

// hallService checks that serviceID is offered at hallID.
func (s *Service) hallService(ctx context.Context, hallID, serviceID string) (*catalog, *Hall, *ServiceItem, error) {
	if err := checkID("hall_id", hallID); err != nil {
		return nil, nil, nil, err
	}
	if serviceID == "" {
		return nil, nil, nil, invalid("service_id", "required", "请选择办理事项")
	}
	if err := checkID("service_id", serviceID); err != nil {
		return nil, nil, nil, err
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	h := cat.halls[hallID]
	v := cat.services[serviceID]
	if h == nil || v == nil {
		return nil, nil, nil, ErrNotFound
	}
	if v.HallID != hallID {
		return nil, nil, nil, invalid("service_id", "reference", "该大厅不办理此事项")
	}
	return cat, h, v, nil
}

// Availability lists every date of the hall's booking window with the free
// seats of the service that day (0 when full; dates are working days only).
// Usually one Redis round trip.
//
// Errors: ErrInvalid (naming the field: hall_id, service_id missing or
// malformed, or service not offered at the hall), ErrNotFound (unknown hall
// or service).
func (s *Service) Availability(ctx context.Context, hallID, serviceID string) (Availability, error) {
	cat, h, v, err := s.hallService(ctx, hallID, serviceID)
	if err != nil {
		return Availability{}, err
	}
	dates := cat.window(h, s.clock.Now())
	var all []slotDef
	idx := make([][2]int, len(dates))
	for i, d := range dates {
		sl := cat.serviceSlots(v, d)
		idx[i] = [2]int{len(all), len(all) + len(sl)}
		all = append(all, sl...)
	}
	rem, err := s.remaining(ctx, all)
	if err != nil {
		return Availability{}, err
	}
	out := Availability{Dates: make([]DateRemaining, len(dates))}
	for i, d := range dates {
		n := 0
		for _, r := range rem[idx[i][0]:idx[i][1]] {
			n += r
		}
		out.Dates[i] = DateRemaining{Date: d, Remaining: n}
	}
	return out, nil
}

// DaySlots lists the service's slots on date with their free seats. A date
// in the window that is not a working day (weekend, closure, holiday) has no
// slots.
//
// Errors: ErrInvalid (naming the field: hall_id, service_id, date not
// YYYY-MM-DD, service not offered at the hall), ErrNotFound (unknown hall or
// service), ErrOutsideWindow (date before or after the booking window).
func (s *Service) DaySlots(ctx context.Context, hallID, serviceID, date string) (DaySlots, error) {
	cat, h, v, err := s.hallService(ctx, hallID, serviceID)
	if err != nil {
		return DaySlots{}, err
	}
	if err := checkDate("date", date, true); err != nil {
		return DaySlots{}, err
	}
	win := cat.window(h, s.clock.Now())
	if len(win) == 0 || date < win[0] || date > win[len(win)-1] {
		return DaySlots{}, ErrOutsideWindow
	}
	slots := cat.serviceSlots(v, date)
	rem, err := s.remaining(ctx, slots)
	if err != nil {
		return DaySlots{}, err
	}
	out := DaySlots{Date: date, Slots: make([]SlotView, len(slots))}
	for i, sl := range slots {
		out.Slots[i] = SlotView{ID: sl.ID, Start: sl.Start.In(shanghai()), End: sl.End.In(shanghai()),
			Capacity: sl.Capacity, Remaining: rem[i]}
	}
	return out, nil
}
