package platform_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestWindowCountQueue: the counter lives under key:<minute> with an expiry,
// and Undo gives the request back.
func TestWindowCountQueue(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	now := time.Date(2026, 11, 23, 8, 0, 30, 0, time.UTC)
	var w *platform.WindowCount
	for range 3 {
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			w = platform.QueueWindowCount(ctx, p, prefix+"{u:x}:rl", now)
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
	}
	if d := w.Decide(2); d.Allowed {
		t.Fatalf("3rd of 2 allowed: %+v", d)
	}
	if err := w.Undo(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	key := prefix + "{u:x}:rl:" + "29923680" // 2026-11-23T08:00Z in minutes since the epoch
	if n, err := rdb.Get(ctx, key).Int(); err != nil || n != 2 {
		t.Fatalf("%s = %d, %v; want 2", key, n, err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= time.Minute || ttl > 2*time.Minute {
		t.Fatalf("counter expiry %s", ttl)
	}
}
