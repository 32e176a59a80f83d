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
		return invalid(field, "format", "编号应为 1 至 48 个小写字母、数字或连字符")
	}
	return nil
}

func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "required", "必填")
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(field, "length", fmt.Sprintf("最多 %d 个字", max))
	}
	if !utf8.ValidString(s) {
		return invalid(field, "format", "含有无效字符")
	}
	return nil
}

func checkDate(field, s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if _, ok := parseDate(s); !ok {
		return invalid(field, "format", "日期格式应为 YYYY-MM-DD")
	}
	return nil
}

func checkWeekday(field string, d int) error {
	if d < 0 || d > 6 {
		return invalid(field, "range", "星期应为 0（周日）至 6（周六）")
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
		return invalid("location", "range", "纬度应在 ±90 以内，经度应在 ±180 以内")
	}
	if len(h.OpeningHours) == 0 {
		return invalid("opening_hours", "required", "至少需要一个办公时段")
	}
	for i, o := range h.OpeningHours {
		f := fmt.Sprintf("opening_hours[%d]", i)
		if err := checkWeekday(f+".weekday", o.Weekday); err != nil {
			return err
		}
		open, ok1 := parseClock(o.Open)
		cl, ok2 := parseClock(o.Close)
		if !ok1 || !ok2 || open >= cl {
			return invalid(f, "format", "开始和结束时间应为 HH:MM，且开始早于结束")
		}
	}
	if h.LunchBreak != nil {
		s, ok1 := parseClock(h.LunchBreak.Start)
		e, ok2 := parseClock(h.LunchBreak.End)
		if !ok1 || !ok2 || s >= e {
			return invalid("lunch_break", "format", "午休开始和结束时间应为 HH:MM，且开始早于结束")
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
		return invalid("rules.window_days", "range", "可预约天数应为 1 至 60")
	case r.CancelBeforeMinutes < 0 || r.CancelBeforeMinutes > 7*24*60:
		return invalid("rules.cancel_before_minutes", "range", "取消提前分钟数应为 0 至 10080")
	case r.NoShowAfterMinutes < 0 || r.NoShowAfterMinutes > 24*60:
		return invalid("rules.no_show_after_minutes", "range", "爽约判定分钟数应为 0 至 1440")
	case r.MinRealnameLevel < 1 || r.MinRealnameLevel > 4:
		return invalid("rules.min_realname_level", "range", "实名等级应为 1 至 4")
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
		return invalid("queue_prefix", "format", "排队号前缀应为一个大写字母 A 至 Z")
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
	if !platform.ValidServiceCode(s.Code) {
		return invalid("code", "format", "事项编码应为 1 至 64 个字母、数字、连字符或下划线")
	}
	if err := checkText("name", s.Name, 200, true); err != nil {
		return err
	}
	if !slices.Contains(Categories(), s.Type) {
		return invalid("type", "enum", "事项类型应为以下之一："+strings.Join(Categories(), "、"))
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
			return invalid(f, "range", "原件和复印件份数应为 0 至 99")
		}
	}
	if g.TimeLimitDays < 0 || g.TimeLimitDays > 3650 {
		return invalid("guide.time_limit_days", "range", "办结时限应为 0 至 3650 天")
	}
	if g.FeeFen < 0 {
		return invalid("guide.fee_fen", "range", "收费金额不能为负数")
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
		return invalid("slot_minutes", "range", "时段长度应为 5 至 480 分钟")
	}
	if s.Capacity < 1 || s.Capacity > 1000 {
		return invalid("capacity", "range", "每个时段的号数应为 1 至 1000")
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
		return invalid("valid_to", "range", "结束日期不能早于开始日期")
	}
	for _, f := range []struct{ name, v string }{{"day_start", s.DayStart}, {"day_end", s.DayEnd}} {
		if f.v == "" {
			continue
		}
		if _, ok := parseClock(f.v); !ok {
			return invalid(f.name, "format", "时间格式应为 HH:MM")
		}
	}
	if s.DayStart != "" && s.DayEnd != "" && s.DayEnd <= s.DayStart {
		return invalid("day_end", "range", "结束时间应晚于开始时间")
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
		return invalid("kind", "enum", "类型应为 holiday、closure 或 workday")
	}
	if c.Kind == DayClosure && c.HallID == "" {
		return invalid("hall_id", "required", "闭厅须指定大厅；所有大厅放假请用 holiday")
	}
	if err := checkText("name", c.Name, 100, false); err != nil {
		return err
	}
	c.ID = calendarID(c.HallID, c.Date)
	return nil
}
