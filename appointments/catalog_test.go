package appointments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

func TestAdminWritesValidateAndChangeNothingOnError(t *testing.T) {
	f := newFixture(t)
	hours := []OpeningHours{{Weekday: 1, Open: "09:00", Close: "17:00"}}
	cases := []struct {
		name  string
		do    func() error
		want  error
		field string
	}{
		{"hall bad id", func() error {
			_, e := f.svc.CreateHall(f.ctx, Hall{ID: "H 1", Name: "x", OpeningHours: hours})
			return e
		}, ErrInvalid, "id"},
		{"hall no name", func() error { _, e := f.svc.CreateHall(f.ctx, Hall{ID: "h9", OpeningHours: hours}); return e }, ErrInvalid, "name"},
		{"hall no hours", func() error { _, e := f.svc.CreateHall(f.ctx, Hall{ID: "h9", Name: "x"}); return e }, ErrInvalid, "opening_hours"},
		{"hall close before open", func() error {
			_, e := f.svc.CreateHall(f.ctx, Hall{ID: "h9", Name: "x", OpeningHours: []OpeningHours{{Weekday: 1, Open: "17:00", Close: "09:00"}}})
			return e
		}, ErrInvalid, "opening_hours[0]"},
		{"hall weekday 7", func() error {
			_, e := f.svc.CreateHall(f.ctx, Hall{ID: "h9", Name: "x", OpeningHours: []OpeningHours{{Weekday: 7, Open: "09:00", Close: "10:00"}}})
			return e
		}, ErrInvalid, "opening_hours[0].weekday"},
		{"hall bad rule", func() error {
			_, e := f.svc.CreateHall(f.ctx, Hall{ID: "h9", Name: "x", OpeningHours: hours, Rules: HallRules{MinRealnameLevel: 9}})
			return e
		}, ErrInvalid, "rules.min_realname_level"},
		{"hall exists", func() error {
			_, e := f.svc.CreateHall(f.ctx, Hall{ID: "h1", Name: "x", OpeningHours: hours})
			return e
		}, ErrAlreadyExists, ""},
		{"update unknown hall", func() error {
			_, e := f.svc.UpdateHall(f.ctx, Hall{ID: "h9", Name: "x", OpeningHours: hours})
			return e
		}, ErrNotFound, ""},
		{"department unknown hall", func() error {
			_, e := f.svc.CreateDepartment(f.ctx, Department{ID: "d9", HallID: "h9", Name: "x", QueuePrefix: "A"})
			return e
		}, ErrInvalid, "hall_id"},
		{"department bad prefix", func() error {
			_, e := f.svc.CreateDepartment(f.ctx, Department{ID: "d9", HallID: "h1", Name: "x", QueuePrefix: "AB"})
			return e
		}, ErrInvalid, "queue_prefix"},
		{"service bad type", func() error {
			_, e := f.svc.CreateService(f.ctx, ServiceItem{ID: "s9", HallID: "h1", DepartmentID: "d1", Code: "c", Name: "x", Type: "行政"})
			return e
		}, ErrInvalid, "type"},
		{"service department of another hall", func() error {
			_, e := f.svc.CreateService(f.ctx, ServiceItem{ID: "s9", HallID: "h1", DepartmentID: "d3", Code: "c", Name: "x", Type: CategoryLicensing})
			return e
		}, ErrInvalid, "department_id"},
		{"service negative fee", func() error {
			_, e := f.svc.CreateService(f.ctx, ServiceItem{ID: "s9", HallID: "h1", DepartmentID: "d1", Code: "c", Name: "x", Type: CategoryLicensing, Guide: Guide{FeeFen: -1}})
			return e
		}, ErrInvalid, "guide.fee_fen"},
		{"schedule zero capacity", func() error {
			_, e := f.svc.CreateSchedule(f.ctx, Schedule{ID: "sc9", HallID: "h1", DepartmentID: "d1", SlotMinutes: 30})
			return e
		}, ErrInvalid, "capacity"},
		{"schedule foreign service", func() error {
			_, e := f.svc.CreateSchedule(f.ctx, Schedule{ID: "sc9", HallID: "h1", DepartmentID: "d1", SlotMinutes: 30, Capacity: 1, ServiceIDs: []string{"s3"}})
			return e
		}, ErrInvalid, "service_ids[0]"},
		{"schedule dates reversed", func() error {
			_, e := f.svc.CreateSchedule(f.ctx, Schedule{ID: "sc9", HallID: "h1", DepartmentID: "d1", SlotMinutes: 30, Capacity: 1, ValidFrom: "2026-03-10", ValidTo: "2026-03-01"})
			return e
		}, ErrInvalid, "valid_to"},
		{"update unknown schedule", func() error {
			_, e := f.svc.UpdateSchedule(f.ctx, Schedule{ID: "sc9", HallID: "h1", DepartmentID: "d1", SlotMinutes: 30, Capacity: 1})
			return e
		}, ErrNotFound, ""},
		{"closure without hall", func() error {
			_, e := f.svc.PutCalendarDay(f.ctx, CalendarDay{Date: "2026-03-10", Kind: DayClosure})
			return e
		}, ErrInvalid, "hall_id"},
		{"calendar bad date", func() error {
			_, e := f.svc.PutCalendarDay(f.ctx, CalendarDay{Date: "2026-13-01", Kind: DayHoliday})
			return e
		}, ErrInvalid, "date"},
		{"calendar bad kind", func() error {
			_, e := f.svc.PutCalendarDay(f.ctx, CalendarDay{Date: "2026-03-10", Kind: "party"})
			return e
		}, ErrInvalid, "kind"},
		{"delete unknown calendar day", func() error { return f.svc.DeleteCalendarDay(f.ctx, "", "2026-03-10") }, ErrNotFound, ""},
		{"delete unknown schedule", func() error { return f.svc.DeleteSchedule(f.ctx, "sc9") }, ErrNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.state()
			err := c.do()
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			ve, _ := platform.AsError(err)
			if c.field != "" && (ve == nil || ve.Field != c.field) {
				t.Fatalf("field: got %v, want %s", err, c.field)
			}
			f.sameState(before)
		})
	}
}

func TestAdminChangesApplyAtOnce(t *testing.T) {
	f := newFixture(t)
	other := f.another()
	if halls, err := other.ListHalls(f.ctx); err != nil || len(halls) != 2 {
		t.Fatalf("other process: %d halls %v", len(halls), err)
	}
	// capacity raised while full: a new seat at once
	const slot = "sc2.20260310.0900"
	f.mustBook(citizen(1), slot, "s3")
	f.mustBook(citizen(2), slot, "s3")
	sc, err := f.svc.UpdateSchedule(f.ctx, Schedule{ID: "sc2", HallID: "h1", DepartmentID: "d2", SlotMinutes: 60, Capacity: 3})
	if err != nil || sc.Capacity != 3 {
		t.Fatal(err)
	}
	f.mustBook(citizen(3), slot, "s3")
	if _, err := f.book(citizen(4), slot, "s3"); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("fourth: %v", err)
	}
	// the other process sees the change within a second (forced here)
	if _, err := f.svc.CreateHall(f.ctx, Hall{ID: "h3", Name: "三号大厅", OpeningHours: []OpeningHours{{Weekday: 1, Open: "09:00", Close: "12:00"}}}); err != nil {
		t.Fatal(err)
	}
	other.cat.checkedAt.Store(0)
	if halls, _ := other.ListHalls(f.ctx); len(halls) != 3 {
		t.Fatalf("other process sees %d halls", len(halls))
	}
	h, err := f.svc.GetHall(f.ctx, "h3")
	if err != nil || h.Rules != (HallRules{WindowDays: 7, CancelBeforeMinutes: 120, NoShowAfterMinutes: 30, MinRealnameLevel: 3}) {
		t.Fatalf("defaults %+v %v", h.Rules, err)
	}
	// a hall may ask for face verification (level 4)
	hh, _ := f.svc.GetHall(f.ctx, "h1")
	hh.Rules.MinRealnameLevel = 4
	if _, err := f.svc.UpdateHall(f.ctx, hh); err != nil {
		t.Fatal(err)
	}
	if _, err := f.book(citizen(5), "sc1.20260310.0900", "s1"); !errors.Is(err, ErrRealnameRequired) {
		t.Fatalf("level 3 at a level-4 hall: %v", err)
	}
	if _, err := f.book(Citizen{ID: "u0005", RealnameLevel: 4}, "sc1.20260310.0900", "s1"); err != nil {
		t.Fatal(err)
	}
	// a deleted schedule offers no slots
	if err := f.svc.DeleteSchedule(f.ctx, "sc3"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.book(citizen(6), "sc3.20260310.0900", "s4"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted schedule: %v", err)
	}
}

func TestCatalogReads(t *testing.T) {
	f := newFixture(t)
	depts, err := f.svc.ListDepartments(f.ctx, "h1")
	if err != nil || len(depts) != 2 || depts[0].ID != "d1" {
		t.Fatalf("departments %+v %v", depts, err)
	}
	if _, err := f.svc.ListDepartments(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	all, _ := f.svc.ListServices(f.ctx, "h1", "", "")
	d1, _ := f.svc.ListServices(f.ctx, "h1", "d1", "")
	q, _ := f.svc.ListServices(f.ctx, "h1", "", "code-S3")
	if len(all) != 3 || len(d1) != 2 || len(q) != 1 || q[0].ID != "s3" {
		t.Fatalf("services all %d d1 %d q %d", len(all), len(d1), len(q))
	}
	if _, err := f.svc.ListServices(f.ctx, "h1", "d3", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("department of another hall: %v", err)
	}
	if _, err := f.svc.ListServices(f.ctx, "h1", "", strings.Repeat("长", 51)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long q: %v", err)
	}
	v, err := f.svc.GetService(f.ctx, "s4")
	if err != nil || v.HallID != "h2" || v.Guide.Materials == nil {
		t.Fatalf("service %+v %v", v, err)
	}
	if _, err := f.svc.GetService(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	sc, _ := f.svc.ListSchedules(f.ctx, "h1")
	if len(sc) != 2 {
		t.Fatalf("schedules %d", len(sc))
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	f := newFixture(t)
	in, err := ParseImport(strings.NewReader(`{
	  "halls":[{"id":"h7","name":"七号大厅","opening_hours":[{"weekday":2,"open":"09:00","close":"11:00"}]}],
	  "departments":[{"id":"d7","hall_id":"h7","name":"七号窗口","queue_prefix":"g"}],
	  "services":[{"id":"s7","hall_id":"h7","department_id":"d7","code":"C7","name":"七号事项","type":"公共服务"},
	              {"id":"s8","hall_id":"h7","department_id":"d7","code":"C8","name":"八号事项","type":"不存在"}],
	  "schedules":[{"id":"sc7","hall_id":"h7","department_id":"d7","slot_minutes":60,"capacity":4}],
	  "calendar":[{"hall_id":"h7","date":"2026-03-17","kind":"closure","name":"检修"}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	before := f.state()
	_, err = f.svc.Import(f.ctx, in)
	if ve, ok := platform.AsError(err); !ok || ve.Field != "services[1].type" {
		t.Fatalf("got %v", err)
	}
	f.sameState(before)
	in.Services[1].Type = CategoryReward
	res, err := f.svc.Import(f.ctx, in)
	if err != nil || res != (ImportResult{Halls: 1, Departments: 1, Services: 2, Schedules: 1, Calendar: 1}) {
		t.Fatalf("import %+v %v", res, err)
	}
	after := f.state()
	if _, err := f.svc.Import(f.ctx, in); err != nil {
		t.Fatal(err)
	}
	f.sameState(after) // idempotent
	d, _ := f.svc.ListDepartments(f.ctx, "h7")
	if len(d) != 1 || d[0].QueuePrefix != "G" {
		t.Fatalf("departments %+v", d)
	}
	if win, _ := f.svc.BookingWindow(f.ctx, "h7"); len(win) != 7 || slices.Contains(win, "2026-03-17") || win[0] != "2026-03-10" {
		t.Fatalf("window %v", win)
	}
	f.mustBook(citizen(1), "sc7.20260310.0900", "s8")
	for _, bad := range []string{`{"halls":[],"bogus":1}`, `{"halls":[{"id":"h8"}]} {}`, `[]`, `{}`,
		`{"departments":[{"id":"d8","hall_id":"h8","name":"x","queue_prefix":"A"}]}`,
		`{"halls":[{"id":"h8","name":"x","opening_hours":[{"weekday":1,"open":"09:00","close":"10:00"}]},{"id":"h8","name":"y","opening_hours":[{"weekday":1,"open":"09:00","close":"10:00"}]}]}`} {
		before := f.state()
		in, err := ParseImport(strings.NewReader(bad))
		if err == nil {
			_, err = f.svc.Import(f.ctx, in)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: %v", bad, err)
		}
		f.sameState(before)
	}
}

func TestSeedDemoIsIdempotentUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Date(2026, 11, 23, 9, 0, 0, 0, platform.Shanghai())) // a Monday
	var svcs []*Service
	for range 3 {
		s, err := NewService(Deps{DB: db, Redis: rdb, RedisPrefix: prefix, Clock: clock, CheckinKey: []byte("0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, s)
	}
	var wg sync.WaitGroup
	for _, s := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.SeedDemo(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := svcs[0].SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	s := svcs[0]
	counts := map[string]int64{}
	for _, c := range []string{"appt_halls", "appt_departments", "appt_services", "appt_schedules"} {
		counts[c], _ = db.Collection(c).CountDocuments(ctx, map[string]any{})
	}
	if counts["appt_halls"] != 2 || counts["appt_departments"] < 3 || counts["appt_services"] < 8 || counts["appt_schedules"] != 6 {
		t.Fatalf("counts %v", counts)
	}
	halls, _ := s.ListHalls(ctx)
	types := map[string]bool{}
	for _, h := range halls {
		svcs, _ := s.ListServices(ctx, h.ID, "", "")
		for _, v := range svcs {
			types[v.Type] = true
			if len(v.Guide.Materials) == 0 || len(v.Guide.Steps) == 0 {
				t.Fatalf("service %s has no guide", v.ID)
			}
		}
	}
	if len(types) != 11 {
		t.Fatalf("%d categories covered", len(types))
	}
	cat, _ := s.cat.get(ctx)
	for _, h := range halls {
		working, d := 0, dateOf(clock.Now())
		for range 30 {
			d = addDays(d, 1)
			if !cat.plan(cat.halls[h.ID], d, true).working {
				continue
			}
			working++
			if working > 10 {
				break
			}
			for _, sc := range cat.schedules {
				if sc.HallID == h.ID && len(cat.scheduleSlots(sc, d, true)) == 0 {
					t.Fatalf("%s has no slots on working day %s", sc.ID, d)
				}
			}
		}
		if working < 10 {
			t.Fatalf("%s: %d working days", h.ID, working)
		}
	}
	win, _ := s.BookingWindow(ctx, DemoHallTianhe)
	if want := []string{"2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-30", "2026-12-01"}; !slices.Equal(win, want) {
		t.Fatalf("Tianhe window %v", win)
	}
	ds, err := s.DaySlots(ctx, DemoHallTianhe, "svc-sbk-shenling", "2026-11-24")
	if err != nil || len(ds.Slots) != 14 || ds.Slots[0].Remaining != 6 {
		t.Fatalf("demo slots %d %v", len(ds.Slots), err)
	}
	a, err := s.Book(ctx, Citizen{ID: "demo-user", RealnameLevel: 3}, BookRequest{SlotID: ds.Slots[0].ID, ServiceID: "svc-sbk-shenling"}, "")
	if err != nil || a.HallName != "广州市天河区政务服务中心" {
		t.Fatalf("demo booking %+v %v", a, err)
	}
}

// BenchmarkBookingFlashCrowd: 2,000 citizens at once for a slot of 100 seats.
//
//	go test -run XXX -bench FlashCrowd ./appointments/
//	BANSHI_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run XXX -bench FlashCrowd ./appointments/
func BenchmarkBookingFlashCrowd(b *testing.B) {
	f := newFixture(b)
	var p50, p99 time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		id := fmt.Sprintf("bench-%d", i)
		if _, err := f.svc.CreateSchedule(f.ctx, Schedule{ID: id, HallID: "h2", DepartmentID: "d3", SlotMinutes: 30, Capacity: 100, ServiceIDs: []string{"s4"}}); err != nil {
			b.Fatal(err)
		}
		users := make([]Citizen, 2000)
		for j := range users {
			users[j] = Citizen{ID: fmt.Sprintf("%s-%04d", id, j), RealnameLevel: 3}
		}
		b.StartTimer()
		res := FlashCrowd(f.ctx, f.svc, id+".20260310.0900", "s4", users)
		if res.Booked != 100 || res.Full != 1900 {
			b.Fatalf("booked %d full %d other %v", res.Booked, res.Full, res.Errors)
		}
		p50, p99 = res.Percentile(50), res.Percentile(99)
	}
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}
