package tracing

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.opentelemetry.io/otel/trace"
)

// TestRedisSpansInsideTracesOnly: a command inside a trace is a child span
// named by the command with no key or value in it; a command outside any
// trace (a background poll) records nothing.
func TestRedisSpansInsideTracesOnly(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer c.Close()
	tp, exp := recorder()
	if err := InstrumentRedis(tp, c); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(context.Background(), "bg:key", "bg-value", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans outside any trace", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	if err := c.Set(ctx, "session:digest-8f3a", "token-value-13800138000", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pipe := c.Pipeline()
	pipe.Get(ctx, "session:digest-8f3a")
	pipe.Expire(ctx, "session:digest-8f3a", 0)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	parent.End()
	var names []string
	for _, s := range exp.GetSpans() {
		if s.Name == "request" {
			continue
		}
		names = append(names, s.Name)
		if s.SpanContext.TraceID() != parent.SpanContext().TraceID() || s.SpanKind != trace.SpanKindClient {
			t.Errorf("span %q is not a client span in the request's trace", s.Name)
		}
		for _, kv := range s.Attributes {
			if v := kv.Value.String(); strings.Contains(v, "digest-8f3a") || strings.Contains(v, "13800138000") || strings.Contains(v, "token-value") {
				t.Errorf("span %q attribute %s = %s", s.Name, kv.Key, v)
			}
		}
	}
	// A new connection's handshake (hello) may show up too, inside the
	// command that dialled it.
	if j := strings.Join(names, ","); !strings.HasPrefix(j, "set,") || !strings.HasSuffix(j, ",redis.pipeline get expire") {
		t.Fatalf("spans %v", names)
	}
}

// TestMongoSpans: a command is a span named by command and collection,
// without the command document; a failure records its code name, not its
// message (which quotes the duplicate key); outside a trace nothing is
// recorded.
func TestMongoSpans(t *testing.T) {
	tp, exp := recorder()
	mon := MongoMonitor(tp)
	cmd, err := bson.Marshal(bson.D{{Key: "insert", Value: "users"}, {Key: "documents", Value: bson.A{bson.D{{Key: "phone", Value: "13800138000"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	start := func(ctx context.Context, req int64) {
		mon.Started(ctx, &event.CommandStartedEvent{Command: cmd, DatabaseName: "banshi", CommandName: "insert", RequestID: req, ConnectionID: "c1"})
	}
	done := event.CommandFinishedEvent{CommandName: "insert", DatabaseName: "banshi", RequestID: 1, ConnectionID: "c1"}
	start(context.Background(), 1)
	mon.Succeeded(context.Background(), &event.CommandSucceededEvent{CommandFinishedEvent: done})
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans outside any trace", n)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	start(ctx, 2)
	failed := done
	failed.RequestID = 2
	mon.Failed(ctx, &event.CommandFailedEvent{CommandFinishedEvent: failed,
		Failure: driver.Error{Code: 11000, Name: "DuplicateKey", Message: `E11000 dup key: { phone: "13800138000" }`}})
	parent.End()
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "insert users" {
		t.Fatalf("spans %v", spans)
	}
	s := spans[0]
	if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.Status.Description != "DuplicateKey" {
		t.Errorf("parent %v status %v", s.Parent, s.Status)
	}
	attrs := map[string]string{}
	for _, kv := range s.Attributes {
		attrs[string(kv.Key)] = kv.Value.String()
		if strings.Contains(kv.Value.String(), "13800138000") {
			t.Errorf("attribute %s = %s", kv.Key, kv.Value.String())
		}
	}
	if attrs["db.collection.name"] != "users" || attrs["db.namespace"] != "banshi" || attrs["db.system.name"] != "mongodb" {
		t.Errorf("attributes %v", attrs)
	}
	for _, ev := range s.Events {
		for _, kv := range ev.Attributes {
			if strings.Contains(kv.Value.String(), "13800138000") {
				t.Errorf("event %s attribute %s = %s", ev.Name, kv.Key, kv.Value.String())
			}
		}
	}
}
