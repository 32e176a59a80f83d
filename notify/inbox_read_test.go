package notify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

func TestInboxPagesReadsAndCounts(t *testing.T) {
	ctx := context.Background()
	clock := platform.NewManualClock(t0)
	in := NewInbox(platformtest.Mongo(t), clock)
	// 25 messages, several sharing a millisecond: the cursor must not skip or repeat.
	for i := range 25 {
		if i%3 == 0 {
			clock.Advance(time.Second)
		}
		if err := in.Add(ctx, Message{ID: fmt.Sprintf("m%02d", i), UserID: "u1", Kind: "k", Title: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Add(ctx, Message{ID: "other", UserID: "u2", Kind: "k", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var order []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := in.Page(ctx, "u1", InboxQuery{Before: cursor, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Messages {
			if seen[m.ID] {
				t.Fatalf("%s on two pages", m.ID)
			}
			seen[m.ID] = true
			order = append(order, m.ID)
			if m.CreatedAt.Location() != platform.Shanghai() {
				t.Fatal("created_at not in +08:00")
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 25 || order[0] != "m24" || order[24] != "m00" {
		t.Fatalf("paged %d messages: %v", len(seen), order)
	}
	if n, _ := in.Unread(ctx, "u1"); n != 25 {
		t.Fatalf("unread %d", n)
	}
	m, err := in.MarkRead(ctx, "u1", "m03")
	if err != nil || m.ReadAt == nil {
		t.Fatalf("mark read: %+v, %v", m, err)
	}
	first := *m.ReadAt
	clock.Advance(time.Minute)
	if again, _ := in.MarkRead(ctx, "u1", "m03"); !again.ReadAt.Equal(first) {
		t.Fatal("reading again moved read_at")
	}
	if _, err := in.MarkRead(ctx, "u1", "other"); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("another citizen's message: %v", err)
	}
	var o Message
	_ = in.coll.FindOne(ctx, bson.M{"_id": "other"}).Decode(&o)
	if o.ReadAt != nil {
		t.Fatal("another citizen's message was marked read")
	}
	if p, _ := in.Page(ctx, "u1", InboxQuery{Unread: true, Limit: 100}); len(p.Messages) != 24 {
		t.Fatalf("unread page: %d", len(p.Messages))
	}
	if n, _ := in.MarkAllRead(ctx, "u1"); n != 24 {
		t.Fatalf("read-all marked %d", n)
	}
	if n, _ := in.Unread(ctx, "u1"); n != 0 {
		t.Fatalf("unread after read-all: %d", n)
	}
	if n, _ := in.Unread(ctx, "u2"); n != 1 {
		t.Fatal("read-all touched another citizen")
	}
	for _, bad := range []InboxQuery{{Before: "!!"}, {Before: "bm90LWEtY3Vyc29y"}, {Limit: 101}, {Limit: -1}} {
		if _, err := in.Page(ctx, "u1", bad); !errors.Is(err, platform.Invalid("", "", "")) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// FuzzInboxCursor: whatever a client sends as a cursor, parsing never panics,
// accepts only a time and a non-empty id, and what it accepts reads back the
// same through cursorOf.
func FuzzInboxCursor(f *testing.F) {
	f.Add(cursorOf(Message{ID: "m1", CreatedAt: t0}))
	f.Add("")
	f.Add("MTc3|")
	f.Fuzz(func(t *testing.T, s string) {
		ts, id, err := parseCursor(s)
		if err != nil {
			return
		}
		if id == "" || ts.Before(time.Unix(0, 0)) {
			t.Fatalf("accepted %q as %v %q", s, ts, id)
		}
		ts2, id2, err := parseCursor(cursorOf(Message{ID: id, CreatedAt: ts}))
		if err != nil || !ts2.Equal(ts) || id2 != id {
			t.Fatalf("%q does not read back: %v %q %v", s, ts2, id2, err)
		}
	})
}
