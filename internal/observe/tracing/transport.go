package tracing

import (
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport returns base wrapped so that every outbound request is a
// client span that sends its W3C traceparent to the server, or base itself
// when tp is off (On). A nil base is http.DefaultTransport.
//
// Spans are named "<method> <host>" ("POST api.weixin.qq.com") and carry
// the method, server.address, server.port and the status code: never the
// URL's path or query (WeChat's access_token and js_code, a department's
// identifiers travel there), headers or bodies. A transport error or a 5xx
// answer marks the span as an error, with the status text only.
//
// It is written here rather than taken from otelhttp, whose client spans
// record url.full, query included.
func Transport(tp trace.TracerProvider, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if !On(tp) {
		return base
	}
	return &transport{base: base, tracer: tp.Tracer(instrumentation), prop: Propagator()}
}

type transport struct {
	base   http.RoundTripper
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Hostname()
	method := methodName(r.Method)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.ServerAddress(host))}
	if p := portOf(r); p > 0 {
		opts = append(opts, trace.WithAttributes(semconv.ServerPort(p)))
	}
	ctx, span := t.tracer.Start(r.Context(), method+" "+host, opts...)
	defer span.End()
	// A RoundTripper must not change the caller's request: send a copy
	// carrying the span and its traceparent.
	r = r.Clone(ctx)
	t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		span.SetStatus(codes.Error, "transport error")
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}

// portOf is the port the request goes to: the URL's, or the scheme's.
func portOf(r *http.Request) int {
	if p := r.URL.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	switch r.URL.Scheme {
	case "https":
		return 443
	case "http":
		return 80
	}
	_, p, _ := net.SplitHostPort(r.Host)
	n, _ := strconv.Atoi(p)
	return n
}
