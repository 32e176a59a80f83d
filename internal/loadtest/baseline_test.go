package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"banshi/internal/platform/platformtest"
)

func TestBaselineReadsOneKey(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	ctx := context.Background()
	if err := rdb.Set(ctx, prefix+"bare", "hello", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{prefix + "bare": `{"value":"hello"}`, prefix + "absent": `{"value":""}`} {
		rec := httptest.NewRecorder()
		Baseline(rdb, key).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/bare", nil))
		if rec.Code != http.StatusOK || rec.Body.String() != want+"\n" {
			t.Errorf("%s: %d %q", key, rec.Code, rec.Body.String())
		}
	}
	rec := httptest.NewRecorder()
	Baseline(rdb, prefix+"bare").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/other", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("other path: %d", rec.Code)
	}
}
