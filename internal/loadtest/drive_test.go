package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestDriveCountsAnswers: drive sends the token, counts 200s as successes
// and every other answer as an error, and fails a target that never
// answers 200. (No assertion on speed.)
func TestDriveCountsAnswers(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	r, err := drive(context.Background(), target{name: "half", url: srv.URL, token: "tok"}, 4, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps <= 0 || r.errors == 0 || r.p50 <= 0 || r.p99 < r.p50 {
		t.Fatalf("%+v", r)
	}
	if _, err := drive(context.Background(), target{name: "no token", url: srv.URL}, 2, 50*time.Millisecond); err == nil {
		t.Fatal("a target without a single 200 passed")
	}
}
