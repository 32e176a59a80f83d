package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// citizenName is what the fake desk shows of a citizen: it must never reach
// a client whose request could not be audited.
const citizenName = "王小明"

// fakeDesk answers the staff routes the audit tests use; the rest of
// HallDesk is not called.
type fakeDesk struct {
	HallDesk
	onComplete func(ctx context.Context) // runs inside Complete
}

func (fakeDesk) ListForStaff(ctx context.Context, _ appointments.StaffActor, q appointments.StaffListQuery) (appointments.StaffPage, error) {
	return appointments.StaffPage{HallID: q.HallID, Items: []appointments.StaffAppointment{{ID: "ap1", Name: citizenName}}}, nil
}

func (fakeDesk) WriteStaffCSV(_ context.Context, w io.Writer, _ appointments.StaffActor, _ appointments.StaffListQuery) error {
	_, err := io.WriteString(w, "姓名\r\n"+citizenName+"\r\n")
	return err
}

func (d fakeDesk) Complete(ctx context.Context, _ appointments.StaffActor, id string) (appointments.StaffAppointment, error) {
	if id == "ap-panic" {
		panic("boom")
	}
	if d.onComplete != nil {
		d.onComplete(ctx)
	}
	return appointments.StaffAppointment{ID: id, Status: "completed", Name: citizenName}, nil
}

// breakableAudit is the real staff service whose audit writes can be made
// to fail (a full disk, a stalled MongoDB).
type breakableAudit struct {
	*staff.Service
	broken atomic.Bool
}

func (b *breakableAudit) Audit(ctx context.Context, e staff.Entry) error {
	if b.broken.Load() {
		return errors.New("audit: write failed: no space left on device")
	}
	return b.Service.Audit(ctx, e)
}

type auditFixture struct {
	svc   *staff.Service
	auth  *breakableAudit
	srv   *Server
	token string
}

func newAuditFixture(t *testing.T, desk fakeDesk) *auditFixture {
	t.Helper()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	svc, err := staff.NewService(staff.Deps{DB: db, Redis: rdb, RedisPrefix: prefix, Clock: platform.SystemClock{},
		Log: platformtest.Logger(), SessionSecret: []byte("session-secret-0123456789"), BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SeedDemo(context.Background(), "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Login(context.Background(), staff.DemoAdmin, staff.DemoPassword, "203.0.113.1")
	if err != nil {
		t.Fatal(err)
	}
	auth := &breakableAudit{Service: svc}
	srv := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakePinger{}, RedisPing: fakePinger{},
		Features: []Feature{StaffRoutes{Auth: auth, Desk: desk}}})
	return &auditFixture{svc: svc, auth: auth, srv: srv, token: sess.Token}
}

func (f *auditFixture) do(t *testing.T, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	r.Header.Set("Authorization", "Bearer "+f.token)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, r)
	return rec
}

func (f *auditFixture) entries(t *testing.T, action string) []staff.Entry {
	t.Helper()
	list, err := f.svc.ListAudit(context.Background(), staff.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestPIIIsNeverServedUnaudited: a staff answer that shows citizens' names
// (the day list, its CSV export, a completion) is sent only once its audit
// record is written; when the record cannot be written the answer is 503
// audit_unavailable with Retry-After and carries no name. Answers without
// citizens' data are served either way.
func TestPIIIsNeverServedUnaudited(t *testing.T) {
	f := newAuditFixture(t, fakeDesk{})
	list := "/api/v1/staff/halls/hall-tianhe/appointments?date=2026-03-09"
	for _, path := range []string{list, list + "&format=csv"} {
		rec := f.do(t, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), citizenName) {
			t.Fatalf("%s with a working audit log: %d %s", path, rec.Code, rec.Body)
		}
	}
	if n := len(f.entries(t, "appointments.list")); n != 2 {
		t.Fatalf("%d list entries, want 2", n)
	}

	f.auth.broken.Store(true)
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", list, nil),
		httptest.NewRequest("GET", list+"&format=csv", nil),
		httptest.NewRequest("POST", "/api/v1/staff/appointments/ap1/complete", nil),
	} {
		rec := f.do(t, r)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"audit_unavailable"`) || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s with a failing audit log: %d %s", r.Method, r.URL, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), citizenName) || rec.Header().Get("Content-Disposition") != "" {
			t.Errorf("%s %s served citizens' data unaudited: %v %s", r.Method, r.URL, rec.Header(), rec.Body)
		}
	}
	if rec := f.do(t, httptest.NewRequest("GET", "/api/v1/staff/audit", nil)); rec.Code != 200 {
		t.Errorf("the audit list (no citizen data) with a failing audit log: %d %s", rec.Code, rec.Body)
	}
}

// TestAuditOutlivesTheRequest: a client that disconnects after its action
// committed (the request's context is cancelled) still leaves the audit
// record.
func TestAuditOutlivesTheRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newAuditFixture(t, fakeDesk{onComplete: func(context.Context) { cancel() }})
	f.do(t, httptest.NewRequest("POST", "/api/v1/staff/appointments/ap-gone/complete", nil).WithContext(ctx))
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := f.entries(t, "appointments.complete")
		if len(got) == 1 && got[0].Target == "ap-gone" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit record of the completion after the client went away: %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStaffRateLimit: each staff account has its own per-minute budget of
// staff calls; past it, 429 rate_limited with Retry-After.
func TestStaffRateLimit(t *testing.T) {
	f := newAuditFixture(t, fakeDesk{})
	deps := f.srv.deps
	deps.Limits.StaffPerUser = 3
	f.srv = New(deps)
	var rec *httptest.ResponseRecorder
	for range 4 {
		rec = f.do(t, httptest.NewRequest("GET", "/api/v1/staff/audit", nil))
	}
	if rec.Code != 429 || !strings.Contains(rec.Body.String(), `"rate_limited"`) || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("4th staff call: %d %s", rec.Code, rec.Body)
	}
}

// TestHeldAnswerPanics: a handler that panics while its answer is held
// still answers the 500 error body.
func TestHeldAnswerPanics(t *testing.T) {
	f := newAuditFixture(t, fakeDesk{})
	rec := f.do(t, httptest.NewRequest("POST", "/api/v1/staff/appointments/ap-panic/complete", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"internal"`) {
		t.Fatalf("panicking held handler: %d %q", rec.Code, rec.Body)
	}
}

// TestStaffAuditFilters: the audit list filters by target, hall and
// outcome as well as actor and action.
func TestStaffAuditFilters(t *testing.T) {
	f := newAuditFixture(t, fakeDesk{})
	ctx := context.Background()
	for _, e := range []staff.Entry{
		{Actor: staff.DemoStaff, Action: "appointments.checkin", Target: "ap-1", HallID: "hall-tianhe", IP: "-", Outcome: "ok"},
		{Actor: staff.DemoStaff, Action: "appointments.checkin", Target: "ap-2", HallID: "hall-yuexiu", IP: "-", Outcome: "wrong_hall"},
		{Actor: staff.DemoStaff, Action: "appointments.complete", Target: "ap-1", HallID: "hall-tianhe", IP: "-", Outcome: "ok"},
	} {
		if err := f.svc.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"target=ap-1": 2, "hall_id=hall-yuexiu": 1, "outcome=wrong_hall": 1,
		"target=ap-1&action=appointments.complete": 1, "target=ap-9": 0} {
		rec := f.do(t, httptest.NewRequest("GET", "/api/v1/staff/audit?"+q, nil))
		var body struct{ Entries []staff.Entry }
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
		n := 0
		for _, e := range body.Entries {
			if e.Action != "audit.list" {
				n++
			}
		}
		if n != want {
			t.Errorf("%s: %d entries, want %d", q, n, want)
		}
	}
}
