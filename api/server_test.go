package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform/platformtest"
)

type fakePinger struct{ err error }

func (f fakePinger) Ping(context.Context) error { return f.err }

var _ Pinger = fakePinger{}

func TestReadyz(t *testing.T) {
	down := errors.New("down")
	cases := []struct {
		name         string
		mongo, redis error
		status       int
	}{
		{"both up", nil, nil, 200},
		{"mongodb down", down, nil, 503},
		{"redis down", nil, down, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := platformtest.Redis(t)
			s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakePinger{tc.mongo}, RedisPing: fakePinger{tc.redis}})
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

// TestPanicBecomes500 proves a panicking handler answers the error body and
// the server lives on.
func TestPanicBecomes500(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Features: []Feature{panicFeature{}}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/boom", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var body map[string]map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"]["code"] != "internal" {
		t.Fatalf("body %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "secret detail") {
		t.Fatal("internal detail leaked")
	}
}

type panicFeature struct{}

func (panicFeature) Register(r Router) {
	r.Public.GET("/boom", func(echo.Context) error { panic("secret detail") })
}

func TestBindJSONErrors(t *testing.T) {
	cases := []struct {
		body, field string
	}{
		{`{"code":`, "body"},
		{`{"code":1}`, "code"},
		{`{"code":"a"} {"code":"b"}`, "body"},
		{`{"nope":"a"}`, "nope"},
		{``, "body"},
		{`null`, ""},
	}
	for _, tc := range cases {
		e := echo.New()
		c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body)), httptest.NewRecorder())
		var dst loginRequest
		err := bindJSON(c, &dst)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.body, err)
			}
			continue
		}
		ae, _ := answerFor(err)
		if ae.status != 400 || ae.Field != tc.field {
			t.Errorf("%q: got %v, want 400 on %s", tc.body, err, tc.field)
		}
	}
}

// TestPanicIsCounted: the metrics count a panicking request as its 500.
func TestPanicIsCounted(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Features: []Feature{panicFeature{}}})
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/boom", nil))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `banshi_http_requests_total{method="GET",route="/api/v1/boom",status="500"} 1`) {
		t.Fatalf("panic not counted:\n%s", rec.Body)
	}
}

// fakeStore answers pings but may fail writes (a full disk).
type fakeStore struct{ ping, write error }

func (f fakeStore) Ping(context.Context) error       { return f.ping }
func (f fakeStore) ProbeWrite(context.Context) error { return f.write }

// TestReadyzReportsAStoreThatCannotWrite: a MongoDB that answers pings but
// cannot write (the data disk is full) makes /readyz 503 naming it
// read_only; a write probe that hangs does not hang /readyz.
func TestReadyzReportsAStoreThatCannotWrite(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	full := errors.New("database or disk is full")
	s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakeStore{write: full}, RedisPing: fakePinger{}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"mongodb":"read_only"`) {
		t.Fatalf("full disk: %d %s", rec.Code, rec.Body)
	}
	s = New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakeStore{}, RedisPing: fakePinger{}})
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"mongodb":"ok"`) {
		t.Fatalf("writable: %d %s", rec.Code, rec.Body)
	}
	s = New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: hangingStore{}, RedisPing: fakePinger{}})
	start := time.Now()
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || time.Since(start) > 3*time.Second {
		t.Fatalf("hanging write probe: %d after %s", rec.Code, time.Since(start))
	}
}

// hangingStore answers pings; its writes wait until their deadline.
type hangingStore struct{}

func (hangingStore) Ping(context.Context) error { return nil }
func (hangingStore) ProbeWrite(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
