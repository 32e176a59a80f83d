package notify

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

type traceChannel struct {
	*fakeChannel
	got map[string]trace.SpanContext
}

func (c traceChannel) Deliver(ctx context.Context, d Delivery) error {
	c.mu.Lock()
	c.got[d.ID] = trace.SpanContextFromContext(ctx)
	c.mu.Unlock()
	return c.fakeChannel.Deliver(ctx, d)
}

// TestDeliveryContinuesThePublishersTrace: a message published inside a
// traced request is sent with that trace in the send's context (through
// the Redis queue's payload); one published outside any trace is sent with
// none.
func TestDeliveryContinuesThePublishersTrace(t *testing.T) {
	f := newOutboxFixture(t, nil, "wechat")
	ch := traceChannel{newFake("wechat"), map[string]trace.SpanContext{}}
	req := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
	})
	traced := trace.ContextWithSpanContext(f.ctx, req)
	if err := f.box.Notify(traced, Message{ID: "traced", UserID: "u1", Kind: "k", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := f.box.Notify(f.ctx, Message{ID: "plain", UserID: "u1", Kind: "k", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{})
	if n, err := d.RunOnce(f.ctx); err != nil || n != 2 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got := ch.got["traced|wechat"]
	if got.TraceID() != req.TraceID() || got.SpanID() != req.SpanID() || !got.IsSampled() || !got.IsRemote() {
		t.Errorf("traced delivery sent with %+v, want the publisher's span %+v", got, req)
	}
	if plain := ch.got["plain|wechat"]; plain.IsValid() {
		t.Errorf("untraced delivery sent inside trace %s", plain.TraceID())
	}
}
