package console

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/appointments"
	"banshi/internal/staff"
)

// fakeAuth knows one session token per account.
type fakeAuth struct {
	mu       sync.Mutex
	sessions map[string]staff.Account
	logins   int
	logouts  int
	authn    int
	checks   int
	entries  []staff.Entry
}

var _ Auth = (*fakeAuth)(nil)

func (f *fakeAuth) Login(_ context.Context, username, password, _ string) (staff.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	for tok, a := range f.sessions {
		if a.Username == username && password == "pw" {
			return staff.Session{Token: tok, ExpiresAt: time.Now().Add(time.Hour), Account: a}, nil
		}
	}
	return staff.Session{}, staff.ErrBadCredentials
}

func (f *fakeAuth) Logout(_ context.Context, token, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logouts++
	delete(f.sessions, token)
	return nil
}

func (f *fakeAuth) Authenticate(_ context.Context, token string) (staff.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authn++
	a, ok := f.sessions[token]
	if !ok {
		return staff.Account{}, staff.ErrUnauthenticated
	}
	return a, nil
}

func (f *fakeAuth) Check(_ context.Context, token string) (staff.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	a, ok := f.sessions[token]
	if !ok {
		return staff.Account{}, staff.ErrUnauthenticated
	}
	return a, nil
}

func (f *fakeAuth) Audit(_ context.Context, e staff.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
	return nil
}

func (f *fakeAuth) audited() []staff.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]staff.Entry(nil), f.entries...)
}

// fakeDesk serves one appointment and counts calls.
type fakeDesk struct {
	mu         sync.Mutex
	calls      int
	checkinErr error
	callErr    error // of the counter's actions
}

var (
	_ Desk    = (*fakeDesk)(nil)
	_ Counter = (*fakeDesk)(nil)
)

// counterAction counts one action of the counter and answers it.
func (f *fakeDesk) counterAction() (appointments.StaffAppointment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.callErr != nil {
		return appointments.StaffAppointment{}, f.callErr
	}
	a := sample
	a.CallState, a.Window = "called", "3"
	return a, nil
}

func (f *fakeDesk) CallNext(context.Context, appointments.StaffActor, string, string, string) (appointments.StaffAppointment, error) {
	return f.counterAction()
}

func (f *fakeDesk) Recall(context.Context, appointments.StaffActor, string, string, string) (appointments.StaffAppointment, error) {
	return f.counterAction()
}

func (f *fakeDesk) Skip(context.Context, appointments.StaffActor, string, string) (appointments.StaffAppointment, error) {
	return f.counterAction()
}

func (f *fakeDesk) MarkNoShow(context.Context, appointments.StaffActor, string) (appointments.StaffAppointment, error) {
	return f.counterAction()
}

var sample = appointments.StaffAppointment{
	ID: "ap0123456789abcdef0123", Status: appointments.StatusCheckedIn, HallID: "h1", DepartmentName: "户籍科",
	ServiceName: "身份证换领", Date: "2026-11-23", Name: "张三", IDNumberMasked: "4401**********1234", QueueNumber: "A007",
	Slot: appointments.SlotTime{Start: time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC), End: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)},
}

func (f *fakeDesk) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeDesk) CheckIn(_ context.Context, _ appointments.StaffActor, _ string) (appointments.StaffAppointment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.checkinErr != nil {
		return appointments.StaffAppointment{}, f.checkinErr
	}
	return sample, nil
}

func (f *fakeDesk) ListForStaff(_ context.Context, _ appointments.StaffActor, q appointments.StaffListQuery) (appointments.StaffPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return appointments.StaffPage{HallID: q.HallID, Date: "2026-11-23", Page: 1, PageSize: 100, Total: 1,
		Items: []appointments.StaffAppointment{sample}}, nil
}

func (f *fakeDesk) WriteStaffCSV(_ context.Context, w io.Writer, _ appointments.StaffActor, _ appointments.StaffListQuery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	_, err := io.WriteString(w, "queue_number\nA007\n")
	return err
}

func (f *fakeDesk) Complete(_ context.Context, _ appointments.StaffActor, _ string) (appointments.StaffAppointment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	a := sample
	a.Status = appointments.StatusCompleted
	return a, nil
}

func (f *fakeDesk) ListDepartments(_ context.Context, hallID string) ([]appointments.Department, error) {
	if hallID != "h1" {
		return nil, appointments.ErrNotFound
	}
	return []appointments.Department{{ID: "d1", HallID: "h1", Name: "部门一"}, {ID: "d2", HallID: "h1", Name: "部门二"}}, nil
}

// fakeBoards has one hall, h1; tick makes WatchQueue's channel fire.
type fakeBoards struct {
	mu     sync.Mutex
	number string
	tick   chan struct{}
}

var _ QueueBoards = (*fakeBoards)(nil)

func (f *fakeBoards) QueueBoard(_ context.Context, hallID string) (QueueBoard, error) {
	if hallID != "h1" {
		return QueueBoard{}, appointments.ErrNotFound
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return QueueBoard{HallID: "h1", HallName: "天河大厅", Waiting: 3, UpdatedAt: time.Now(),
		Calls: []QueueCall{{QueueNumber: f.number, Window: "5", DepartmentName: "户籍科", CalledAt: time.Now()}}}, nil
}

func (f *fakeBoards) WatchQueue(ctx context.Context, hallID string) (<-chan struct{}, error) {
	if hallID != "h1" {
		return nil, appointments.ErrNotFound
	}
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-f.tick:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func (f *fakeBoards) set(n string) {
	f.mu.Lock()
	f.number = n
	f.mu.Unlock()
}

const (
	tokStaff   = "bss_staff"
	tokAdmin   = "bss_admin"
	tokFinance = "bss_finance"
)

type fixture struct {
	c      *Console
	h      http.Handler
	auth   *fakeAuth
	desk   *fakeDesk
	boards *fakeBoards
}

func newFixture(t *testing.T, dev bool) *fixture {
	t.Helper()
	f := &fixture{
		auth: &fakeAuth{sessions: map[string]staff.Account{
			tokStaff:   {Username: "lisi", DisplayName: "李四", Role: staff.RoleHallStaff, HallIDs: []string{"h1"}},
			tokAdmin:   {Username: "admin", DisplayName: "管理员", Role: staff.RoleAdmin},
			tokFinance: {Username: "cw", DisplayName: "财务", Role: staff.RoleFinance},
		}},
		desk:   &fakeDesk{},
		boards: &fakeBoards{number: "A001", tick: make(chan struct{})},
	}
	c, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Boards: f.boards, Counter: f.desk,
		Secret: []byte("0123456789abcdef0123456789abcdef"), Development: dev, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	f.h = c.Handler()
	return f
}

// do sends a request with the session cookie token (if any).
func (f *fixture) do(method, target, token string, form url.Values) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func TestConsoleLoginCookie(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dev    bool
		secure bool
	}{{"production", false, true}, {"development", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.dev)
			rec := f.do(http.MethodGet, "/console/login?next=/console/halls/h1/today", "", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("login page: %d", rec.Code)
			}
			var csrf *http.Cookie
			for _, ck := range rec.Result().Cookies() {
				if ck.Name == loginCSRFCookie {
					csrf = ck
				}
			}
			if csrf == nil || !strings.Contains(rec.Body.String(), `value="`+csrf.Value+`"`) {
				t.Fatal("login form without its double-submit token")
			}
			form := url.Values{"username": {"lisi"}, "password": {"pw"}, "csrf": {csrf.Value}, "next": {"/console/halls/h1/today"}}
			req := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(csrf)
			rec = httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/halls/h1/today" {
				t.Fatalf("login: %d %q", rec.Code, rec.Header().Get("Location"))
			}
			var sess *http.Cookie
			for _, ck := range rec.Result().Cookies() {
				if ck.Name == sessionCookie {
					sess = ck
				}
			}
			if sess == nil || sess.Value != tokStaff || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode ||
				sess.Path != "/console/" || sess.Secure != tc.secure {
				t.Fatalf("session cookie %+v", sess)
			}
		})
	}
}

func TestConsoleLoginBadCredentialsShowsMessage(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(http.MethodGet, "/console/login", "", nil)
	csrf := rec.Result().Cookies()[0]
	form := url.Values{"username": {"lisi"}, "password": {"wrong"}, "csrf": {csrf.Value}}
	req := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") || !strings.Contains(body, `value="lisi"`) {
		t.Fatalf("bad login: %d %s", rec.Code, body)
	}
}

func TestConsoleSecurityHeaders(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		target, token string
		status        int
	}{
		{"/console/login", "", http.StatusOK},
		{"/console/", tokStaff, http.StatusOK},
		{"/console/", tokFinance, http.StatusOK},
		{"/console/", tokAdmin, http.StatusOK},
		{"/console/halls/h1/today", tokStaff, http.StatusOK},
		{"/console/halls/h1/display", "", http.StatusOK},
		{"/console/halls/nope/display", "", http.StatusNotFound},
		{"/console/static/console.css", "", http.StatusOK},
	} {
		rec := f.do(http.MethodGet, tc.target, tc.token, nil)
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.target, rec.Code, tc.status)
		}
		h := rec.Header()
		if h.Get("Content-Security-Policy") != csp || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", tc.target, h)
		}
		if !strings.HasPrefix(tc.target, "/console/static/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.target, h.Get("Cache-Control"))
		}
		if strings.Contains(rec.Body.String(), "<script>") || strings.Contains(rec.Body.String(), "style=") ||
			strings.Contains(rec.Body.String(), "hx-on") {
			t.Errorf("%s: inline script or style", tc.target)
		}
	}
}

func TestConsoleCSRF(t *testing.T) {
	for _, tc := range []struct{ name, target, csrf string }{
		{"checkin without token", "/console/checkin", ""},
		{"checkin wrong token", "/console/checkin", "deadbeef"},
		{"complete without token", "/console/appointments/ap0123456789abcdef0123/complete", ""},
		{"complete wrong token", "/console/appointments/ap0123456789abcdef0123/complete", strings.Repeat("0", 64)},
		{"logout wrong token", "/console/logout", "x"},
		{"call next without token", "/console/halls/h1/queue/call-next", ""},
		{"recall wrong token", "/console/appointments/ap0123456789abcdef0123/recall", "y"},
		{"skip without token", "/console/appointments/ap0123456789abcdef0123/skip", ""},
		{"no-show without token", "/console/appointments/ap0123456789abcdef0123/no-show", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false)
			form := url.Values{"code": {"123456"}, "hall_id": {"h1"}}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			rec := f.do(http.MethodPost, tc.target, tokStaff, form)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), msgCSRF) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
			if f.desk.count() != 0 || f.auth.logouts != 0 || len(f.auth.audited()) != 0 {
				t.Fatalf("something was done: desk %d logouts %d audit %v", f.desk.count(), f.auth.logouts, f.auth.audited())
			}
		})
	}
	t.Run("login without double-submit cookie", func(t *testing.T) {
		f := newFixture(t, false)
		rec := f.do(http.MethodPost, "/console/login", "", url.Values{"username": {"lisi"}, "password": {"pw"}, "csrf": {"abc"}})
		if rec.Code != http.StatusForbidden || f.auth.logins != 0 {
			t.Fatalf("%d, logins %d", rec.Code, f.auth.logins)
		}
	})
}

func TestConsoleWrongHallForbidden(t *testing.T) {
	f := newFixture(t, false)
	for _, target := range []string{"/console/halls/h2/today", "/console/halls/h2/today/table", "/console/halls/h2/today.csv"} {
		rec := f.do(http.MethodGet, target, tokStaff, nil)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "该预约不属于您所在的大厅") {
			t.Errorf("%s: %d %s", target, rec.Code, rec.Body.String())
		}
	}
	if f.desk.count() != 0 {
		t.Fatal("the desk was asked for another hall")
	}
	for _, e := range f.auth.audited() {
		if e.Action != actionList || e.Outcome != "wrong_hall" || e.HallID != "h2" || e.Actor != "lisi" {
			t.Fatalf("audit %+v", e)
		}
	}
	rec := f.do(http.MethodGet, "/console/halls/h1/today", tokFinance, nil)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("finance: %d", rec.Code)
	}
}

func TestConsoleExpiredSessionRedirectsKeepingNext(t *testing.T) {
	f := newFixture(t, false)
	target := "/console/halls/h1/today?status=booked"
	rec := f.do(http.MethodGet, target, "bss_expired", nil)
	want := "/console/login?next=" + url.QueryEscape(target)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Fatalf("%d %q, want %q", rec.Code, rec.Header().Get("Location"), want)
	}
	req := httptest.NewRequest(http.MethodGet, "/console/halls/h1/today/table", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Current-URL", "http://example.test"+target)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "bss_expired"})
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Header().Get("HX-Redirect") != want {
		t.Fatalf("htmx: %q", rec.Header().Get("HX-Redirect"))
	}
	for _, bad := range []string{"//evil.example/", "https://evil.example/console/", "/console/../api/v1/me", "/api/v1/me", "/console/\\evil"} {
		if got := safeNext(bad); got != "/console/" {
			t.Errorf("next %q kept as %q", bad, got)
		}
	}
}

func TestConsoleTodayPage(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(http.MethodGet, "/console/halls/h1/today", tokStaff, nil)
	body := rec.Body.String()
	for _, want := range []string{"A007", "张三", "4401**********1234", "09:30", `hx-trigger="every 5s"`, "today.csv",
		`<label for="code">`, `lang="zh-CN"`, "<main", `<option value="d2">部门二</option>`, `<select id="call_department" name="department_id" required>`} {
		if !strings.Contains(body, want) {
			t.Errorf("today page lacks %q", want)
		}
	}
	e := f.auth.audited()
	if len(e) != 1 || e[0].Action != actionList || e[0].Outcome != "ok" || e[0].HallID != "h1" {
		t.Fatalf("audit %+v", e)
	}
}

func TestConsoleTodayFiltersKeptInLinks(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(http.MethodGet, "/console/halls/h1/today?department_id=d1&status=booked", tokStaff, nil)
	body := rec.Body.String()
	for _, want := range []string{
		`hx-get="/console/halls/h1/today/table?department_id=d1&amp;status=booked"`,
		`href="/console/halls/h1/today.csv?department_id=d1&amp;status=booked"`,
		`<option value="booked" selected>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("today page lacks %s", want)
		}
	}
	rec = f.do(http.MethodGet, "/console/halls/h1/today.csv", tokStaff, nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || !strings.Contains(rec.Body.String(), "A007") {
		t.Fatalf("csv: %d %s", rec.Code, rec.Body.String())
	}
}

func TestConsoleCheckIn(t *testing.T) {
	f := newFixture(t, false)
	csrf := f.c.csrfFor(tokStaff)
	f.desk.checkinErr = appointments.ErrCheckinNotToday
	rec := f.do(http.MethodPost, "/console/checkin", tokStaff, url.Values{"csrf": {csrf}, "hall_id": {"h1"}, "code": {"<987654>"}})
	body := rec.Body.String()
	if rec.Code != http.StatusConflict {
		t.Fatalf("status %d", rec.Code)
	}
	field := regexp.MustCompile(`(?s)<input id="code"[^>]*value="&lt;987654&gt;"[^>]*>\s*<button[^>]*>签到</button>.*?<span class="error" id="code-error"[^>]*>签到码仅在预约当天、在预约大厅有效</span>`)
	if !field.MatchString(body) {
		t.Fatalf("error not next to the field with the code kept:\n%s", body)
	}
	if e := f.auth.audited(); e[0].Action != actionCheckIn || e[0].Outcome != "checkin_not_today" {
		t.Fatalf("audit %+v", e)
	}

	f.desk.checkinErr = nil
	rec = f.do(http.MethodPost, "/console/checkin", tokStaff, url.Values{"csrf": {csrf}, "hall_id": {"h1"}, "code": {"123456"}})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/console/halls/h1/today?notice=") {
		t.Fatalf("check-in: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	e := f.auth.audited()
	last := e[len(e)-1]
	if last.Action != actionCheckIn || last.Outcome != "ok" || last.Target != sample.ID || last.HallID != "h1" {
		t.Fatalf("audit %+v", last)
	}

	rec = f.do(http.MethodPost, "/console/appointments/"+sample.ID+"/complete", tokStaff, url.Values{"csrf": {csrf}, "hall_id": {"h1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("complete: %d", rec.Code)
	}
	e = f.auth.audited()
	if last := e[len(e)-1]; last.Action != actionComplete || last.Outcome != "ok" || last.Target != sample.ID {
		t.Fatalf("audit %+v", last)
	}
}

func TestConsoleDisplayHasNoNames(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(http.MethodGet, "/console/halls/h1/display", "", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "A001") || !strings.Contains(body, `<span class="win">5</span> 号窗口`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
	for _, name := range []string{sample.Name, sample.IDNumberMasked, "退出登录"} {
		if strings.Contains(body, name) {
			t.Fatalf("display shows %q", name)
		}
	}
}

func TestConsoleDisplayEvents(t *testing.T) {
	f := newFixture(t, false)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/console/halls/h1/display/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	// next reads one event (or heartbeat comment) up to its blank line.
	next := func() string {
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v (%q)", err, b.String())
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	first := next()
	if !strings.HasPrefix(first, "event: board\n") || !strings.Contains(first, "A001") {
		t.Fatalf("first event %q", first)
	}
	f.boards.set("A002")
	f.boards.tick <- struct{}{}
	sawBeat := false
	for {
		ev := next()
		if strings.HasPrefix(ev, ": heartbeat") {
			sawBeat = true
			continue
		}
		if !strings.HasPrefix(ev, "event: board\n") || !strings.Contains(ev, "A002") {
			t.Fatalf("second event %q", ev)
		}
		break
	}
	if !sawBeat {
		// The heartbeat is 50 ms here; wait for one.
		if ev := next(); !strings.HasPrefix(ev, ": heartbeat") {
			t.Fatalf("no heartbeat: %q", ev)
		}
	}
	for _, name := range []string{sample.Name} {
		if strings.Contains(first, name) {
			t.Fatal("board shows a name")
		}
	}
}

func TestConsoleHomeByRole(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		token     string
		want, not []string
	}{
		{tokStaff, []string{`href="/console/halls/h1/today"`}, []string{`id="h-finance"`, `id="h-admin"`}},
		{tokFinance, []string{`id="h-finance"`}, []string{`id="h-halls"`, `id="h-admin"`}},
		{tokAdmin, []string{`id="h-halls"`, `id="h-admin"`, `<label for="hall">`}, []string{`id="h-finance"`}},
	} {
		body := f.do(http.MethodGet, "/console/", tc.token, nil).Body.String()
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: home lacks %s", tc.token, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: home shows %s", tc.token, n)
			}
		}
	}
}

func TestConsoleLogout(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(http.MethodPost, "/console/logout", tokStaff, url.Values{"csrf": {f.c.csrfFor(tokStaff)}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/login" || f.auth.logouts != 1 {
		t.Fatalf("logout: %d %q, logouts %d", rec.Code, rec.Header().Get("Location"), f.auth.logouts)
	}
	var cleared bool
	for _, ck := range rec.Result().Cookies() {
		cleared = cleared || (ck.Name == sessionCookie && ck.MaxAge < 0)
	}
	if !cleared {
		t.Fatal("session cookie not cleared")
	}
	if rec := f.do(http.MethodGet, "/console/", tokStaff, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("after logout: %d", rec.Code)
	}
}

// TestConsoleCallNext: the counter's call answers with the window in the
// notice and keeps department and window filled in; a refusal is shown next
// to the window field with what was typed.
func TestConsoleCallNext(t *testing.T) {
	f := newFixture(t, false)
	form := url.Values{"csrf": {f.c.csrfFor(tokStaff)}, "department_id": {"d1"}, "window": {"3"}}
	rec := f.do(http.MethodPost, "/console/halls/h1/queue/call-next", tokStaff, form)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.Contains(loc, "window=3") || !strings.Contains(loc, "call_department=d1") {
		t.Fatalf("%d %s", rec.Code, loc)
	}
	if a := f.auth.audited(); len(a) != 1 || a[0].Action != actionCallNext || a[0].Outcome != "ok" {
		t.Fatalf("audit: %+v", a)
	}
	f.desk.callErr = appointments.ErrQueueEmpty
	rec = f.do(http.MethodPost, "/console/halls/h1/queue/call-next", tokStaff, form)
	body := rec.Body.String()
	if rec.Code != http.StatusConflict || !strings.Contains(body, `id="call-error"`) || !strings.Contains(body, "当前没有等候叫号的群众") ||
		!strings.Contains(body, `value="d1"`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
}

// TestConsoleRefreshDoesNotExtendTheSession: the list's own 5 s refresh
// reads the session without extending it (Check), a page the person opens
// extends it (Authenticate).
func TestConsoleRefreshDoesNotExtendTheSession(t *testing.T) {
	f := newFixture(t, false)
	if rec := f.do(http.MethodGet, "/console/halls/h1/today/table", tokStaff, nil); rec.Code != http.StatusOK {
		t.Fatalf("refresh: %d", rec.Code)
	}
	f.auth.mu.Lock()
	authn, checks := f.auth.authn, f.auth.checks
	f.auth.mu.Unlock()
	if authn != 0 || checks != 1 {
		t.Fatalf("refresh: %d extending reads, %d checks", authn, checks)
	}
	if rec := f.do(http.MethodGet, "/console/halls/h1/today", tokStaff, nil); rec.Code != http.StatusOK {
		t.Fatalf("page: %d", rec.Code)
	}
	f.auth.mu.Lock()
	defer f.auth.mu.Unlock()
	if f.auth.authn != 1 || f.auth.checks != 1 {
		t.Fatalf("page: %d extending reads, %d checks", f.auth.authn, f.auth.checks)
	}
}

// TestConsoleCSRFAcrossSecretRotation: a form rendered before the session
// secret was rotated is accepted while the old secret is configured as
// PreviousSecret, and refused (nothing done) once it is dropped.
func TestConsoleCSRFAcrossSecretRotation(t *testing.T) {
	oldSecret, newSecret := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	f := newFixture(t, false)
	before, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Secret: oldSecret})
	if err != nil {
		t.Fatal(err)
	}
	oldForm := before.csrfFor(tokStaff)
	for _, c := range []struct {
		name     string
		previous []byte
		want     int
	}{{"during the overlap", oldSecret, http.StatusSeeOther}, {"after it", nil, http.StatusForbidden}} {
		after, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Secret: newSecret, PreviousSecret: c.previous})
		if err != nil {
			t.Fatal(err)
		}
		f.h = after.Handler()
		n := f.desk.count()
		rec := f.do(http.MethodPost, "/console/checkin", tokStaff, url.Values{"csrf": {oldForm}, "code": {"A7K2M9QX"}, "hall_id": {"h1"}})
		if rec.Code != c.want {
			t.Fatalf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
		if done := f.desk.count() - n; (c.want == http.StatusForbidden) != (done == 0) {
			t.Fatalf("%s: %d desk calls", c.name, done)
		}
		if sameToken(oldForm, after.csrfFor(tokStaff)) {
			t.Fatal("new forms still use the old key")
		}
	}
}
