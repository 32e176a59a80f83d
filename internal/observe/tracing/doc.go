// Package tracing is Banshi's OpenTelemetry tracing: the tracer provider
// built from configuration (off by default: a no-op provider, no exporter,
// nothing wrapped) and the instrumentation of inbound HTTP (Echo), MongoDB
// commands, Redis commands and outbound HTTP.
//
// Nothing that identifies a citizen leaves in a span: span names are route
// templates, command names and hosts; no URL path or query, no command or
// statement text, no argument values, no request or response bodies, no
// headers, and no error text that a store may fill with document values. The
// W3C trace context (traceparent) is the only propagation format: baggage,
// which a client could fill with anything, is neither read nor sent.
package tracing
