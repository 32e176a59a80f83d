package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

func TestInboxAddIsIdempotentAndListsNewestFirst(t *testing.T) {
	ctx := context.Background()
	clock := platform.NewManualClock(time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC))
	in := NewInbox(platformtest.Mongo(t), clock)
	if err := in.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.Add(ctx, Message{ID: "m1", UserID: "u1", Kind: "k", Title: "first"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	clock.Advance(time.Minute)
	if err := in.Notify(ctx, Message{ID: "m2", UserID: "u1", Title: "second"}); err != nil {
		t.Fatal(err)
	}
	if err := in.Add(ctx, Message{ID: "m3", UserID: "u2", Title: "other user"}); err != nil {
		t.Fatal(err)
	}
	got, err := in.List(ctx, "u1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "m2" || got[1].ID != "m1" {
		t.Fatalf("got %+v", got)
	}
	if !got[1].CreatedAt.Equal(time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("created_at %v", got[1].CreatedAt)
	}
	if got, _ := in.List(ctx, "nobody", 0); len(got) != 0 || got == nil {
		t.Fatalf("empty inbox must be an empty, non-nil list: %#v", got)
	}
}

func TestInboxRejectsIncompleteMessages(t *testing.T) {
	ctx := context.Background()
	in := NewInbox(platformtest.Mongo(t), nil)
	for _, m := range []Message{{UserID: "u", Title: "t"}, {ID: "x", Title: "t"}, {ID: "x", UserID: "u"}} {
		if err := in.Add(ctx, m); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: err %v", m, err)
		}
	}
	if got, _ := in.List(ctx, "u", 5); len(got) != 0 {
		t.Fatalf("nothing must be stored: %+v", got)
	}
}
