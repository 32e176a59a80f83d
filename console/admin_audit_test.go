package console

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/staff"
)

// fakeAuditLog answers ListAudit as staff.Service does: filters by actor,
// action, target, hall, outcome, [Since, Until) and the Before cursor, newest first then by id descending, Limit
// (default 100, at most 1000).
type fakeAuditLog struct {
	mu      sync.Mutex
	entries []staff.Entry
	queries []staff.AuditQuery
}

var _ AuditLog = (*fakeAuditLog)(nil)

func (l *fakeAuditLog) ListAudit(_ context.Context, q staff.AuditQuery) ([]staff.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, q)
	var out []staff.Entry
	for _, e := range l.entries {
		if (q.Actor != "" && e.Actor != q.Actor) || (q.Action != "" && e.Action != q.Action) ||
			(q.Target != "" && e.Target != q.Target) || (q.HallID != "" && e.HallID != q.HallID) ||
			(q.Outcome != "" && e.Outcome != q.Outcome) ||
			(!q.Since.IsZero() && e.At.Before(q.Since)) || (!q.Until.IsZero() && !e.At.Before(q.Until)) {
			continue
		}
		if b := q.Before; b != nil && !(e.At.Before(b.At) || e.At.Equal(b.At) && e.ID < b.ID) {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b staff.Entry) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	return out[:min(limit, len(out))], nil
}

// auditFixture has 130 entries one second apart from 2026-11-23 08:00
// Shanghai, except that entries 20..34 share one millisecond (a burst).
func auditFixture() *fakeAuditLog {
	l := &fakeAuditLog{}
	base := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for i := range 130 {
		at := base.Add(time.Duration(i) * time.Second)
		if i >= 20 && i < 35 {
			at = base.Add(20 * time.Second)
		}
		actor, action := "admin", "integrations.create"
		if i%3 == 0 {
			actor, action = "lisi", "appointments.checkin"
		}
		l.entries = append(l.entries, staff.Entry{ID: fmt.Sprintf("au%016x%04d", at.UnixNano(), i), At: platform.Local(at),
			Actor: actor, Action: action, Target: fmt.Sprintf("t%03d", i), IP: "10.0.0.1", Outcome: "ok"})
	}
	return l
}

var targetCell = regexp.MustCompile(`<td>(t\d{3})</td>`)

// TestConsoleAuditPaging: following "下一页" with a page size of 10 lists
// every matching entry exactly once, newest first, even across a burst of
// entries sharing one millisecond; viewing is audited as audit.list.
func TestConsoleAuditPaging(t *testing.T) {
	f := newFixture(t, false)
	log := auditFixture()
	withOps(t, f, nil, Deps{AuditLog: log})
	var seen []string
	next := "/console/admin/audit?limit=10"
	for pages := 0; next != ""; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		rec := f.do(http.MethodGet, next, tokAdmin, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", next, rec.Code)
		}
		body := rec.Body.String()
		for _, m := range targetCell.FindAllStringSubmatch(body, -1) {
			seen = append(seen, m[1])
		}
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)" id="audit-next"`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	var want []string
	all, _ := log.ListAudit(context.Background(), staff.AuditQuery{Limit: 1000})
	for _, e := range all {
		want = append(want, e.Target)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("paged %d entries, want %d:\n%v\n%v", len(seen), len(want), seen, want)
	}
	if e := lastAudit(t, f, actionAuditList); e.Actor != "admin" || e.Outcome != "ok" {
		t.Fatalf("audit of the audit log %+v", e)
	}
}

// TestConsoleAuditFilters: actor, action and a Shanghai time range reach the
// query; the times shown are Shanghai's; bad filters answer 400 with the
// message next to the field, the typed values kept, and read nothing.
func TestConsoleAuditFilters(t *testing.T) {
	f := newFixture(t, false)
	log := auditFixture()
	withOps(t, f, nil, Deps{AuditLog: log})
	rec := f.do(http.MethodGet, "/console/admin/audit?actor=lisi&action=appointments.checkin&since=2026-11-23T08:00&until=2026-11-23T08:01", tokAdmin, nil)
	body := rec.Body.String()
	q := log.queries[len(log.queries)-1]
	if rec.Code != http.StatusOK || q.Actor != "lisi" || q.Action != "appointments.checkin" ||
		!q.Since.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || !q.Until.Equal(time.Date(2026, 11, 23, 0, 1, 0, 0, time.UTC)) {
		t.Fatalf("query %+v: %d", q, rec.Code)
	}
	if rec := f.do(http.MethodGet, "/console/admin/audit?target=ap-1&hall_id=h1&outcome=wrong_hall", tokAdmin, nil); rec.Code != http.StatusOK {
		t.Fatalf("target/hall/outcome: %d", rec.Code)
	}
	if q := log.queries[len(log.queries)-1]; q.Target != "ap-1" || q.HallID != "h1" || q.Outcome != "wrong_hall" {
		t.Fatalf("target/hall/outcome not passed on: %+v", q)
	}
	rows := targetCell.FindAllStringSubmatch(body, -1)
	if len(rows) != 20 || !strings.Contains(body, "2026-11-23 08:00:57") || strings.Contains(body, "<td>admin</td>") {
		t.Fatalf("filtered: %d rows\n%s", len(rows), body)
	}
	for _, tc := range []struct{ name, query, field, kept string }{
		{"since not a time", "since=yesterday&actor=lisi", "since", `value="lisi"`},
		{"until before since", "since=2026-11-23T09:00&until=2026-11-23T08:00", "until", `value="2026-11-23T09:00"`},
		{"limit 0", "limit=0&action=login", "limit", `value="login"`},
		{"limit too big", "limit=5000", "limit", `value="5000"`},
		{"bad cursor", "after=garbage", "", ""},
	} {
		n := len(log.queries)
		rec := f.do(http.MethodGet, "/console/admin/audit?"+tc.query, tokAdmin, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(body, `id="audit-error"`) || len(log.queries) != n ||
			strings.Contains(body, "<td>t") {
			t.Fatalf("%s: %d, %d queries\n%s", tc.name, rec.Code, len(log.queries)-n, body)
		}
		if tc.field != "" && !strings.Contains(body, `name="`+tc.field+`"`) {
			t.Fatalf("%s: field missing", tc.name)
		}
		if tc.field != "" && !regexp.MustCompile(`name="`+tc.field+`"[^>]*aria-invalid="true"`).MatchString(body) {
			t.Fatalf("%s: %s not marked invalid\n%s", tc.name, tc.field, body)
		}
		if !strings.Contains(body, tc.kept) {
			t.Fatalf("%s: typed value lost", tc.name)
		}
		if e := lastAudit(t, f, actionAuditList); e.Outcome != platform.CodeInvalid {
			t.Fatalf("%s: audit %+v", tc.name, e)
		}
	}
}
