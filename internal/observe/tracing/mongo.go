package tracing

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// MongoMonitor returns the driver's command monitor that makes one client
// span per MongoDB command inside an existing trace (background loops that
// poll MongoDB start no trace), or nil when tp is off (On): set it with
// options.Client().SetMonitor.
//
// A span is named "<command> <collection>" ("find users"). Its attributes
// are db.system.name, db.namespace (the database), db.collection.name and
// db.operation.name: never the command document (filters, updates and
// documents hold personal data), never the reply, never the failure's
// text (a duplicate-key error quotes the key's value). A failed command
// is an error span with the server's error code name when it has one.
func MongoMonitor(tp trace.TracerProvider) *event.CommandMonitor {
	if !On(tp) {
		return nil
	}
	m := &mongoMonitor{tracer: childOnly{tp}.Tracer(instrumentation)}
	return &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
}

type mongoMonitor struct {
	tracer trace.Tracer
	spans  sync.Map // spanKey → trace.Span, from Started to Succeeded or Failed
}

// spanKey identifies one command on the wire: request IDs are unique per
// connection.
type spanKey struct {
	conn string
	req  int64
}

func (m *mongoMonitor) started(ctx context.Context, e *event.CommandStartedEvent) {
	coll := collectionOf(e.CommandName, e.Command)
	name := e.CommandName
	attrs := []attribute.KeyValue{semconv.DBSystemNameMongoDB, semconv.DBNamespace(e.DatabaseName), semconv.DBOperationName(e.CommandName)}
	if coll != "" {
		name += " " + coll
		attrs = append(attrs, semconv.DBCollectionName(coll))
	}
	_, span := m.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if !span.IsRecording() {
		return
	}
	m.spans.Store(spanKey{e.ConnectionID, e.RequestID}, span)
}

func (m *mongoMonitor) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if v, ok := m.spans.LoadAndDelete(spanKey{e.ConnectionID, e.RequestID}); ok {
		v.(trace.Span).End()
	}
}

func (m *mongoMonitor) failed(_ context.Context, e *event.CommandFailedEvent) {
	v, ok := m.spans.LoadAndDelete(spanKey{e.ConnectionID, e.RequestID})
	if !ok {
		return
	}
	span := v.(trace.Span)
	desc := "command failed"
	if code, ok := codeName(e.Failure); ok {
		desc = code
		span.SetAttributes(attribute.String("db.response.status_code", code))
	}
	span.SetStatus(codes.Error, desc)
	span.End()
}

// collectionOf is the collection a command names: the value of its first
// element for the commands that take one (find, insert, update, delete,
// aggregate, count, distinct, findAndModify, createIndexes, ...); "" for
// the others or when the value is not a string (aggregate: 1).
func collectionOf(command string, doc bson.Raw) string {
	switch command {
	case "find", "insert", "update", "delete", "aggregate", "count", "distinct", "findAndModify",
		"createIndexes", "listIndexes", "dropIndexes", "drop", "create", "collMod", "getMore":
	default:
		return ""
	}
	if command == "getMore" {
		if v, err := doc.LookupErr("collection"); err == nil {
			s, _ := v.StringValueOK()
			return s
		}
		return ""
	}
	el, err := doc.IndexErr(0)
	if err != nil {
		return ""
	}
	s, _ := el.Value().StringValueOK()
	return s
}

// codeName is the server's error code name of err ("DuplicateKey"), or
// its number: never the message.
func codeName(err error) (string, bool) {
	var de driver.Error
	if !errors.As(err, &de) {
		return "", false
	}
	if de.Name != "" {
		return de.Name, true
	}
	if de.Code != 0 {
		return strconv.Itoa(int(de.Code)), true
	}
	return "", false
}
