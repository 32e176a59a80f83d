package notify

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
)

// traceContext is the W3C propagation the outbox carries a publisher's
// trace with: a delivery's send continues the trace of the request that
// published it (its outbound call is a child of that request's span), even
// when another process sends it minutes later.
var traceContext propagation.TraceContext

// traceParentOf is the W3C traceparent of the span in ctx ("" with no span:
// tracing off, or a background publisher).
func traceParentOf(ctx context.Context) string {
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"]
}

// withTraceParent returns ctx carrying the remote span of traceparent; ctx
// itself when it is empty or malformed.
func withTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
