package tracing

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func recorder() (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)), exp
}

// TestOffByDefault: without an endpoint Setup builds no exporter and
// instruments nothing: the provider is the no-op one, the middleware and
// the monitor are nil and the transport is the one given.
func TestOffByDefault(t *testing.T) {
	tp, shutdown, err := Setup(context.Background(), Settings{SampleRatio: 1, Role: "serve"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if On(tp) || On(nil) {
		t.Fatal("tracing is on without an endpoint")
	}
	if Server(tp) != nil || MongoMonitor(tp) != nil {
		t.Fatal("something is instrumented with tracing off")
	}
	if rt := Transport(tp, http.DefaultTransport); rt != http.DefaultTransport {
		t.Fatalf("transport wrapped with tracing off: %T", rt)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSetupRejectsBadValues: a malformed endpoint or ratio is an error
// naming the variable.
func TestSetupRejectsBadValues(t *testing.T) {
	for _, s := range []Settings{
		{Endpoint: "collector:4318", SampleRatio: 1},
		{Endpoint: "ftp://collector", SampleRatio: 1},
		{Endpoint: "http://user:pw@collector:4318", SampleRatio: 1},
	} {
		if _, _, err := Setup(context.Background(), s, quiet()); err == nil || !strings.Contains(err.Error(), "BANSHI_OTEL_ENDPOINT") || strings.Contains(err.Error(), "pw") {
			t.Errorf("%+v: err = %v", s, err)
		}
	}
	for _, r := range []float64{-0.1, 1.01} {
		if _, _, err := Setup(context.Background(), Settings{Endpoint: "http://c:4318", SampleRatio: r}, quiet()); err == nil || !strings.Contains(err.Error(), "BANSHI_OTEL_SAMPLE_RATIO") {
			t.Errorf("ratio %v: err = %v", r, err)
		}
	}
}

// TestExporterSendsOTLP: with an endpoint, spans reach a real OTLP/HTTP
// receiver as protobuf at /v1/traces, with Banshi's resource.
func TestExporterSendsOTLP(t *testing.T) {
	var (
		mu   sync.Mutex
		reqs []*coltrace.ExportTraceServiceRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("got %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("not an OTLP request: %v", err)
		}
		mu.Lock()
		reqs = append(reqs, &req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	defer srv.Close()
	tp, shutdown, err := Setup(context.Background(), Settings{Endpoint: srv.URL, SampleRatio: 1, Role: "worker", Version: "v9.9.9"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !On(tp) {
		t.Fatal("tracing off with an endpoint")
	}
	_, span := tp.Tracer("test").Start(context.Background(), "exported-span")
	span.End()
	if err := shutdown(context.Background()); err != nil { // flushes
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) == 0 {
		t.Fatal("the receiver got nothing")
	}
	var found bool
	for _, req := range reqs {
		for _, rs := range req.ResourceSpans {
			res := map[string]string{}
			for _, kv := range rs.Resource.Attributes {
				res[kv.Key] = kv.Value.GetStringValue()
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if s.Name == "exported-span" {
						found = true
						if res["service.name"] != "banshi" || res["banshi.role"] != "worker" || res["service.version"] != "v9.9.9" {
							t.Errorf("resource = %v", res)
						}
					}
				}
			}
		}
	}
	if !found {
		t.Fatal("the span is not in what the receiver got")
	}
}

// TestSamplingRatioZeroKeepsNothing: ratio 0 records no span, even when
// the client's traceparent says sampled.
func TestSamplingRatioZeroKeepsNothing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sampler(0)))
	e := echo.New()
	e.Use(Server(tp))
	e.GET("/x", func(c echo.Context) error { return c.NoContent(204) })
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	e.ServeHTTP(httptest.NewRecorder(), req)
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans recorded at ratio 0", n)
	}
}

// TestServerSpanNamedByRoute: the server span is named by the route
// template, continues the caller's trace, records the status, and carries
// neither the path's identifier nor the query; the trace ID is what
// TraceID gives the access log.
func TestServerSpanNamedByRoute(t *testing.T) {
	tp, exp := recorder()
	e := echo.New()
	e.Use(Server(tp))
	var logged string
	e.GET("/api/v1/things/:id", func(c echo.Context) error {
		logged = TraceID(c)
		return c.NoContent(500)
	})
	req := httptest.NewRequest("GET", "/api/v1/things/440106199001011234?phone=13800138000", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	e.ServeHTTP(httptest.NewRecorder(), req)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Name != "GET /api/v1/things/:id" || s.SpanKind != trace.SpanKindServer {
		t.Fatalf("span %q kind %v", s.Name, s.SpanKind)
	}
	if s.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || logged != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace %s, logged %q: the caller's trace is not continued", s.SpanContext.TraceID(), logged)
	}
	if s.Status.Code.String() != "Error" {
		t.Errorf("status %v for a 500", s.Status)
	}
	attrs := map[string]string{}
	for _, kv := range s.Attributes {
		attrs[string(kv.Key)] = kv.Value.String()
		if strings.Contains(kv.Value.String(), "440106199001011234") || strings.Contains(kv.Value.String(), "13800138000") {
			t.Errorf("attribute %s carries the path or query: %s", kv.Key, kv.Value.String())
		}
	}
	if attrs["http.route"] != "/api/v1/things/:id" || attrs["http.response.status_code"] != "500" || attrs["http.request.method"] != "GET" {
		t.Errorf("attributes %v", attrs)
	}
}

// TestTransportSendsTraceparent: an outbound call is a child span of the
// caller's, and the server receives that span's traceparent; the query's
// secrets are in no attribute and the caller's request is not changed.
func TestTransportSendsTraceparent(t *testing.T) {
	tp, exp := recorder()
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("traceparent")
	}))
	defer srv.Close()
	client := &http.Client{Transport: Transport(tp, nil)}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/sns/jscode2session?secret=S3cr3tValue&js_code=C0deValue", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()
	if req.Header.Get("traceparent") != "" {
		t.Error("the caller's request was changed")
	}
	var client0 sdktraceSpan
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindClient {
			client0 = sdktraceSpan{s.Name, s.SpanContext, s.Parent}
			for _, kv := range s.Attributes {
				if v := kv.Value.String(); strings.Contains(v, "S3cr3tValue") || strings.Contains(v, "C0deValue") || strings.Contains(v, "jscode2session") {
					t.Errorf("attribute %s = %s", kv.Key, v)
				}
			}
		}
	}
	if !client0.sc.IsValid() || client0.parent.SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("client span %+v is not the parent's child", client0)
	}
	want := propagation.MapCarrier{}
	Propagator().Inject(trace.ContextWithSpanContext(context.Background(), client0.sc), want)
	if got == "" || got != want["traceparent"] {
		t.Fatalf("server got traceparent %q, want %q", got, want["traceparent"])
	}
	if !strings.HasPrefix(client0.name, "GET 127.0.0.1") {
		t.Errorf("span name %q", client0.name)
	}
}

type sdktraceSpan struct {
	name   string
	sc     trace.SpanContext
	parent trace.SpanContext
}

// BenchmarkServer measures the server middleware's cost per request: off
// (nothing added), on and kept, on and not kept (ratio 0).
func BenchmarkServer(b *testing.B) {
	for _, bc := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{"off", nil},
		{"kept", sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))},
		{"dropped", sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler(0)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := echo.New()
			if mw := Server(bc.tp); mw != nil {
				e.Use(mw)
			}
			e.GET("/api/v1/things/:id", func(c echo.Context) error { return c.NoContent(204) })
			req := httptest.NewRequest("GET", "/api/v1/things/42", nil)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
