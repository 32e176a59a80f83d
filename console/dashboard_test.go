package console

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/notify"
	"banshi/payments"
)

// fakeDashStats answers the three statistics from the range asked, and records
// every call.
type fakeDashStats struct {
	mu    sync.Mutex
	calls []string
}

var (
	_ AppointmentStats = (*fakeDashStats)(nil)
	_ PaymentStats     = fakePayStats{}
	_ MessageStats     = fakeMsgStats{}
)

func (f *fakeDashStats) called(what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, what)
}

func (f *fakeDashStats) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeDashStats) Stats(_ context.Context, r platform.DayRange, hallID string) ([]appointments.ApptDayStats, error) {
	f.called("appointments " + r.From + ".." + r.To + " " + hallID)
	if hallID == "h9" {
		return nil, platform.Invalid("hall_id", "exists", "没有这个大厅")
	}
	var out []appointments.ApptDayStats
	for i, d := range r.Days() {
		out = append(out, appointments.ApptDayStats{Date: d, Booked: 10 + i, NoShows: i % 3, Completed: 5, Cancelled: 1,
			Waits: 4, WaitMedianMin: 31, WaitP90Min: 60})
	}
	return out, nil
}

type fakeMsgStats struct{ f *fakeDashStats }

func (m fakeMsgStats) Stats(_ context.Context, r platform.DayRange) ([]notify.ChannelDayStats, error) {
	m.f.called("messages")
	var out []notify.ChannelDayStats
	for _, d := range r.Days() {
		out = append(out, notify.ChannelDayStats{Date: d, Channel: "inbox", Sent: 3},
			notify.ChannelDayStats{Date: d, Channel: "wechat_subscribe", Sent: 2, Failed: 1})
	}
	return out, nil
}

type fakePayStats struct{ f *fakeDashStats }

func (p fakePayStats) Stats(_ context.Context, r platform.DayRange) ([]payments.PayDayStats, error) {
	p.f.called("payments")
	d := r.Days()[0]
	return []payments.PayDayStats{
		{Date: d, Channel: payments.ProviderAlipay, Paid: 1, PaidFen: 12345},
		{Date: d, Channel: payments.ProviderWeChatPay, Paid: 2, PaidFen: 9001, Refunded: 1, RefundedFen: 3000},
	}, nil
}

func dashboardFixture(t *testing.T) (*fixture, *fakeDashStats) {
	t.Helper()
	f := newFixture(t, false)
	st := &fakeDashStats{}
	c, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk,
		Dashboard: &Dashboard{Appointments: st, Messages: fakeMsgStats{st}, Payments: fakePayStats{st},
			Clock: platform.NewManualClock(time.Date(2026, 3, 20, 1, 0, 0, 0, time.UTC))},
		Secret: []byte("0123456789abcdef0123456789abcdef"), Heartbeat: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.c, f.h = c, c.Handler()
	return f, st
}

// rowOf is the text of the table row of table id whose heading is head.
func rowOf(t *testing.T, body, id, head string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	table := body[i:]
	table = table[:strings.Index(table, "</table>")]
	m := regexp.MustCompile(`<tr><th scope="row">` + regexp.QuoteMeta(head) + `</th>(.*?)</tr>`).FindStringSubmatch(table)
	if m == nil {
		t.Fatalf("table %s has no row %s:\n%s", id, head, table)
	}
	return regexp.MustCompile(`</?td>`).ReplaceAllString(strings.ReplaceAll(m[1], "</td><td>", "|"), "")
}

// TestConsoleDashboard: administrators only; the four charts with their
// tables for the range asked (exact fen in the payments table), audited as
// dashboard.view; the last 14 days by default; a bad range or hall is 400
// with the message and the typed values, reads no statistics for a bad
// range, and is audited with its error code.
func TestConsoleDashboard(t *testing.T) {
	f, st := dashboardFixture(t)
	for _, tok := range []string{tokStaff, tokFinance} {
		if rec := f.do(http.MethodGet, "/console/admin/dashboard", tok, nil); rec.Code != http.StatusForbidden || st.n() != 0 {
			t.Fatalf("%s: %d, %d reads", tok, rec.Code, st.n())
		}
	}
	rec := f.do(http.MethodGet, "/console/admin/dashboard?from=2026-03-09&to=2026-03-11&hall_id=h1", tokAdmin, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("admin: %d %s", rec.Code, body)
	}
	if n := strings.Count(body, `<svg role="img"`); n != 4 {
		t.Fatalf("%d charts, want 4", n)
	}
	for _, want := range []struct{ table, head, row string }{
		{"chart-bookings-table", "2026-03-10", "11|1|5|1"},
		{"chart-waits-table", "2026-03-11", "31|60|4"},
		{"chart-messages-table", "站内信", "9|0|0"},
		{"chart-messages-table", "微信订阅消息", "6|3|0"},
		{"chart-payments-table", "2026-03-09", "213.46 元（21346 分，3 笔）|30.00 元（3000 分，1 笔）"},
		{"chart-payments-table", "2026-03-10", "0.00 元（0 分，0 笔）|0.00 元（0 分，0 笔）"},
	} {
		if got := rowOf(t, body, want.table, want.head); got != want.row {
			t.Errorf("%s %s: %q, want %q", want.table, want.head, got, want.row)
		}
	}
	if !strings.Contains(st.calls[0], "2026-03-09..2026-03-11 h1") {
		t.Fatalf("asked %v", st.calls)
	}
	if a := f.auth.audited(); len(a) != 1 || a[0].Action != actionDashboardView || a[0].Outcome != "ok" ||
		a[0].Target != "2026-03-09..2026-03-11" || a[0].HallID != "h1" {
		t.Fatalf("audit: %+v", a)
	}

	// The default: the last 14 days by the clock, today included.
	before := st.n()
	rec = f.do(http.MethodGet, "/console/admin/dashboard", tokAdmin, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `value="2026-03-07"`) ||
		!strings.Contains(st.calls[before], "2026-03-07..2026-03-20 ") {
		t.Fatalf("default range: %d %v", rec.Code, st.calls[before:])
	}

	for _, tc := range []struct {
		name, query, field, typed string
		reads                     int
	}{
		{"from after to", "from=2026-03-11&to=2026-03-09", "to", `value="2026-03-09"`, 0},
		{"32 days", "from=2026-03-01&to=2026-04-01", "to", `value="2026-04-01"`, 0},
		{"bad date", "from=2026-3-1&to=2026-03-02", "from", `value="2026-3-1"`, 0},
		{"only one end", "from=2026-03-01", "to", `value="2026-03-01"`, 0},
		{"unknown hall", "from=2026-03-01&to=2026-03-02&hall_id=h9", "hall_id", `value="h9"`, 1},
	} {
		before, audits := st.n(), len(f.auth.audited())
		rec := f.do(http.MethodGet, "/console/admin/dashboard?"+tc.query, tokAdmin, nil)
		b := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(b, `id="dashboard-error"`) || !strings.Contains(b, tc.typed) ||
			strings.Contains(b, "<svg") || !regexp.MustCompile(`name="`+map[string]string{"to": "to", "from": "from", "hall_id": "hall_id"}[tc.field]+`"[^>]*aria-invalid="true"`).MatchString(b) {
			t.Fatalf("%s: %d\n%s", tc.name, rec.Code, b)
		}
		if st.n()-before != tc.reads {
			t.Errorf("%s: %d statistics read, want %d", tc.name, st.n()-before, tc.reads)
		}
		a := f.auth.audited()
		if len(a) != audits+1 || a[len(a)-1].Outcome != platform.CodeInvalid {
			t.Errorf("%s: audit %+v", tc.name, a[audits:])
		}
	}
}

// TestConsoleDashboardOff: without Dashboard there is no page, and the
// home page does not break.
func TestConsoleDashboardOff(t *testing.T) {
	f := newFixture(t, false)
	if rec := f.do(http.MethodGet, "/console/admin/dashboard", tokAdmin, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("%d", rec.Code)
	}
	if _, err := New(Deps{Log: slog.New(slog.DiscardHandler), Auth: f.auth, Desk: f.desk, Dashboard: &Dashboard{},
		Secret: []byte("0123456789abcdef0123456789abcdef")}); err == nil {
		t.Fatal("an incomplete Dashboard was accepted")
	}
}
