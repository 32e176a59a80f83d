package appointments

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"banshi/internal/platform"
)

func checkID(field, id string) error {
	if !platform.ValidCatalogID(id) {
		return invalid(field, "must be 1-48 characters: lower-case letters, digits and '-'")
	}
	return nil
}

func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "is required")
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(field, fmt.Sprintf("must be at most %d characters", max))
	}
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	return nil
}

func checkDate(field, s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if _, ok := parseDate(s); !ok {
		return invalid(field, "must be a date YYYY-MM-DD")
	}
	return nil
}

func checkWeekday(field string, d int) error {
	if d < 0 || d > 6 {
		return invalid(field, "must be 0 (Sunday) to 6 (Saturday)")
	}
	return nil
}

// normalize validates h and fills rule defaults.
func (h *Hall) normalize() error {
	if err := checkID("id", h.ID); err != nil {
		return err
	}
	if err := checkText("name", h.Name, 100, true); err != nil {
		return err
	}
	if err := checkText("address", h.Address, 200, false); err != nil {
		return err
	}
	if err := checkText("phone", h.Phone, 40, false); err != nil {
		return err
	}
	if h.Location.Lat < -90 || h.Location.Lat > 90 || h.Location.Lng < -180 || h.Location.Lng > 180 {
		return invalid("location", "latitude must be within ±90 and longitude within ±180")
	}
	if len(h.OpeningHours) == 0 {
		return invalid("opening_hours", "at least one opening period is required")
	}
	for i, o := range h.OpeningHours {
		f := fmt.Sprintf("opening_hours[%d]", i)
		if err := checkWeekday(f+".weekday", o.Weekday); err != nil {
			return err
		}
		open, ok1 := parseClock(o.Open)
		cl, ok2 := parseClock(o.Close)
		if !ok1 || !ok2 || open >= cl {
			return invalid(f, "open and close must be HH:MM with open before close")
		}
	}
	if h.LunchBreak != nil {
		s, ok1 := parseClock(h.LunchBreak.Start)
		e, ok2 := parseClock(h.LunchBreak.End)
		if !ok1 || !ok2 || s >= e {
			return invalid("lunch_break", "start and end must be HH:MM with start before end")
		}
	}
	r := &h.Rules
	if r.WindowDays == 0 {
		r.WindowDays = 7
	}
	if r.CancelBeforeMinutes == 0 {
		r.CancelBeforeMinutes = 120
	}
	if r.NoShowAfterMinutes == 0 {
		r.NoShowAfterMinutes = 30
	}
	if r.MinRealnameLevel == 0 {
		r.MinRealnameLevel = 3
	}
	switch {
	case r.WindowDays < 1 || r.WindowDays > 60:
		return invalid("rules.window_days", "must be 1 to 60")
	case r.CancelBeforeMinutes < 0 || r.CancelBeforeMinutes > 7*24*60:
		return invalid("rules.cancel_before_minutes", "must be 0 to 10080")
	case r.NoShowAfterMinutes < 0 || r.NoShowAfterMinutes > 24*60:
		return invalid("rules.no_show_after_minutes", "must be 0 to 1440")
	case r.MinRealnameLevel < 1 || r.MinRealnameLevel > 4:
		return invalid("rules.min_realname_level", "must be 1 to 4")
	}
	return nil
}

func (d *Department) normalize() error {
	if err := checkID("id", d.ID); err != nil {
		return err
	}
	if err := checkID("hall_id", d.HallID); err != nil {
		return err
	}
	if err := checkText("name", d.Name, 100, true); err != nil {
		return err
	}
	if err := checkText("phone", d.Phone, 40, false); err != nil {
		return err
	}
	d.QueuePrefix = strings.ToUpper(strings.TrimSpace(d.QueuePrefix))
	if len(d.QueuePrefix) != 1 || d.QueuePrefix[0] < 'A' || d.QueuePrefix[0] > 'Z' {
		return invalid("queue_prefix", "must be one letter A-Z")
	}
	return nil
}

func (s *ServiceItem) normalize() error {
	if err := checkID("id", s.ID); err != nil {
		return err
	}
	if err := checkID("hall_id", s.HallID); err != nil {
		return err
	}
	if err := checkID("department_id", s.DepartmentID); err != nil {
		return err
	}
	if err := checkText("code", s.Code, 64, true); err != nil {
		return err
	}
	if err := checkText("name", s.Name, 200, true); err != nil {
		return err
	}
	if !slices.Contains(Categories(), s.Type) {
		return invalid("type", "must be one of the eleven categories: "+strings.Join(Categories(), ", "))
	}
	g := &s.Guide
	if g.Conditions == nil {
		g.Conditions = []string{}
	}
	if g.Steps == nil {
		g.Steps = []string{}
	}
	if g.Materials == nil {
		g.Materials = []Material{}
	}
	for i, c := range g.Conditions {
		if err := checkText(fmt.Sprintf("guide.conditions[%d]", i), c, 500, true); err != nil {
			return err
		}
	}
	for i, c := range g.Steps {
		if err := checkText(fmt.Sprintf("guide.steps[%d]", i), c, 500, true); err != nil {
			return err
		}
	}
	for i, m := range g.Materials {
		f := fmt.Sprintf("guide.materials[%d]", i)
		if err := checkText(f+".name", m.Name, 200, true); err != nil {
			return err
		}
		if m.Originals < 0 || m.Copies < 0 || m.Originals > 99 || m.Copies > 99 {
			return invalid(f, "originals and copies must be 0 to 99")
		}
	}
	if g.TimeLimitDays < 0 || g.TimeLimitDays > 3650 {
		return invalid("guide.time_limit_days", "must be 0 to 3650")
	}
	if g.FeeFen < 0 {
		return invalid("guide.fee_fen", "must not be negative")
	}
	return checkText("guide.legal_basis", g.LegalBasis, 1000, false)
}

func (s *Schedule) normalize() error {
	if err := checkID("id", s.ID); err != nil {
		return err
	}
	if err := checkID("hall_id", s.HallID); err != nil {
		return err
	}
	if err := checkID("department_id", s.DepartmentID); err != nil {
		return err
	}
	if s.ServiceIDs == nil {
		s.ServiceIDs = []string{}
	}
	for i, id := range s.ServiceIDs {
		if err := checkID(fmt.Sprintf("service_ids[%d]", i), id); err != nil {
			return err
		}
	}
	if s.SlotMinutes < 5 || s.SlotMinutes > 480 {
		return invalid("slot_minutes", "must be 5 to 480")
	}
	if s.Capacity < 1 || s.Capacity > 1000 {
		return invalid("capacity", "must be 1 to 1000")
	}
	if s.Weekdays == nil {
		s.Weekdays = []int{}
	}
	for i, d := range s.Weekdays {
		if err := checkWeekday(fmt.Sprintf("weekdays[%d]", i), d); err != nil {
			return err
		}
	}
	if err := checkDate("valid_from", s.ValidFrom, false); err != nil {
		return err
	}
	if err := checkDate("valid_to", s.ValidTo, false); err != nil {
		return err
	}
	if s.ValidFrom != "" && s.ValidTo != "" && s.ValidTo < s.ValidFrom {
		return invalid("valid_to", "must not be before valid_from")
	}
	for _, f := range []struct{ name, v string }{{"day_start", s.DayStart}, {"day_end", s.DayEnd}} {
		if f.v == "" {
			continue
		}
		if _, ok := parseClock(f.v); !ok {
			return invalid(f.name, "must be HH:MM")
		}
	}
	if s.DayStart != "" && s.DayEnd != "" && s.DayEnd <= s.DayStart {
		return invalid("day_end", "must be after day_start")
	}
	return nil
}

func (c *CalendarDay) normalize() error {
	if c.HallID != "" {
		if err := checkID("hall_id", c.HallID); err != nil {
			return err
		}
	}
	if err := checkDate("date", c.Date, true); err != nil {
		return err
	}
	switch c.Kind {
	case DayHoliday, DayClosure:
		c.AsWeekday = 0
	case DayWorkday:
		if c.AsWeekday == 0 {
			c.AsWeekday = 1
		}
		if err := checkWeekday("as_weekday", c.AsWeekday); err != nil {
			return err
		}
	default:
		return invalid("kind", "must be holiday, closure or workday")
	}
	if c.Kind == DayClosure && c.HallID == "" {
		return invalid("hall_id", "a closure needs a hall; use kind holiday for every hall")
	}
	if err := checkText("name", c.Name, 100, false); err != nil {
		return err
	}
	c.ID = calendarID(c.HallID, c.Date)
	return nil
}
