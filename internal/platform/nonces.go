package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisNonces is a NonceStore in Redis: one key per (source, nonce) set only
// if absent, expiring after the ttl. Losing Redis data forgets nonces, which
// reopens replays within the window: what a replay could do is bounded by
// the idempotency of what it carries (every hook event has an event_id
// decided in MongoDB).
type RedisNonces struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisNonces returns the store with keys under prefix.
func NewRedisNonces(rdb redis.UniversalClient, prefix string) *RedisNonces {
	return &RedisNonces{rdb: rdb, prefix: prefix}
}

// Seen records (source, nonce) for ttl and reports whether it was recorded
// already. Errors are Redis failures (callers refuse the request).
func (n *RedisNonces) Seen(ctx context.Context, source, nonce string, ttl time.Duration) (bool, error) {
	set, err := n.rdb.SetNX(ctx, n.prefix+"hooknonce:{"+source+"}:"+nonce, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("hook nonce: %w", err)
	}
	return !set, nil
}
