package platform

import (
	"testing"
	"time"
)

func TestParseDayRange(t *testing.T) {
	for _, tc := range []struct {
		from, to   string
		field, chk string
		days       int
		start, end string // RFC 3339 UTC
	}{
		{from: "2026-03-01", to: "2026-03-01", days: 1, start: "2026-02-28T16:00:00Z", end: "2026-03-01T16:00:00Z"},
		{from: "2026-02-27", to: "2026-03-02", days: 4, start: "2026-02-26T16:00:00Z", end: "2026-03-02T16:00:00Z"},
		{from: "2026-03-01", to: "2026-03-31", days: 31, start: "2026-02-28T16:00:00Z", end: "2026-03-31T16:00:00Z"},
		{from: "2026-03-01", to: "2026-04-01", field: "to", chk: "range"},
		{from: "2026-03-02", to: "2026-03-01", field: "to", chk: "order"},
		{from: "2026-3-1", to: "2026-03-01", field: "from", chk: "format"},
		{from: "2026-03-01", to: "", field: "to", chk: "format"},
		{from: "2026-02-30", to: "2026-03-01", field: "from", chk: "format"},
	} {
		r, err := ParseDayRange(tc.from, tc.to, MaxStatsDays)
		if tc.field != "" {
			e, ok := AsError(err)
			if !ok || e.Code != CodeInvalid || e.Field != tc.field || e.Check != tc.chk {
				t.Errorf("%s..%s: %v, want invalid %s/%s", tc.from, tc.to, err, tc.field, tc.chk)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s..%s: %v", tc.from, tc.to, err)
		}
		days := r.Days()
		if len(days) != tc.days || days[0] != tc.from || days[len(days)-1] != tc.to ||
			r.Start().UTC().Format(time.RFC3339) != tc.start || r.End().UTC().Format(time.RFC3339) != tc.end {
			t.Errorf("%s..%s: %v %s %s", tc.from, tc.to, days, r.Start().UTC(), r.End().UTC())
		}
		if !r.Contains(r.Start()) || r.Contains(r.End()) || r.Contains(r.Start().Add(-time.Nanosecond)) {
			t.Errorf("%s..%s: Contains is not [start, end)", tc.from, tc.to)
		}
	}
}

func TestLastDays(t *testing.T) {
	// 2026-03-09 23:30 UTC is already 03-10 in Shanghai.
	r := LastDays(time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC), 14)
	if r.From != "2026-02-25" || r.To != "2026-03-10" || len(r.Days()) != 14 || DayOf(r.End().Add(-time.Second)) != "2026-03-10" {
		t.Fatalf("%+v %v", r, r.Days())
	}
}
