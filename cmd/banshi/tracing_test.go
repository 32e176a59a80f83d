package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"banshi/internal/account"
	"banshi/internal/observe/tracing"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestTracingOneTracePerRequest: on a Banshi wired with tracing, an
// authenticated request that reads Redis (the session) and MongoDB (the
// user) is one trace: one server span named by its route, and MongoDB and
// Redis client spans inside it. The access log line of the request names
// the trace. No span (name, attribute, event, status) carries the bearer
// token, its session digest, the ID number a request declares, its blind
// index, or a phone number sent in the query.
func TestTracingOneTracePerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Banshi of its own")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t.TempDir(), "http://"+ln.Addr().String())
	cfg, err := platform.LoadConfig(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.FillDevSecrets(); err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var logs logCapture
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ctx := context.Background()
	app, err := buildTraced(ctx, cfg, log, tp)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	defer cleanRedis(app.Redis.Client, cfg.RedisPrefix)
	if !app.Mongo.Embedded {
		defer func() { _ = app.Mongo.DB.Drop(context.Background()) }()
	}
	srv := httptest.NewUnstartedServer(app.HTTP.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	// A citizen with a session, made outside any request: no trace.
	id := platformtest.RandomID()
	u, err := app.Accounts.LoginWeChat(ctx, account.ChannelMiniProgram, "union-"+id, "open-"+id)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := app.Sessions.Create(ctx, u.ID, string(account.ChannelMiniProgram), 1)
	if err != nil {
		t.Fatal(err)
	}
	idNumber := newIDNumber()
	const phone = "13912345678"
	exp.Reset()

	do := func(method, path string, body any) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	do("POST", "/api/v1/me/realname/declare?phone="+phone, map[string]string{"name": "张三", "id_number": idNumber})
	do("GET", "/api/v1/me?phone="+phone, nil)

	// The server span ends just after the answer is written: wait for it.
	var spans tracetest.SpanStubs
	for range 100 {
		spans = exp.GetSpans()
		if serverSpans(spans, "GET /api/v1/me") == 1 && serverSpans(spans, "POST /api/v1/me/realname/declare") == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var me sdktrace.ReadOnlySpan
	for _, s := range spans.Snapshots() {
		if s.Name() == "GET /api/v1/me" {
			me = s
		}
	}
	if me == nil {
		t.Fatalf("no server span GET /api/v1/me among %d spans", len(spans))
	}
	trace := me.SpanContext().TraceID()
	var mongoSpans, redisSpans, servers int
	for _, s := range spans {
		if s.SpanContext.TraceID() != trace {
			continue
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		switch {
		case s.Name == "GET /api/v1/me":
			servers++
			if attrs["http.route"] != "/api/v1/me" || attrs["http.response.status_code"] != "200" {
				t.Errorf("server span attributes %v", attrs)
			}
		case attrs["db.system.name"] == "mongodb":
			mongoSpans++
		case attrs["db.system"] == "redis":
			redisSpans++
		}
	}
	if servers != 1 || mongoSpans == 0 || redisSpans == 0 {
		t.Fatalf("trace of GET /api/v1/me: %d server, %d MongoDB, %d Redis spans; want 1 and some of each", servers, mongoSpans, redisSpans)
	}

	secrets := map[string]string{
		"token": token, "session digest": platform.TokenDigest([]byte(cfg.SessionSecret), token),
		"ID number": idNumber, "ID number's blind index": app.Accounts.IDIndex(idNumber), "phone": phone,
	}
	for _, s := range spans {
		var texts []string
		texts = append(texts, s.Name, s.Status.Description)
		for _, kv := range s.Attributes {
			texts = append(texts, string(kv.Key)+"="+kv.Value.String())
		}
		for _, ev := range s.Events {
			texts = append(texts, ev.Name)
			for _, kv := range ev.Attributes {
				texts = append(texts, string(kv.Key)+"="+kv.Value.String())
			}
		}
		for _, kv := range s.Resource.Attributes() {
			texts = append(texts, kv.Value.String())
		}
		for what, v := range secrets {
			for _, text := range texts {
				if strings.Contains(text, v) {
					t.Errorf("span %q carries the %s: %s", s.Name, what, text)
				}
			}
		}
	}

	// The access log line of GET /api/v1/me names the trace.
	var joined bool
	sc := bufio.NewScanner(strings.NewReader(logs.Since(0)))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "http" && line["route"] == "/api/v1/me" {
			joined = line["trace_id"] == trace.String()
		}
	}
	if !joined {
		t.Errorf("the access log line of GET /api/v1/me has no trace_id %s", trace)
	}
}

func serverSpans(spans tracetest.SpanStubs, name string) int {
	n := 0
	for _, s := range spans {
		if s.Name == name {
			n++
		}
	}
	return n
}

// TestTracingOffByDefault: the configuration without BANSHI_OTEL_ENDPOINT
// has tracing off (no provider, nothing wrapped), even when the standard
// OTEL_EXPORTER_OTLP_ENDPOINT is set; and a `banshi serve` process started
// that way sends nothing to a collector listening there, while one started
// with BANSHI_OTEL_ENDPOINT sends its spans to it as OTLP/HTTP.
func TestTracingOffByDefault(t *testing.T) {
	cfg, err := platform.LoadConfig(getenv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	tp, _, err := setupTracing(context.Background(), cfg, "serve", testLog())
	if err != nil || tracing.On(tp) || cfg.OTelEndpoint != "" || cfg.OTelSampleRatio != 1 {
		t.Fatalf("tracing with no BANSHI_OTEL_ENDPOINT: on=%v err=%v cfg=%q %v", tracing.On(tp), err, cfg.OTelEndpoint, cfg.OTelSampleRatio)
	}
	if prod, _ := platform.LoadConfig(getenv(map[string]string{"BANSHI_ENV": "production"})); prod.OTelSampleRatio != 0.1 {
		t.Errorf("production's default sample ratio = %v, want 0.1", prod.OTelSampleRatio)
	}
	if testing.Short() {
		t.Skip("starts Banshi processes")
	}
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" && len(b) > 0 {
			posts.Add(1)
		}
	}))
	defer collector.Close()
	for _, on := range []bool{false, true} {
		addr := freeAddr(t)
		env := map[string]string{"BANSHI_ADDR": addr, "BANSHI_DATA_DIR": t.TempDir(), "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}
		if on {
			env["BANSHI_OTEL_ENDPOINT"] = collector.URL
		}
		before := posts.Load()
		p := startProcess(t, t.TempDir(), env, "serve")
		waitUp(t, p, "http://"+addr+"/readyz")
		for range 3 {
			if resp, err := http.Get("http://" + addr + "/api/v1/me"); err == nil {
				resp.Body.Close()
			}
		}
		// SIGTERM: serve flushes its spans before it exits.
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
		p.done <- nil // for the cleanup's wait
		sent := posts.Load() - before
		if on && sent == 0 {
			t.Errorf("with BANSHI_OTEL_ENDPOINT the collector got nothing\n%s", p.Output())
		}
		if !on && sent != 0 {
			t.Errorf("without BANSHI_OTEL_ENDPOINT the collector got %d exports", sent)
		}
	}
}

// TestOtelConfigStopsStartup: a malformed BANSHI_OTEL_ENDPOINT or
// BANSHI_OTEL_SAMPLE_RATIO stops serve with an error naming it, before the
// data folder is made.
func TestOtelConfigStopsStartup(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"BANSHI_OTEL_ENDPOINT", "collector:4318"},
		{"BANSHI_OTEL_ENDPOINT", "grpc://collector:4317"},
		{"BANSHI_OTEL_SAMPLE_RATIO", "2"},
		{"BANSHI_OTEL_SAMPLE_RATIO", "ten percent"},
		{"BANSHI_OTEL_SAMPLE_RATIO", "NaN"},
	} {
		data := t.TempDir() + "/data"
		_, _, err := runCaptured(t, map[string]string{tc.name: tc.value, "BANSHI_DATA_DIR": data, "BANSHI_ADDR": "127.0.0.1:0"})
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%s: err = %v", tc.name, tc.value, err)
		}
		if _, serr := os.Stat(data); serr == nil {
			t.Errorf("%s=%s: data folder created", tc.name, tc.value)
		}
	}
}
