package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/appointments"
	"banshi/internal/platform"
)

type fakeCalendar struct {
	mu   sync.Mutex
	puts []appointments.CalendarDay
}

var _ Calendar = (*fakeCalendar)(nil)

func (f *fakeCalendar) ListCalendar(context.Context, string, string, string) ([]appointments.CalendarDay, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]appointments.CalendarDay(nil), f.puts...), nil
}

func (f *fakeCalendar) PutCalendarDay(_ context.Context, c appointments.CalendarDay) (appointments.CalendarDay, error) {
	if c.Date == "" || len(c.Date) != 10 {
		return c, platform.Invalid("date", "format", "日期格式应为 YYYY-MM-DD")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, c)
	return c, nil
}

// TestConsoleCalendar: only administrators see and change the calendar;
// a post without its CSRF token or with a bad date changes nothing and the
// typed values stay; a closure is saved, audited and listed.
func TestConsoleCalendar(t *testing.T) {
	f := newFixture(t, false)
	cal := &fakeCalendar{}
	changed := 0
	c, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Calendar: cal,
		CatalogChanged: func() { changed++ }, Secret: []byte("0123456789abcdef0123456789abcdef"), Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.c, f.h = c, c.Handler()
	if rec := f.do(http.MethodGet, "/console/admin/calendar", tokStaff, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("hall staff: %d", rec.Code)
	}
	if rec := f.do(http.MethodGet, "/console/admin/calendar", tokAdmin, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="cal_date"`) {
		t.Fatalf("admin: %d %s", rec.Code, rec.Body.String())
	}
	good := url.Values{"hall_id": {"h1"}, "date": {"2026-12-01"}, "kind": {appointments.DayClosure}, "name": {"设备检修"}}
	for _, tc := range []struct {
		name  string
		token string
		form  url.Values
		code  int
	}{
		{"no CSRF token", tokAdmin, good, http.StatusForbidden},
		{"hall staff", tokStaff, withCSRF(f, tokStaff, good), http.StatusForbidden},
		{"bad date", tokAdmin, withCSRF(f, tokAdmin, url.Values{"hall_id": {"h1"}, "date": {"12/01"}, "kind": {appointments.DayClosure}, "name": {"设备检修"}}), http.StatusBadRequest},
	} {
		rec := f.do(http.MethodPost, "/console/admin/calendar", tc.token, tc.form)
		if rec.Code != tc.code || len(cal.puts) != 0 || changed != 0 {
			t.Fatalf("%s: %d, %d saved", tc.name, rec.Code, len(cal.puts))
		}
		if tc.name == "bad date" && (!strings.Contains(rec.Body.String(), `id="calendar-error"`) || !strings.Contains(rec.Body.String(), `value="设备检修"`)) {
			t.Fatalf("bad date: the message or the typed values are missing:\n%s", rec.Body.String())
		}
	}
	rec := f.do(http.MethodPost, "/console/admin/calendar", tokAdmin, withCSRF(f, tokAdmin, good))
	if rec.Code != http.StatusSeeOther || len(cal.puts) != 1 || changed != 1 {
		t.Fatalf("save: %d, %d saved, changed %d", rec.Code, len(cal.puts), changed)
	}
	if a := f.auth.audited(); len(a) == 0 || a[len(a)-1].Action != actionCalendarPut || a[len(a)-1].Outcome != "ok" {
		t.Fatalf("audit: %+v", a)
	}
	if rec := f.do(http.MethodGet, "/console/admin/calendar?hall_id=h1", tokAdmin, nil); !strings.Contains(rec.Body.String(), "2026-12-01") ||
		!strings.Contains(rec.Body.String(), "闭厅") {
		t.Fatalf("listed: %s", rec.Body.String())
	}
}

// withCSRF is form with the CSRF token of token's session.
func withCSRF(f *fixture, token string, form url.Values) url.Values {
	out := url.Values{"csrf": {f.c.csrfFor(token)}}
	for k, v := range form {
		out[k] = v
	}
	return out
}
