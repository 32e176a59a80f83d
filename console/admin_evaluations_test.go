package console

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"banshi/evaluations"
	"banshi/internal/platform"
)

// fakeStats checks the filters as evaluations.Service does (the real
// Period and the dimension check) and answers two halls.
type fakeStats struct{ calls *int }

var _ EvaluationStats = fakeStats{}

func (s fakeStats) StatsFor(_ context.Context, by, from, to string) (evaluations.Stats, error) {
	b, e, err := evaluations.Period(from, to, time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC))
	if err != nil {
		return evaluations.Stats{}, err
	}
	if !slices.Contains([]string{evaluations.ByHall, evaluations.ByDepartment, evaluations.ByService, evaluations.ByChannel, evaluations.ByStaff}, by) {
		return evaluations.Stats{}, platform.Invalid("by", "enum", "统计维度应为 hall、department、service、channel 或 staff")
	}
	if s.calls != nil {
		*s.calls++
	}
	counts := func(vs, s, ba, d, vd int) map[string]int {
		return map[string]int{evaluations.LevelVerySatisfied: vs, evaluations.LevelSatisfied: s, evaluations.LevelBasic: ba,
			evaluations.LevelDissatisfied: d, evaluations.LevelVeryDissatisfied: vd}
	}
	g1 := evaluations.Group{Key: "hall-tianhe", Counts: counts(30, 10, 0, 6, 4), Total: 50, BadRate: 0.2, Tickets: 10, Rectified: 5, RectificationRate: 0.5}
	g2 := evaluations.Group{Key: "", Counts: counts(20, 4, 1, 0, 0), Total: 25}
	return evaluations.Stats{By: by, From: b, To: e, Groups: []evaluations.Group{g1, g2},
		Total: evaluations.Group{Counts: counts(50, 14, 1, 6, 4), Total: 75, BadRate: 10.0 / 75, Tickets: 10, RectificationRate: 0.5}}, nil
}

// TestConsoleEvaluationStats: the statistics of the filters are a table and
// an inline SVG bar chart (attributes only: no style, no script) scaled to
// the largest group; the period shown is the dates asked for; viewing is
// audited as the API's evaluations.stats.
func TestConsoleEvaluationStats(t *testing.T) {
	f := newFixture(t, false)
	calls := 0
	withOps(t, f, nil, Deps{EvaluationStats: fakeStats{calls: &calls}})
	rec := f.do(http.MethodGet, "/console/admin/evaluations?by=department&from=2026-11-01&to=2026-11-20", tokAdmin, nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || calls != 1 {
		t.Fatalf("stats: %d\n%s", rec.Code, body)
	}
	for _, want := range []string{
		"2026-11-01 至 2026-11-20", `<th scope="row">hall-tianhe</th>`, "（未记录）", "20.0%", "50.0%", "13.3%",
		`<option value="department" selected>`, `<svg xmlns="http://www.w3.org/2000/svg" role="img"`,
		// hall-tianhe is the largest: the full 420; its 10 差评 are 84; the other 210.
		`width="420"`, `width="84"`, `width="210"`, `width="0"`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("missing %q:\n%s", want, body)
		}
	}
	if regexp.MustCompile(`(?i)\sstyle=|<style|<script>|\son[a-z]+=`).MatchString(body) {
		t.Fatalf("inline style or script on the page:\n%s", body)
	}
	if e := lastAudit(t, f, actionEvaluationStats); e.Outcome != "ok" {
		t.Fatalf("audit %+v", e)
	}
	// No filters: by hall over the service's default period.
	if rec := f.do(http.MethodGet, "/console/admin/evaluations", tokAdmin, nil); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), `<option value="hall" selected>`) || !strings.Contains(rec.Body.String(), "至 2026-11-23") {
		t.Fatalf("default: %d\n%s", rec.Code, rec.Body.String())
	}
}

// TestConsoleEvaluationStatsBadFilters: a bad dimension or date answers 400
// with the message next to the field and the typed values kept, counting
// nothing.
func TestConsoleEvaluationStatsBadFilters(t *testing.T) {
	f := newFixture(t, false)
	calls := 0
	withOps(t, f, nil, Deps{EvaluationStats: fakeStats{calls: &calls}})
	for _, tc := range []struct{ name, query, field, kept string }{
		{"unknown dimension", "by=weather&from=2026-11-01", "by", `value="2026-11-01"`},
		{"bad date", "by=hall&from=11/01/2026", "from", `value="11/01/2026"`},
		{"to before from", "by=hall&from=2026-11-20&to=2026-11-01", "to", `value="2026-11-20"`},
	} {
		rec := f.do(http.MethodGet, "/console/admin/evaluations?"+tc.query, tokAdmin, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || calls != 0 || !strings.Contains(body, `id="stats-error"`) || strings.Contains(body, "<svg") {
			t.Fatalf("%s: %d, %d counted\n%s", tc.name, rec.Code, calls, body)
		}
		if !regexp.MustCompile(`name="`+tc.field+`"[^>]*aria-invalid="true"`).MatchString(body) || !strings.Contains(body, tc.kept) {
			t.Fatalf("%s: field not marked or value lost\n%s", tc.name, body)
		}
		if e := lastAudit(t, f, actionEvaluationStats); e.Outcome != platform.CodeInvalid {
			t.Fatalf("%s: audit %+v", tc.name, e)
		}
	}
}
