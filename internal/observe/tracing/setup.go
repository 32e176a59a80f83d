package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is the service.name of every span Banshi exports.
const ServiceName = "banshi"

// Settings say whether and where Banshi exports traces.
type Settings struct {
	// Endpoint is the OTLP/HTTP collector (BANSHI_OTEL_ENDPOINT), e.g.
	// http://collector:4318; /v1/traces is appended to a URL without a
	// path. Empty: tracing is off.
	Endpoint string
	// SampleRatio is the share of new traces kept, 0 to 1
	// (BANSHI_OTEL_SAMPLE_RATIO).
	SampleRatio float64
	// Role is the process's role: serve or worker (service.instance.role).
	Role string
	// Version is service.version; empty: the build's (BuildVersion).
	Version string
}

// Setup returns the tracer provider for s and the function that flushes
// and stops it (call it once, at shutdown, with a deadline).
//
// With no Endpoint it returns a no-op provider and a shutdown that does
// nothing: no exporter is built, no goroutine started, and On reports false,
// so that nothing is instrumented. Otherwise spans are batched and sent over
// OTLP/HTTP (protobuf) to the endpoint; the exporter also reads the standard
// OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE and _COMPRESSION
// variables (the endpoint is always Endpoint). Sampling keeps SampleRatio of
// the traces by trace ID, a remote parent's sampled flag included: a client
// cannot make Banshi record every request it sends.
//
// Errors: an Endpoint that is not an http(s) URL, or a SampleRatio outside
// [0, 1]. Nothing is sent at start-up: a collector that is down costs dropped
// spans (logged through the exporter's errors), never a failed start.
func Setup(ctx context.Context, s Settings, log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	off := func(context.Context) error { return nil }
	if s.Endpoint == "" {
		return noop.NewTracerProvider(), off, nil
	}
	if !(s.SampleRatio >= 0 && s.SampleRatio <= 1) {
		return nil, nil, fmt.Errorf("BANSHI_OTEL_SAMPLE_RATIO must be a number from 0 to 1, got %v", s.SampleRatio)
	}
	endpoint, err := tracesURL(s.Endpoint)
	if err != nil {
		return nil, nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, nil, fmt.Errorf("BANSHI_OTEL_ENDPOINT: %w", err)
	}
	version := s.Version
	if version == "" {
		version = BuildVersion()
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(ServiceName), semconv.ServiceVersion(version),
		attribute.String("banshi.role", s.Role))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler(s.SampleRatio)),
	)
	log.Info("tracing on", "endpoint", endpoint, "sample_ratio", s.SampleRatio, "role", s.Role)
	return tp, tp.Shutdown, nil
}

// sampler keeps ratio of the traces by trace ID. A local parent's decision
// is followed (the children of a kept span are kept); a remote parent's
// sampled flag is not trusted.
func sampler(ratio float64) sdktrace.Sampler {
	r := sdktrace.TraceIDRatioBased(ratio)
	return sdktrace.ParentBased(r, sdktrace.WithRemoteParentSampled(r), sdktrace.WithRemoteParentNotSampled(r))
}

// tracesURL is the OTLP/HTTP traces URL of endpoint.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", errors.New("BANSHI_OTEL_ENDPOINT must be the http(s) URL of an OTLP/HTTP collector without credentials, such as http://collector:4318")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// On reports whether tp records anything: false for nil and for the no-op
// provider Setup returns when tracing is off. The instrumentation of this
// package wraps nothing when it is false.
func On(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	_, noOp := tp.(noop.TracerProvider)
	return !noOp
}

// Propagator is the one propagation format Banshi reads and writes: W3C
// trace context (traceparent, tracestate).
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// BuildVersion is the version of this build: the module version, or the
// VCS revision (12 characters, "+dirty" when modified) of a development
// build, or "unknown".
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "unknown"
	}
	return rev + dirty
}

// instrumentation is the instrumentation scope of Banshi's own spans.
const instrumentation = "banshi/internal/observe/tracing"
