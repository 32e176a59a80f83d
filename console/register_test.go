package console

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banshi/api"
)

// TestConsoleRegisteredOnServer mounts the console as an api.Feature: its
// pages answer through the API server, with HTML errors, and the server
// lists only the catch-all under /console/ (the OpenAPI contract covers
// /api only).
func TestConsoleRegisteredOnServer(t *testing.T) {
	f := newFixture(t, false)
	s := api.New(api.Deps{Log: slog.New(slog.DiscardHandler), Features: []api.Feature{f.c}})
	for _, r := range s.Echo().Routes() {
		if strings.HasPrefix(r.Path, "/console") && r.Path != "/console/*" {
			t.Errorf("route %s %s listed on the server", r.Method, r.Path)
		}
	}
	for _, tc := range []struct {
		method, target string
		status         int
		want           string
	}{
		{http.MethodGet, "/console/login", http.StatusOK, `<label for="username">`},
		{http.MethodGet, "/console/nope", http.StatusNotFound, "页面不存在"},
		{http.MethodPut, "/console/login", http.StatusMethodNotAllowed, "不支持该请求方式"},
		{http.MethodGet, "/console/halls/h1/display", http.StatusOK, "A001"},
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) || rec.Header().Get("Content-Security-Policy") != csp {
			t.Errorf("%s %s: %d %q", tc.method, tc.target, rec.Code, rec.Body.String())
		}
	}
	// The stream flushes through the server's middleware.
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/console/halls/h1/display/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "event: board\n" {
		t.Fatalf("stream through the server: %q %v", line, err)
	}
}
