package evaluations

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/notify"
)

// subjects is a fake Subjects: applications and appointments in memory.
type subjects struct {
	mu    sync.Mutex
	apps  map[string]Subject // by key
	appts map[string]Subject // by id
}

func (f *subjects) Applications(_ context.Context, no, source string) ([]Subject, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Subject
	for _, s := range f.apps {
		if s.Ref == no && (source == "" || s.Source == source) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Subject) int { return b.SweepAt.Compare(a.SweepAt) })
	return out, nil
}

func (f *subjects) Appointment(_ context.Context, id string) (Subject, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.appts[id]
	return s, ok, nil
}

func (f *subjects) Finished(_ context.Context, kind string, afterAt time.Time, afterKey string, before time.Time, limit int) ([]Subject, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	src := f.apps
	if kind == KindAppointment {
		src = f.appts
	}
	var out []Subject
	for _, s := range src {
		after := s.SweepAt.After(afterAt) || (s.SweepAt.Equal(afterAt) && s.Key > afterKey)
		if s.Finished && after && !s.SweepAt.After(before) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Subject) int {
		if c := a.SweepAt.Compare(b.SweepAt); c != 0 {
			return c
		}
		if a.Key < b.Key {
			return -1
		}
		return 1
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *subjects) putApp(s Subject) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[s.Key] = s
}

func (f *subjects) putAppt(s Subject) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appts[s.Key] = s
}

// people is a fake Identities and Acting.
type people struct {
	index map[string]string          // user -> proven blind index
	acts  map[string]map[string]bool // user -> USCCs
}

func (p people) ProvenIndex(_ context.Context, uid string) (string, error) { return p.index[uid], nil }

func (p people) ActsFor(_ context.Context, uid, uscc string) (bool, error) {
	return p.acts[uid][uscc], nil
}

// weekdays is a Calendar of Monday to Friday, with the given holidays.
type weekdays struct{ holidays map[string]bool }

func (w weekdays) AddWorkingDays(_ context.Context, from time.Time, n int) (time.Time, error) {
	d := from.In(platform.Shanghai())
	d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, platform.Shanghai())
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && !w.holidays[d.Format("2006-01-02")] {
			n--
		}
	}
	return d.AddDate(0, 0, 1).UTC(), nil
}

const (
	userZhang = "u-zhang"
	userLi    = "u-li"
	userWang  = "u-wang" // acts for the enterprise
	idxZhang  = "idx-zhang"
	idxLi     = "idx-li"
	usccDemo  = "91440101MA5CXXXX7X"
)

// notifier records the messages published, and can be made to fail.
type notifier struct {
	mu   sync.Mutex
	msgs map[string]notify.Message
	fail error
}

func (n *notifier) Notify(_ context.Context, m notify.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.msgs[m.ID] = m
	return nil
}

func (n *notifier) setFail(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail = err
}

func (n *notifier) sent() map[string]notify.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.msgs)
}

type fixture struct {
	notes *notifier
	t     *testing.T
	ctx   context.Context
	clock *platform.ManualClock
	db    *mongo.Database
	svc   *Service
	subs  *subjects
}

// start is Monday 16 March 2026, 14:00 in Guangzhou.
var start = time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(start)
	f := &fixture{t: t, ctx: context.Background(), clock: clock, db: db, notes: &notifier{msgs: map[string]notify.Message{}},
		subs: &subjects{apps: map[string]Subject{}, appts: map[string]Subject{}}}
	p := people{index: map[string]string{userZhang: idxZhang, userLi: idxLi},
		acts: map[string]map[string]bool{userWang: {usccDemo: true}}}
	svc, err := NewService(Deps{DB: db, Clock: clock, Log: platformtest.Logger(), Subjects: f.subs,
		Identities: p, Acting: p, Notifier: f.notes, Calendar: weekdays{holidays: map[string]bool{"2026-03-18": true}}}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	// Zhang's approved application, Wang's enterprise's, Li's unfinished
	// one, and Zhang's completed visit and booked one.
	f.subs.putApp(f.app("A1", idxZhang, "", true, "ev-1"))
	f.subs.putApp(f.app("E1", "", usccDemo, true, "ev-e1"))
	f.subs.putApp(f.app("L1", idxLi, "", false, "ev-l1"))
	f.subs.putAppt(f.appt("appt-done", userZhang, true))
	f.subs.putAppt(f.appt("appt-booked", userZhang, false))
	return f
}

func (f *fixture) app(no, idx, uscc string, finished bool, result string) Subject {
	now := f.clock.Now()
	return Subject{Kind: KindApplication, Key: "dept-a|" + no, Ref: no, Source: "dept-a", Finished: finished,
		ResultID: result, ResultAt: now, ServiceCode: "11440100MB2C123456", Department: "dept-a",
		IDIndex: idx, USCC: uscc, SweepAt: now}
}

func (f *fixture) appt(id, user string, completed bool) Subject {
	now := f.clock.Now()
	s := Subject{Kind: KindAppointment, Key: id, Ref: id, Finished: completed, ServiceCode: "11440100MB2C654321",
		Department: "dept-hz", DeptName: "户政", HallID: "hall-tianhe", UserID: user, SweepAt: now}
	if completed {
		s.ResultID, s.ResultAt, s.StaffID = "completed", now, "staff01"
	}
	return s
}

func (f *fixture) count(coll string) int64 {
	f.t.Helper()
	n, err := f.db.Collection(coll).CountDocuments(f.ctx, bson.M{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) evalDoc(id string) evalDoc {
	f.t.Helper()
	d, err := f.svc.find(f.ctx, id)
	if err != nil || d == nil {
		f.t.Fatalf("evaluation %s: %v %v", id, d, err)
	}
	return *d
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := platform.CodeOf(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }

var (
	admin     = Actor{ID: "admin", Role: platform.RoleAdmin}
	hallStaff = Actor{ID: "staff01", Role: platform.RoleHallStaff, HallIDs: []string{"hall-tianhe"}}
	otherHall = Actor{ID: "staff02", Role: platform.RoleHallStaff, HallIDs: []string{"hall-yuexiu"}}
)
