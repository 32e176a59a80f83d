package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

func TestClockControl(t *testing.T) {
	oc := platform.NewOffsetClock()
	h := NewClock(oc).Handler()
	do := func(method, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/sim/clock", strings.NewReader(body)))
		return rec
	}
	if rec := do("POST", `{"advance":"24h"}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"offset":"24h0m0s"`) || !strings.Contains(rec.Body.String(), "+08:00") {
		t.Fatalf("advance: %d %s", rec.Code, rec.Body)
	}
	target := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	if rec := do("POST", `{"to":"`+target.Format(time.RFC3339)+`"}`); rec.Code != 200 {
		t.Fatalf("to: %d %s", rec.Code, rec.Body)
	}
	if d := oc.Now().Sub(target); d < 0 || d > time.Second {
		t.Fatalf("clock at %v, want %v", oc.Now(), target)
	}
	before := oc.Offset()
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"advance":"-1h"}`, http.StatusConflict},
		{`{"to":"2020-01-01T00:00:00+08:00"}`, http.StatusConflict},
		{`{"advance":"soon"}`, http.StatusBadRequest},
		{`{"to":"tomorrow"}`, http.StatusBadRequest},
		{`{"advance":"1h","to":"2030-01-01T00:00:00Z"}`, http.StatusBadRequest},
		{`{}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
	} {
		if rec := do("POST", tc.body); rec.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.body, rec.Code, rec.Body, tc.status)
		}
	}
	if oc.Offset() != before {
		t.Fatalf("a refused move changed the clock: %v → %v", before, oc.Offset())
	}
	if rec := do("GET", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"now"`) {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
}
