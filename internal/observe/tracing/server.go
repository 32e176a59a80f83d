package tracing

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// Server returns the Echo middleware that makes one server span per
// request, or nil when tp is off (On): the caller then adds nothing.
//
// Use it with Echo's Use (after routing), so that the span is named by the
// route template ("GET /api/v1/appointments/:id"; a request no route
// matches is named by its method alone) and never by the raw path, which
// may carry identifiers. The incoming W3C traceparent continues its trace
// (sampling still decides by trace ID, see Setup). Attributes: the method
// (or _OTHER), the route template, the status code and the URL scheme; no
// path, query, header, client address or body. A 5xx answer marks the span
// as an error. The span is in the request's context for everything the
// handler calls, so store and outbound spans are its children.
//
// The handler's error is answered (c.Error) inside the span, so the status
// recorded is the one sent.
func Server(tp trace.TracerProvider) echo.MiddlewareFunc {
	if !On(tp) {
		return nil
	}
	tracer := tp.Tracer(instrumentation)
	prop := Propagator()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			method := methodName(req.Method)
			route := c.Path()
			name := method
			attrs := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
			if route != "" {
				name += " " + route
				attrs = append(attrs, trace.WithAttributes(semconv.HTTPRoute(route)))
			}
			scheme := "http"
			if req.TLS != nil {
				scheme = "https"
			}
			attrs = append(attrs, trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.URLScheme(scheme)))
			ctx, span := tracer.Start(ctx, name, attrs...)
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			if err := next(c); err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return nil
		}
	}
}

// methodName is the method as semantic conventions name it: one of the
// standard methods, or _OTHER (a client's invented method never becomes a
// span name).
func methodName(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// TraceID returns the trace ID of the span in the request's context when
// that span is sampled (its trace is exported), else "". The API's access
// log writes it so that log lines and traces join.
func TraceID(c echo.Context) string {
	sc := trace.SpanContextFromContext(c.Request().Context())
	if !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}
