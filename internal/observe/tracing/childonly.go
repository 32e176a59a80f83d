package tracing

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// childOnly wraps a provider so that its tracers start spans only inside
// an existing trace: a call with no span in its context (a background
// loop polling a store) records nothing, instead of starting a trace of
// its own for every poll.
type childOnly struct{ trace.TracerProvider }

func (p childOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childOnlyTracer{p.TracerProvider.Tracer(name, opts...)}
}

type childOnlyTracer struct{ trace.Tracer }

func (t childOnlyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return t.Tracer.Start(ctx, name, opts...)
}
