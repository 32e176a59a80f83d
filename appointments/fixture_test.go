package appointments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/notify"
)

// fakePeople is the PeopleDirectory of tests: names are derived from IDs.
type fakePeople struct {
	mu    sync.Mutex
	names map[string]string
}

var _ PeopleDirectory = (*fakePeople)(nil)

func (f *fakePeople) Person(_ context.Context, userID string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.names[userID]; ok {
		return n, "4401**********1234", nil
	}
	if userID == "ghost" {
		return "", "", errors.New("no such person")
	}
	return "市民" + userID, "4401**********0000", nil
}

// t0 is Monday 2026-03-09 10:00 in Shanghai.
var t0 = time.Date(2026, 3, 9, 10, 0, 0, 0, platform.Shanghai())

type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *mongo.Database
	client func() *mongo.Client // another process's connection to db's server
	rdb    redis.UniversalClient
	prefix string
	clock  *platform.ManualClock
	inbox  *notify.Inbox
	people *fakePeople
	svc    *Service
}

type fixtureOpt func(*fixture, *Deps)

func withRedis(rdb redis.UniversalClient) fixtureOpt {
	return func(f *fixture, d *Deps) { f.rdb = rdb; d.Redis = rdb }
}

// withFaultDB puts the fixture on a database of the fault-injection MongoDB
// reached through fn (see faultnet_test.go); f.another() connects to the
// same server without faults.
func withFaultDB(fn *faultNet) fixtureOpt {
	return func(f *fixture, d *Deps) {
		f.db = faultDB(f.t, fn, nil)
		f.client = func() *mongo.Client { return faultClient(f.t, nil, nil) }
		f.inbox = notify.NewInbox(f.db, f.clock)
		d.DB, d.Notifier = f.db, f.inbox
	}
}

// withSharedFaultDB is withFaultDB where f.another() shares the fixture's
// client and so its one connection and its faults: the embedded engine's
// conditional updates are atomic on one connection only (DESIGN.md).
func withSharedFaultDB(fn *faultNet) fixtureOpt {
	return func(f *fixture, d *Deps) {
		f.db = faultDB(f.t, fn, nil)
		f.client = f.db.Client
		f.inbox = notify.NewInbox(f.db, f.clock)
		d.DB, d.Notifier = f.db, f.inbox
	}
}

func newFixture(t testing.TB, opts ...fixtureOpt) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, ctx: ctx, db: platformtest.Mongo(t), clock: platform.NewManualClock(t0), people: &fakePeople{names: map[string]string{}}}
	f.rdb, f.prefix = platformtest.Redis(t)
	f.inbox = notify.NewInbox(f.db, f.clock)
	d := Deps{DB: f.db, Redis: f.rdb, RedisPrefix: f.prefix, Clock: f.clock, Log: platformtest.Logger(),
		Notifier: f.inbox, People: f.people, CheckinKey: []byte("test-checkin-key-0123456789")}
	for _, o := range opts {
		o(f, &d)
	}
	svc, err := NewService(d)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	if err := svc.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Import(ctx, testCatalog()); err != nil {
		t.Fatal(err)
	}
	return f
}

// another returns a second Service ("another process") on the same stores.
func (f *fixture) another() *Service {
	f.t.Helper()
	client := platformtest.MongoClient(f.t)
	if f.client != nil {
		client = f.client()
	}
	db := client.Database(f.db.Name())
	svc, err := NewService(Deps{DB: db, Redis: f.rdb, RedisPrefix: f.prefix, Clock: f.clock,
		Log: platformtest.Logger(), Notifier: notify.NewInbox(db, f.clock), People: f.people,
		CheckinKey: []byte("test-checkin-key-0123456789")})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// testCatalog: hall h1 (Mon-Fri 09:00-17:00, lunch 12:00-13:30) with
// departments d1 (services s1, s2; schedule sc1: 60 min, 20 seats) and d2
// (s3; sc2: 60 min, 2 seats); hall h2 with d3 (s4; sc3: 30 min, 5 seats).
func testCatalog() CatalogImport {
	var hours []OpeningHours
	for d := 1; d <= 5; d++ {
		hours = append(hours, OpeningHours{Weekday: d, Open: "09:00", Close: "17:00"})
	}
	svc := func(id, hall, dept string) ServiceItem {
		return ServiceItem{ID: id, HallID: hall, DepartmentID: dept, Code: "CODE-" + id, Name: "事项" + id, Type: CategoryPublicServices}
	}
	return CatalogImport{
		Halls: []Hall{
			{ID: "h1", Name: "一号大厅", OpeningHours: hours, LunchBreak: &TimeRange{Start: "12:00", End: "13:30"}},
			{ID: "h2", Name: "二号大厅", OpeningHours: hours},
		},
		Departments: []Department{
			{ID: "d1", HallID: "h1", Name: "部门一", QueuePrefix: "A"},
			{ID: "d2", HallID: "h1", Name: "部门二", QueuePrefix: "B"},
			{ID: "d3", HallID: "h2", Name: "部门三", QueuePrefix: "A"},
		},
		Services: []ServiceItem{svc("s1", "h1", "d1"), svc("s2", "h1", "d1"), svc("s3", "h1", "d2"), svc("s4", "h2", "d3")},
		Schedules: []Schedule{
			{ID: "sc1", HallID: "h1", DepartmentID: "d1", SlotMinutes: 60, Capacity: 20},
			{ID: "sc2", HallID: "h1", DepartmentID: "d2", SlotMinutes: 60, Capacity: 2},
			{ID: "sc3", HallID: "h2", DepartmentID: "d3", SlotMinutes: 30, Capacity: 5},
		},
	}
}

func citizen(i int) Citizen { return Citizen{ID: fmt.Sprintf("u%04d", i), RealnameLevel: 3} }

func citizens(n int) []Citizen {
	out := make([]Citizen, n)
	for i := range out {
		out[i] = citizen(i)
	}
	return out
}

func (f *fixture) book(who Citizen, slot, service string) (Appointment, error) {
	return f.svc.Book(f.ctx, who, BookRequest{SlotID: slot, ServiceID: service}, "")
}

func (f *fixture) mustBook(who Citizen, slot, service string) Appointment {
	f.t.Helper()
	a, err := f.book(who, slot, service)
	if err != nil {
		f.t.Fatalf("book %s %s for %s: %v", slot, service, who.ID, err)
	}
	return a
}

func (f *fixture) count(coll string, filter bson.M) int {
	f.t.Helper()
	if filter == nil {
		filter = bson.M{}
	}
	n, err := f.db.Collection(coll).CountDocuments(f.ctx, filter)
	if err != nil {
		f.t.Fatal(err)
	}
	return int(n)
}

// state counts every collection a booking touches, to prove a rejected
// request changed nothing.
func (f *fixture) state() map[string]int {
	m := map[string]int{}
	for _, c := range []string{"appointments", "appt_seats", "appt_daylocks", "appt_userslots", "appt_codes",
		"appt_idem", "appt_queue", "appt_penalties", "appt_noshows", "inbox",
		"appt_halls", "appt_departments", "appt_services", "appt_schedules", "appt_calendar"} {
		m[c] = f.count(c, nil)
	}
	return m
}

func (f *fixture) sameState(before map[string]int) {
	f.t.Helper()
	after := f.state()
	for k, v := range before {
		if after[k] != v {
			f.t.Errorf("%s: %d documents before, %d after", k, v, after[k])
		}
	}
}

// booked counts the booked appointments and seat documents of a slot.
func (f *fixture) booked(slot string) (appts, seats int) {
	return f.count("appointments", bson.M{"slot_id": slot, "status": StatusBooked}),
		f.count("appt_seats", bson.M{"slot_id": slot})
}

func (f *fixture) remainingOf(slot, hall, service, date string) int {
	f.t.Helper()
	ds, err := f.svc.DaySlots(f.ctx, hall, service, date)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range ds.Slots {
		if s.ID == slot {
			return s.Remaining
		}
	}
	f.t.Fatalf("slot %s not listed", slot)
	return 0
}
