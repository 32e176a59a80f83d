package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/appointments"
	"banshi/internal/platform"
)

// fakeCatalog keeps the catalog in memory with a few of the service's rules
// (required name, queue prefix, capacity range, known department).
type fakeCatalog struct {
	mu     sync.Mutex
	halls  map[string]appointments.Hall
	depts  map[string]appointments.Department
	svcs   map[string]appointments.ServiceItem
	scheds map[string]appointments.Schedule
	writes int
}

var _ Catalog = (*fakeCatalog)(nil)

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{
		halls:  map[string]appointments.Hall{"h1": {ID: "h1", Name: "天河大厅", OpeningHours: []appointments.OpeningHours{{Weekday: 1, Open: "09:00", Close: "17:00"}}}},
		depts:  map[string]appointments.Department{"d1": {ID: "d1", HallID: "h1", Name: "户籍科", QueuePrefix: "A"}},
		svcs:   map[string]appointments.ServiceItem{"s1": {ID: "s1", HallID: "h1", DepartmentID: "d1", Code: "C1", Name: "身份证换领", Type: appointments.CategoryPublicServices}},
		scheds: map[string]appointments.Schedule{"sc1": {ID: "sc1", HallID: "h1", DepartmentID: "d1", SlotMinutes: 30, Capacity: 5, Weekdays: []int{1}}},
	}
}

func sorted[T any](m map[string]T, keep func(T) bool) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := []T{}
	for _, k := range keys {
		if keep(m[k]) {
			out = append(out, m[k])
		}
	}
	return out
}

func (f *fakeCatalog) ListHalls(context.Context) ([]appointments.Hall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sorted(f.halls, func(appointments.Hall) bool { return true }), nil
}

func (f *fakeCatalog) GetHall(_ context.Context, id string) (appointments.Hall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.halls[id]
	if !ok {
		return h, appointments.ErrNotFound
	}
	return h, nil
}

func (f *fakeCatalog) ListDepartments(_ context.Context, hallID string) ([]appointments.Department, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sorted(f.depts, func(d appointments.Department) bool { return d.HallID == hallID }), nil
}

func (f *fakeCatalog) ListServices(_ context.Context, hallID, _, _ string) ([]appointments.ServiceItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sorted(f.svcs, func(v appointments.ServiceItem) bool { return v.HallID == hallID }), nil
}

func (f *fakeCatalog) GetService(_ context.Context, id string) (appointments.ServiceItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.svcs[id]
	if !ok {
		return v, appointments.ErrNotFound
	}
	return v, nil
}

func (f *fakeCatalog) ListSchedules(_ context.Context, hallID string) ([]appointments.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sorted(f.scheds, func(s appointments.Schedule) bool { return s.HallID == hallID }), nil
}

// put stores v under id after check, as a create (ID free) or an update
// (ID known).
func put[T any](f *fakeCatalog, m map[string]T, id string, v T, create bool, check error) (T, error) {
	if check != nil {
		return v, check
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, exists := m[id]
	if create && exists {
		return v, appointments.ErrAlreadyExists
	}
	if !create && !exists {
		return v, appointments.ErrNotFound
	}
	m[id] = v
	f.writes++
	return v, nil
}

func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return platform.Invalid("name", "required", "必填")
	}
	return nil
}

func (f *fakeCatalog) CreateHall(_ context.Context, h appointments.Hall) (appointments.Hall, error) {
	return put(f, f.halls, h.ID, h, true, checkName(h.Name))
}
func (f *fakeCatalog) UpdateHall(_ context.Context, h appointments.Hall) (appointments.Hall, error) {
	return put(f, f.halls, h.ID, h, false, checkName(h.Name))
}

func checkDept(d appointments.Department) error {
	if len(d.QueuePrefix) != 1 {
		return platform.Invalid("queue_prefix", "format", "排队号前缀应为一个大写字母 A 至 Z")
	}
	return checkName(d.Name)
}

func (f *fakeCatalog) CreateDepartment(_ context.Context, d appointments.Department) (appointments.Department, error) {
	return put(f, f.depts, d.ID, d, true, checkDept(d))
}
func (f *fakeCatalog) UpdateDepartment(_ context.Context, d appointments.Department) (appointments.Department, error) {
	return put(f, f.depts, d.ID, d, false, checkDept(d))
}

func (f *fakeCatalog) checkService(v appointments.ServiceItem) error {
	f.mu.Lock()
	_, ok := f.depts[v.DepartmentID]
	f.mu.Unlock()
	if !ok {
		return platform.Invalid("department_id", "reference", "该大厅没有此部门")
	}
	for i, c := range v.Guide.Conditions {
		if len([]rune(c)) > 20 {
			return platform.Invalid("guide.conditions["+string(rune('0'+i))+"]", "length", "最多 20 个字")
		}
	}
	return checkName(v.Name)
}

func (f *fakeCatalog) CreateService(_ context.Context, v appointments.ServiceItem) (appointments.ServiceItem, error) {
	return put(f, f.svcs, v.ID, v, true, f.checkService(v))
}
func (f *fakeCatalog) UpdateService(_ context.Context, v appointments.ServiceItem) (appointments.ServiceItem, error) {
	return put(f, f.svcs, v.ID, v, false, f.checkService(v))
}

func checkSchedule(s appointments.Schedule) error {
	if s.Capacity < 1 || s.Capacity > 1000 {
		return platform.Invalid("capacity", "range", "每个时段的号数应为 1 至 1000")
	}
	return nil
}

func (f *fakeCatalog) CreateSchedule(_ context.Context, s appointments.Schedule) (appointments.Schedule, error) {
	return put(f, f.scheds, s.ID, s, true, checkSchedule(s))
}
func (f *fakeCatalog) UpdateSchedule(_ context.Context, s appointments.Schedule) (appointments.Schedule, error) {
	return put(f, f.scheds, s.ID, s, false, checkSchedule(s))
}

func (f *fakeCatalog) DeleteSchedule(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.scheds[id]; !ok {
		return appointments.ErrNotFound
	}
	delete(f.scheds, id)
	f.writes++
	return nil
}

func (f *fakeCatalog) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// catalogFixture is the console with the fake catalog and a count of
// catalog-changed calls.
func catalogFixture(t *testing.T) (*fixture, *fakeCatalog, *int) {
	t.Helper()
	f := newFixture(t, false)
	cat := newFakeCatalog()
	changed := new(int)
	c, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Catalog: cat,
		CatalogChanged: func() { *changed++ }, Secret: []byte("0123456789abcdef0123456789abcdef"), Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.c, f.h = c, c.Handler()
	return f, cat, changed
}

// TestConsoleCatalogPagesAdminOnly: every catalog page answers 200 to an
// administrator and the 403 page to hall staff and finance; a refused post
// changes nothing.
func TestConsoleCatalogPagesAdminOnly(t *testing.T) {
	f, cat, changed := catalogFixture(t)
	pages := []string{"/console/admin/catalog", "/console/admin/catalog/halls/new", "/console/admin/catalog/halls/h1",
		"/console/admin/catalog/halls/h1/edit", "/console/admin/catalog/halls/h1/departments/new",
		"/console/admin/catalog/halls/h1/departments/d1/edit", "/console/admin/catalog/halls/h1/services/new",
		"/console/admin/catalog/halls/h1/services/s1/edit", "/console/admin/catalog/halls/h1/schedules/new",
		"/console/admin/catalog/halls/h1/schedules/sc1/edit"}
	for _, p := range pages {
		if rec := f.do(http.MethodGet, p, tokAdmin, nil); rec.Code != http.StatusOK {
			t.Fatalf("admin %s: %d %s", p, rec.Code, rec.Body.String())
		}
		for _, tok := range []string{tokStaff, tokFinance} {
			if rec := f.do(http.MethodGet, p, tok, nil); rec.Code != http.StatusForbidden {
				t.Fatalf("%s %s: %d", tok, p, rec.Code)
			}
		}
	}
	form := url.Values{"id": {"h9"}, "name": {"新大厅"}, "opening_hours": {"1 09:00-17:00"}}
	for _, tc := range []struct {
		name, token string
		form        url.Values
	}{{"hall staff", tokStaff, withCSRF(f, tokStaff, form)}, {"no CSRF", tokAdmin, form}} {
		if rec := f.do(http.MethodPost, "/console/admin/catalog/halls", tc.token, tc.form); rec.Code != http.StatusForbidden {
			t.Fatalf("%s: %d", tc.name, rec.Code)
		}
	}
	if rec := f.do(http.MethodPost, "/console/admin/catalog/halls/h1/schedules/sc1/delete", tokAdmin, url.Values{}); rec.Code != http.StatusForbidden {
		t.Fatalf("delete without CSRF: %d", rec.Code)
	}
	if cat.count() != 0 || *changed != 0 {
		t.Fatalf("refused posts wrote %d, changed %d", cat.count(), *changed)
	}
	if rec := f.do(http.MethodGet, "/console/", tokAdmin, nil); !strings.Contains(rec.Body.String(), `href="/console/admin/catalog"`) {
		t.Fatal("home has no link to the catalog")
	}
}

// TestConsoleCatalogCreateAndEdit: a create and an edit of each kind are
// saved through the service, audited with the API's action names, announced
// (catalog changed) and visible on the hall's page; the guide's lines,
// materials and fee in yuan arrive as the service's fields.
func TestConsoleCatalogCreateAndEdit(t *testing.T) {
	f, cat, changed := catalogFixture(t)
	steps := []struct {
		action, path string
		form         url.Values
		shows        string
	}{
		{actionHallCreate, "/console/admin/catalog/halls", url.Values{"id": {"h2"}, "name": {"越秀大厅"}, "address": {"东风中路"},
			"opening_hours": {"1 09:00-12:00\n2 09:00-12:00"}, "lunch_break.start": {"12:00"}, "lunch_break.end": {"13:30"}}, ""},
		{actionHallUpdate, "/console/admin/catalog/halls/h1", url.Values{"name": {"天河中心"}, "opening_hours": {"1 09:00-17:00"},
			"location.lat": {"23.1"}, "location.lng": {"113.3"}, "rules.window_days": {"10"}}, "天河中心"},
		{actionDepartmentCreate, "/console/admin/catalog/halls/h1/departments", url.Values{"id": {"d2"}, "name": {"社保科"}, "queue_prefix": {"B"}}, "社保科"},
		{actionDepartmentUpdate, "/console/admin/catalog/halls/h1/departments/d1", url.Values{"name": {"户政科"}, "queue_prefix": {"A"}}, "户政科"},
		{actionServiceCreate, "/console/admin/catalog/halls/h1/services", url.Values{"id": {"s2"}, "department_id": {"d2"}, "code": {"SB-01"},
			"name": {"社保卡申领"}, "type": {appointments.CategoryPublicServices}, "guide.conditions": {"本市参保\n\n年满16岁"},
			"guide.materials": {"居民身份证 | 1 | 2 | 必需\n照片 | 0 | 1 | 可选 | 白底"}, "guide.steps": {"取号\n办理"},
			"guide.time_limit_days": {"5"}, "guide.fee_fen": {"12.5"}, "guide.booking_required": {"on"}}, "社保卡申领"},
		{actionServiceUpdate, "/console/admin/catalog/halls/h1/services/s1", url.Values{"department_id": {"d1"}, "code": {"C1"},
			"name": {"身份证补领"}, "type": {appointments.CategoryPublicServices}}, "身份证补领"},
		{actionScheduleCreate, "/console/admin/catalog/halls/h1/schedules", url.Values{"id": {"sc2"}, "department_id": {"d2"},
			"service_ids": {"s2"}, "slot_minutes": {"20"}, "capacity": {"3"}, "weekdays": {"1", "3"}, "day_start": {"09:00"}, "day_end": {"11:00"}}, "sc2"},
		{actionScheduleUpdate, "/console/admin/catalog/halls/h1/schedules/sc1", url.Values{"department_id": {"d1"},
			"slot_minutes": {"30"}, "capacity": {"8"}, "weekdays": {"2"}}, "周二"},
	}
	for i, st := range steps {
		rec := f.do(http.MethodPost, st.path, tokAdmin, withCSRF(f, tokAdmin, st.form))
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", st.action, rec.Code, rec.Body.String())
		}
		if cat.count() != i+1 || *changed != i+1 {
			t.Fatalf("%s: %d writes, %d changes", st.action, cat.count(), *changed)
		}
		a := f.auth.audited()
		if last := a[len(a)-1]; last.Action != st.action || last.Outcome != "ok" || last.Actor != "admin" {
			t.Fatalf("%s: audited %+v", st.action, last)
		}
		if st.shows != "" {
			page := f.do(http.MethodGet, rec.Header().Get("Location"), tokAdmin, nil).Body.String()
			if !strings.Contains(page, st.shows) || !strings.Contains(page, "已") {
				t.Fatalf("%s: %q not on the hall page:\n%s", st.action, st.shows, page)
			}
		}
	}
	h2 := cat.halls["h2"]
	if len(h2.OpeningHours) != 2 || h2.OpeningHours[1] != (appointments.OpeningHours{Weekday: 2, Open: "09:00", Close: "12:00"}) ||
		h2.LunchBreak == nil || h2.LunchBreak.End != "13:30" {
		t.Fatalf("hall h2: %+v", h2)
	}
	if h1 := cat.halls["h1"]; h1.Location.Lat != 23.1 || h1.Rules.WindowDays != 10 {
		t.Fatalf("hall h1: %+v", h1)
	}
	g := cat.svcs["s2"].Guide
	want := []appointments.Material{{Name: "居民身份证", Originals: 1, Copies: 2, Required: true}, {Name: "照片", Copies: 1, Note: "白底"}}
	if !slices.Equal(g.Conditions, []string{"本市参保", "年满16岁"}) || !slices.Equal(g.Materials, want) ||
		!slices.Equal(g.Steps, []string{"取号", "办理"}) || g.FeeFen != 1250 || g.TimeLimitDays != 5 || !g.BookingRequired {
		t.Fatalf("guide: %+v", g)
	}
	if sc := cat.scheds["sc2"]; sc.Capacity != 3 || !slices.Equal(sc.Weekdays, []int{1, 3}) || !slices.Equal(sc.ServiceIDs, []string{"s2"}) {
		t.Fatalf("schedule sc2: %+v", sc)
	}
	// The edit form shows the stored guide back, one item a line.
	page := f.do(http.MethodGet, "/console/admin/catalog/halls/h1/services/s2/edit", tokAdmin, nil).Body.String()
	for _, s := range []string{"居民身份证 | 1 | 2 | 必需", "照片 | 0 | 1 | 可选 | 白底", `value="12.50"`, "本市参保\n年满16岁"} {
		if !strings.Contains(page, s) {
			t.Fatalf("edit form lacks %q:\n%s", s, page)
		}
	}
	// Delete a schedule.
	rec := f.do(http.MethodPost, "/console/admin/catalog/halls/h1/schedules/sc2/delete", tokAdmin, withCSRF(f, tokAdmin, url.Values{}))
	if rec.Code != http.StatusSeeOther || cat.scheds["sc2"].ID != "" {
		t.Fatalf("delete: %d", rec.Code)
	}
	if a := f.auth.audited(); a[len(a)-1].Action != actionScheduleDelete || a[len(a)-1].Target != "sc2" {
		t.Fatalf("delete audited %+v", a[len(a)-1])
	}
	if page := f.do(http.MethodGet, "/console/admin/catalog/halls/h1", tokAdmin, nil).Body.String(); strings.Contains(page, `id="schedule-edit-sc2"`) {
		t.Fatal("deleted schedule still listed")
	}
}

// TestConsoleCatalogBadInput: bad input (the console's parse or the
// service's rules) answers 4xx with the message next to its field and the
// typed values kept, and nothing is written or announced.
func TestConsoleCatalogBadInput(t *testing.T) {
	f, cat, changed := catalogFixture(t)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		code       int
		errID, msg string
		kept       string
	}{
		{"hall without a name", "/console/admin/catalog/halls", url.Values{"id": {"h3"}, "address": {"某路1号"}, "opening_hours": {"1 09:00-17:00"}},
			400, "f-name-error", "必填", `value="某路1号"`},
		{"hall taken ID", "/console/admin/catalog/halls", url.Values{"id": {"h1"}, "name": {"重复"}, "opening_hours": {"1 09:00-17:00"}},
			409, "f-id-error", "该编号已存在", `value="重复"`},
		{"opening hours line", "/console/admin/catalog/halls/h1", url.Values{"name": {"天河"}, "opening_hours": {"1 09:00-17:00\n周一九点"}},
			400, "f-opening-hours-error", "第 2 行", "周一九点"},
		{"latitude not a number", "/console/admin/catalog/halls/h1", url.Values{"name": {"天河"}, "location.lat": {"北纬"}, "opening_hours": {"1 09:00-17:00"}},
			400, "f-location-lat-error", "请输入数字", `value="北纬"`},
		{"queue prefix", "/console/admin/catalog/halls/h1/departments", url.Values{"id": {"d3"}, "name": {"税务"}, "queue_prefix": {"AB"}},
			400, "f-queue-prefix-error", "排队号前缀", `value="税务"`},
		{"unknown department", "/console/admin/catalog/halls/h1/services", url.Values{"id": {"s3"}, "department_id": {"nope"}, "name": {"某事项"}},
			400, "f-department-id-error", "该大厅没有此部门", `value="某事项"`},
		{"guide condition too long", "/console/admin/catalog/halls/h1/services/s1", url.Values{"department_id": {"d1"}, "name": {"身份证"},
			"guide.conditions": {"短\n这一条办理条件写得实在是太长了超过了二十个字的限制"}}, 400, "f-guide-conditions-error", "第 2 行：最多 20 个字", "这一条办理条件"},
		{"fee with three decimals", "/console/admin/catalog/halls/h1/services/s1", url.Values{"department_id": {"d1"}, "name": {"身份证"}, "guide.fee_fen": {"1.234"}},
			400, "f-guide-fee-fen-error", "最多两位小数", `value="1.234"`},
		{"material count", "/console/admin/catalog/halls/h1/services/s1", url.Values{"department_id": {"d1"}, "name": {"身份证"}, "guide.materials": {"身份证 | 一份"}},
			400, "f-guide-materials-error", "第 1 行", "身份证 | 一份"},
		{"capacity zero", "/console/admin/catalog/halls/h1/schedules/sc1", url.Values{"department_id": {"d1"}, "slot_minutes": {"30"}, "capacity": {"0"}, "weekdays": {"4"}},
			400, "f-capacity-error", "1 至 1000", `id="f-wd-4" name="weekdays" value="4" checked`},
		{"slot minutes not a number", "/console/admin/catalog/halls/h1/schedules", url.Values{"id": {"sc9"}, "department_id": {"d1"}, "slot_minutes": {"半小时"}, "capacity": {"3"}},
			400, "f-slot-minutes-error", "请输入整数", `value="半小时"`},
		{"edit of an unknown schedule", "/console/admin/catalog/halls/h1/schedules/zz", url.Values{"department_id": {"d1"}, "slot_minutes": {"30"}, "capacity": {"3"}},
			404, "form-error", "未找到", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.auth.audited())
			rec := f.do(http.MethodPost, tc.path, tokAdmin, withCSRF(f, tokAdmin, tc.form))
			body := rec.Body.String()
			if rec.Code != tc.code || !strings.Contains(body, `id="`+tc.errID+`"`) || !strings.Contains(body, tc.msg) || !strings.Contains(body, tc.kept) {
				t.Fatalf("%d (want %d), want #%s with %q and %q kept:\n%s", rec.Code, tc.code, tc.errID, tc.msg, tc.kept, body)
			}
			if cat.count() != 0 || *changed != 0 {
				t.Fatalf("written %d, changed %d", cat.count(), *changed)
			}
			if a := f.auth.audited(); len(a) != before+1 || a[len(a)-1].Outcome == "ok" {
				t.Fatalf("refusal not audited as such: %+v", a)
			}
		})
	}
	if cat.halls["h1"].Name != "天河大厅" || cat.scheds["sc1"].Capacity != 5 {
		t.Fatal("the catalog changed")
	}
	rec := f.do(http.MethodPost, "/console/admin/catalog/halls/h1/schedules/zz/delete", tokAdmin, withCSRF(f, tokAdmin, url.Values{}))
	if rec.Code != http.StatusNotFound || len(cat.scheds) != 1 {
		t.Fatalf("delete of an unknown schedule: %d", rec.Code)
	}
}
