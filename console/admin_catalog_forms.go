package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"banshi/appointments"
	"banshi/internal/platform"
)

// The catalog forms: what an administrator types, read into the structs the
// appointments service takes (the API's JSON bodies) and written back from
// them. Form fields are named after the API's JSON fields ("guide.steps",
// "rules.window_days"), so a service error naming a field lands next to it.
// Lists are one item a line in a textarea.

// catalogForm is the typed values of one form, with the errors to show.
type catalogForm struct {
	Kind    string            // "hall", "department", "service", "schedule"
	Create  bool              // a new item (else an edit of ID)
	ID      string            // the item edited
	HallID  string            // the hall of a department, service or schedule
	Action  string            // where the form posts
	V       map[string]string // typed values by field
	Checked map[string]bool   // ticked boxes: "weekdays:1", "service_ids:svc-1"
	Errors  map[string]string // messages by field
	// FormError is an error no field of the form is about.
	FormError   string
	Departments []appointments.Department
	Services    []appointments.ServiceItem
	Categories  []string
	Weekdays    []weekday
}

type weekday struct {
	N    int
	Name string
}

var weekdays = []weekday{{1, "周一"}, {2, "周二"}, {3, "周三"}, {4, "周四"}, {5, "周五"}, {6, "周六"}, {0, "周日"}}

// formFields are the fields of each kind's form; an error naming another
// field is shown above the form.
var formFields = map[string][]string{
	"hall": {"id", "name", "address", "phone", "location.lat", "location.lng", "opening_hours",
		"lunch_break.start", "lunch_break.end", "rules.window_days", "rules.cancel_before_minutes",
		"rules.no_show_after_minutes", "rules.min_realname_level"},
	"department": {"id", "name", "queue_prefix", "phone"},
	"service": {"id", "department_id", "code", "name", "type", "guide.conditions", "guide.materials", "guide.steps",
		"guide.time_limit_days", "guide.fee_fen", "guide.booking_required", "guide.legal_basis"},
	"schedule": {"id", "department_id", "service_ids", "slot_minutes", "capacity", "weekdays",
		"valid_from", "valid_to", "day_start", "day_end"},
}

// lineFields are the textarea fields whose errors name a line ("[2]").
var lineFields = map[string]bool{"opening_hours": true, "guide.conditions": true, "guide.materials": true, "guide.steps": true}

// setError puts err next to the field it names (or above the form): an
// invalid field, a taken ID, a capacity below the seats in use.
func (f *catalogForm) setError(err error, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	e, ok := platform.AsError(err)
	if !ok {
		f.FormError = msg
		return
	}
	field := e.Field
	switch e.Code {
	case appointments.ErrAlreadyExists.Code:
		field = "id"
	case appointments.ErrCapacityInUse.Code:
		field = "capacity"
	}
	name, line := field, -1
	if i := strings.IndexByte(field, '['); i >= 0 {
		name = field[:i]
		if j := strings.IndexByte(field[i:], ']'); j > 0 {
			if n, err := strconv.Atoi(field[i+1 : i+j]); err == nil {
				line = n
			}
		}
	}
	switch name {
	case "location":
		name = "location.lat"
	case "lunch_break":
		name = "lunch_break.start"
	}
	for _, known := range formFields[f.Kind] {
		if known == name {
			if line >= 0 && lineFields[name] {
				msg = fmt.Sprintf("第 %d 行：%s", line+1, msg)
			}
			f.Errors[name] = msg
			return
		}
	}
	f.FormError = msg
}

// newForm is an empty form of kind with the values of vals (a post) kept.
func newForm(kind string, vals url.Values) *catalogForm {
	f := &catalogForm{Kind: kind, V: map[string]string{}, Checked: map[string]bool{}, Errors: map[string]string{},
		Categories: appointments.Categories(), Weekdays: weekdays}
	for _, name := range formFields[kind] {
		switch name {
		case "weekdays", "service_ids":
			for _, v := range vals[name] {
				f.Checked[name+":"+v] = true
			}
		default:
			f.V[name] = vals.Get(name)
		}
	}
	return f
}

func bad(field, msg string) error { return platform.Invalid(field, "format", msg) }

// intField reads an integer; empty is zero when optional.
func intField(vals url.Values, name string, optional bool) (int, error) {
	s := strings.TrimSpace(vals.Get(name))
	if s == "" && optional {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, bad(name, "请输入整数")
	}
	return n, nil
}

func floatField(vals url.Values, name string) (float64, error) {
	s := strings.TrimSpace(vals.Get(name))
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, bad(name, "请输入数字，如 23.12")
	}
	return v, nil
}

// lines is a textarea's non-blank lines, trimmed.
func lines(s string) []string {
	out := []string{}
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// first is the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hallFromForm reads the hall form (id is the path's on an edit).
func hallFromForm(vals url.Values, id string) (appointments.Hall, error) {
	h := appointments.Hall{ID: id, Name: strings.TrimSpace(vals.Get("name")), Address: strings.TrimSpace(vals.Get("address")),
		Phone: strings.TrimSpace(vals.Get("phone"))}
	var errs [7]error
	h.Location.Lat, errs[0] = floatField(vals, "location.lat")
	h.Location.Lng, errs[1] = floatField(vals, "location.lng")
	h.OpeningHours, errs[2] = parseOpeningHours(vals.Get("opening_hours"))
	start, end := strings.TrimSpace(vals.Get("lunch_break.start")), strings.TrimSpace(vals.Get("lunch_break.end"))
	if start != "" || end != "" {
		h.LunchBreak = &appointments.TimeRange{Start: start, End: end}
	}
	h.Rules.WindowDays, errs[3] = intField(vals, "rules.window_days", true)
	h.Rules.CancelBeforeMinutes, errs[4] = intField(vals, "rules.cancel_before_minutes", true)
	h.Rules.NoShowAfterMinutes, errs[5] = intField(vals, "rules.no_show_after_minutes", true)
	h.Rules.MinRealnameLevel, errs[6] = intField(vals, "rules.min_realname_level", true)
	return h, first(errs[:]...)
}

// parseOpeningHours reads lines "1 09:00-12:00" (weekday 0 Sunday .. 6
// Saturday); the service checks the ranges.
func parseOpeningHours(s string) ([]appointments.OpeningHours, error) {
	out := []appointments.OpeningHours{}
	for i, l := range lines(s) {
		day, span, ok := strings.Cut(l, " ")
		open, cl, ok2 := strings.Cut(strings.TrimSpace(span), "-")
		d, err := strconv.Atoi(day)
		if !ok || !ok2 || err != nil {
			return nil, bad(fmt.Sprintf("opening_hours[%d]", i), "格式应为“星期 开始-结束”，如 1 09:00-12:00")
		}
		out = append(out, appointments.OpeningHours{Weekday: d, Open: strings.TrimSpace(open), Close: strings.TrimSpace(cl)})
	}
	return out, nil
}

func hallToForm(h appointments.Hall) map[string]string {
	var oh strings.Builder
	for _, o := range h.OpeningHours {
		fmt.Fprintf(&oh, "%d %s-%s\n", o.Weekday, o.Open, o.Close)
	}
	v := map[string]string{"id": h.ID, "name": h.Name, "address": h.Address, "phone": h.Phone,
		"location.lat": strconv.FormatFloat(h.Location.Lat, 'f', -1, 64), "location.lng": strconv.FormatFloat(h.Location.Lng, 'f', -1, 64),
		"opening_hours":               oh.String(),
		"rules.window_days":           strconv.Itoa(h.Rules.WindowDays),
		"rules.cancel_before_minutes": strconv.Itoa(h.Rules.CancelBeforeMinutes),
		"rules.no_show_after_minutes": strconv.Itoa(h.Rules.NoShowAfterMinutes),
		"rules.min_realname_level":    strconv.Itoa(h.Rules.MinRealnameLevel)}
	if h.LunchBreak != nil {
		v["lunch_break.start"], v["lunch_break.end"] = h.LunchBreak.Start, h.LunchBreak.End
	}
	return v
}

func departmentFromForm(vals url.Values, hallID, id string) appointments.Department {
	return appointments.Department{ID: id, HallID: hallID, Name: strings.TrimSpace(vals.Get("name")),
		QueuePrefix: vals.Get("queue_prefix"), Phone: strings.TrimSpace(vals.Get("phone"))}
}

func departmentToForm(d appointments.Department) map[string]string {
	return map[string]string{"id": d.ID, "name": d.Name, "queue_prefix": d.QueuePrefix, "phone": d.Phone}
}

// serviceFromForm reads the service form with its guide; the fee is typed
// in yuan and read exactly into fen.
func serviceFromForm(vals url.Values, hallID, id string) (appointments.ServiceItem, error) {
	v := appointments.ServiceItem{ID: id, HallID: hallID, DepartmentID: vals.Get("department_id"),
		Code: strings.TrimSpace(vals.Get("code")), Name: strings.TrimSpace(vals.Get("name")), Type: vals.Get("type")}
	g := &v.Guide
	g.Conditions = lines(vals.Get("guide.conditions"))
	g.Steps = lines(vals.Get("guide.steps"))
	g.BookingRequired = vals.Get("guide.booking_required") != ""
	g.LegalBasis = strings.TrimSpace(vals.Get("guide.legal_basis"))
	var errs [3]error
	g.Materials, errs[0] = parseMaterials(vals.Get("guide.materials"))
	g.TimeLimitDays, errs[1] = intField(vals, "guide.time_limit_days", true)
	g.FeeFen, errs[2] = parseFee(vals.Get("guide.fee_fen"))
	return v, first(errs[:]...)
}

// parseFee reads a fee in yuan ("" and "0" are free).
func parseFee(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	fen, err := parseYuan(s)
	if err != nil {
		if e, ok := platform.AsError(err); ok && e.Check == "range" {
			return 0, nil // zero: free
		}
		return 0, bad("guide.fee_fen", "收费金额请输入元，最多两位小数，如 12.50")
	}
	return fen, nil
}

// parseMaterials reads lines "名称 | 原件 | 复印件 | 必需或可选 | 备注";
// missing counts are 1 original and 0 copies, missing 必需/可选 is required.
func parseMaterials(s string) ([]appointments.Material, error) {
	out := []appointments.Material{}
	for i, l := range lines(s) {
		parts := strings.Split(l, "|")
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		m := appointments.Material{Name: parts[0], Originals: 1, Required: true}
		field := fmt.Sprintf("guide.materials[%d]", i)
		num := func(k int, dst *int) error {
			if len(parts) > k && parts[k] != "" {
				n, err := strconv.Atoi(parts[k])
				if err != nil {
					return bad(field, "份数应为整数；格式：名称 | 原件份数 | 复印件份数 | 必需或可选 | 备注")
				}
				*dst = n
			}
			return nil
		}
		if err := first(num(1, &m.Originals), num(2, &m.Copies)); err != nil {
			return nil, err
		}
		if len(parts) > 3 {
			switch parts[3] {
			case "", "必需", "必须", "是":
			case "可选", "否":
				m.Required = false
			default:
				return nil, bad(field, "第四项应为“必需”或“可选”")
			}
		}
		if len(parts) > 4 {
			m.Note = strings.Join(parts[4:], "|")
		}
		out = append(out, m)
	}
	return out, nil
}

func serviceToForm(v appointments.ServiceItem) map[string]string {
	var mats strings.Builder
	for _, m := range v.Guide.Materials {
		req := "必需"
		if !m.Required {
			req = "可选"
		}
		fmt.Fprintf(&mats, "%s | %d | %d | %s", m.Name, m.Originals, m.Copies, req)
		if m.Note != "" {
			fmt.Fprintf(&mats, " | %s", m.Note)
		}
		mats.WriteString("\n")
	}
	f := map[string]string{"id": v.ID, "department_id": v.DepartmentID, "code": v.Code, "name": v.Name, "type": v.Type,
		"guide.conditions": strings.Join(v.Guide.Conditions, "\n"), "guide.materials": mats.String(),
		"guide.steps": strings.Join(v.Guide.Steps, "\n"), "guide.time_limit_days": strconv.Itoa(v.Guide.TimeLimitDays),
		"guide.fee_fen": yuan(v.Guide.FeeFen), "guide.legal_basis": v.Guide.LegalBasis}
	if v.Guide.BookingRequired {
		f["guide.booking_required"] = "on"
	}
	return f
}

func scheduleFromForm(vals url.Values, hallID, id string) (appointments.Schedule, error) {
	sc := appointments.Schedule{ID: id, HallID: hallID, DepartmentID: vals.Get("department_id"),
		ServiceIDs: append([]string{}, vals["service_ids"]...), Weekdays: []int{},
		ValidFrom: strings.TrimSpace(vals.Get("valid_from")), ValidTo: strings.TrimSpace(vals.Get("valid_to")),
		DayStart: strings.TrimSpace(vals.Get("day_start")), DayEnd: strings.TrimSpace(vals.Get("day_end"))}
	for _, d := range vals["weekdays"] {
		n, err := strconv.Atoi(d)
		if err != nil {
			return sc, bad("weekdays", "星期应为 0（周日）至 6（周六）")
		}
		sc.Weekdays = append(sc.Weekdays, n)
	}
	var errs [2]error
	sc.SlotMinutes, errs[0] = intField(vals, "slot_minutes", false)
	sc.Capacity, errs[1] = intField(vals, "capacity", false)
	return sc, first(errs[:]...)
}

func scheduleToForm(sc appointments.Schedule) (map[string]string, map[string]bool) {
	v := map[string]string{"id": sc.ID, "department_id": sc.DepartmentID, "slot_minutes": strconv.Itoa(sc.SlotMinutes),
		"capacity": strconv.Itoa(sc.Capacity), "valid_from": sc.ValidFrom, "valid_to": sc.ValidTo,
		"day_start": sc.DayStart, "day_end": sc.DayEnd}
	checked := map[string]bool{}
	for _, d := range sc.Weekdays {
		checked["weekdays:"+strconv.Itoa(d)] = true
	}
	for _, id := range sc.ServiceIDs {
		checked["service_ids:"+id] = true
	}
	return v, checked
}
