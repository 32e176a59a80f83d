package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck: `banshi healthcheck` succeeds against a ready Banshi,
// fails when readiness answers 503 (a store down) or nothing listens, and
// finds the port from BANSHI_ADDR.
func TestHealthcheck(t *testing.T) {
	s := getStack(t)
	check := func(env map[string]string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"healthcheck"}, args...), getenv(env), &out, testLog())
		return out.String(), err
	}
	if out, err := check(nil, "--url", s.url); err != nil || !strings.Contains(out, "/readyz ok") {
		t.Fatalf("ready Banshi: %q, %v", out, err)
	}
	if out, err := check(nil, "--url", s.url, "--live"); err != nil || !strings.Contains(out, "/healthz ok") {
		t.Fatalf("live Banshi: %q, %v", out, err)
	}
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"not_ready"}`, http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	if _, err := check(nil, "--url", notReady.URL); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a 503 readiness passed the health check: %v", err)
	}
	port := s.url[strings.LastIndex(s.url, ":")+1:]
	if _, err := check(map[string]string{"BANSHI_ADDR": ":" + port}); err != nil {
		t.Fatalf("port from BANSHI_ADDR: %v", err)
	}
	notReady.Close()
	if _, err := check(nil, "--url", notReady.URL); err == nil {
		t.Fatal("nothing listening passed the health check")
	}
}
