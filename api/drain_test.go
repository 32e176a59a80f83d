package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform/platformtest"
)

// TestStartDrainingFlipsReadinessOnly: with healthy stores /readyz answers
// 200; after StartDraining (called from many goroutines at once, as a
// signal handler and a test might) it answers 503 not_ready naming the
// shutdown, on the API and the operators' handler alike, while /healthz and
// the public API still answer as before.
func TestStartDrainingFlipsReadinessOnly(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakeStore{}, RedisPing: fakePinger{}, Features: []Feature{okFeature{}}})
	status := func(path string, ops bool) (int, string) {
		rec := httptest.NewRecorder()
		h := s.Handler()
		if ops {
			h = s.OpsHandler()
		}
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	for _, ops := range []bool{false, true} {
		if code, body := status("/readyz", ops); code != 200 {
			t.Fatalf("before draining (ops %t): %d %s", ops, code, body)
		}
	}
	if s.Draining() {
		t.Fatal("draining before StartDraining")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(s.StartDraining)
	}
	wg.Wait()
	if !s.Draining() {
		t.Fatal("not draining after StartDraining")
	}
	for _, ops := range []bool{false, true} {
		code, body := status("/readyz", ops)
		var got struct {
			Error  answer            `json:"error"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if code != 503 || got.Error.Code != "not_ready" || got.Error.Message == "" || got.Checks["shutdown"] != "draining" {
			t.Fatalf("draining (ops %t): %d %s", ops, code, body)
		}
		if code, body := status("/healthz", ops); code != 200 {
			t.Fatalf("healthz while draining (ops %t): %d %s", ops, code, body)
		}
	}
	if code, body := status("/api/v1/ok", false); code != 200 || body != "served" {
		t.Fatalf("API while draining: %d %s (want it served)", code, body)
	}
}

// okFeature serves GET /api/v1/ok.
type okFeature struct{}

func (okFeature) Register(r Router) {
	r.Public.GET("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "served") })
}
