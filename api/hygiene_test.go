package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banshi/internal/platform/platformtest"
)

func hygieneServer(t *testing.T) *Server {
	t.Helper()
	rdb, prefix := platformtest.Redis(t)
	return New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakePinger{}, RedisPing: fakePinger{},
		Limits: Limits{BodyBytes: 1024, LoginPerIP: 100}})
}

// chunked is a body of unknown length (Transfer-Encoding: chunked).
type chunked struct{ io.Reader }

// TestChunkedBodyOverTheLimitIs413: a body without Content-Length that runs
// past the limit answers 413 payload_too_large, as one with Content-Length
// does, whatever its first bytes look like.
func TestChunkedBodyOverTheLimitIs413(t *testing.T) {
	s := hygieneServer(t)
	for _, body := range []string{
		`{"code":"` + strings.Repeat("x", 4096) + `"}`,
		strings.Repeat("x", 4096),
		`{"code":"a"}` + strings.Repeat(" ", 4096),
	} {
		for _, length := range []int64{-1, int64(len(body))} {
			r := httptest.NewRequest("POST", "/api/v1/auth/miniprogram/login", chunked{strings.NewReader(body)})
			r.ContentLength = length
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, r)
			if rec.Code != 413 || !strings.Contains(rec.Body.String(), "payload_too_large") {
				t.Errorf("body %.12q… of length %d: %d %s", body, length, rec.Code, rec.Body)
			}
		}
	}
}

// TestRequestIDIsBounded: a client's X-Request-ID is kept only when it is at
// most 64 characters of [A-Za-z0-9._-]; otherwise one is generated.
func TestRequestIDIsBounded(t *testing.T) {
	s := hygieneServer(t)
	for id, kept := range map[string]bool{
		"abc-123_X.y":              true,
		strings.Repeat("a", 64):    true,
		strings.Repeat("a", 65):    false,
		strings.Repeat("a", 20000): false,
		"has space":                false,
		"new\nline":                false,
		"引号":                       false,
	} {
		r := httptest.NewRequest("GET", "/healthz", nil)
		r.Header.Set("X-Request-ID", id)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		got := rec.Header().Get("X-Request-ID")
		if kept && got != id {
			t.Errorf("%.20q: answered %q, want it kept", id, got)
		}
		if !kept && (got == id || got == "" || len(got) > 64) {
			t.Errorf("%.20q: answered %.80q, want a generated ID", id, got)
		}
	}
}

// TestTokensAndPersonalDataAreNotCached: answers that carry tokens or
// personal data (logins, citizen and staff routes, their errors) say
// Cache-Control: no-store.
func TestTokensAndPersonalDataAreNotCached(t *testing.T) {
	s := hygieneServer(t)
	for _, r := range []*http.Request{
		httptest.NewRequest("POST", "/api/v1/auth/miniprogram/login", strings.NewReader(`{}`)),
		httptest.NewRequest("POST", "/api/v1/auth/app/login", strings.NewReader(`{}`)),
		httptest.NewRequest("GET", "/api/v1/me", nil),
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r.WithContext(context.Background()))
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", r.Method, r.URL, rec.Header().Get("Cache-Control"))
		}
	}
}
