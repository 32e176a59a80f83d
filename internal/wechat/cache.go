package wechat

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// RedisCache adapts a go-redis v9 client to silenceper's cache interface (the
// SDK's own Redis cache speaks only go-redis v8). Values are strings (the SDK
// caches access tokens and tickets).
type RedisCache struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ cache.ContextCache = (*RedisCache)(nil)

// NewRedisCache returns a cache whose keys all start with prefix.
func NewRedisCache(rdb redis.UniversalClient, prefix string) *RedisCache {
	return &RedisCache{rdb: rdb, prefix: prefix}
}

// Get returns the value or nil when absent or on error.
func (c *RedisCache) Get(key string) interface{} { return c.GetContext(context.Background(), key) }

// Set stores val (as a string) for timeout; see SetContext.
func (c *RedisCache) Set(key string, val interface{}, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

// IsExist reports whether key is present.
func (c *RedisCache) IsExist(key string) bool { return c.IsExistContext(context.Background(), key) }

// Delete removes key.
func (c *RedisCache) Delete(key string) error { return c.DeleteContext(context.Background(), key) }

// GetContext returns the value or nil when absent or on error.
func (c *RedisCache) GetContext(ctx context.Context, key string) interface{} {
	v, err := c.rdb.Get(ctx, c.prefix+key).Result()
	if err != nil {
		return nil
	}
	return v
}

// SetContext stores val (as a string) for timeout. A timeout of zero or less
// means the value is already stale: nothing is stored (an older value is
// removed) and the error is nil. silenceper caches a stable access token for
// expires_in − 300 s and, given a token in its last 5 minutes, asks for
// exactly that: refusing would fail the call that fetched a working token.
func (c *RedisCache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	if timeout <= 0 {
		return c.rdb.Del(ctx, c.prefix+key).Err()
	}
	return c.rdb.Set(ctx, c.prefix+key, val, timeout).Err()
}

// IsExistContext reports whether key is present.
func (c *RedisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, c.prefix+key).Result()
	return err == nil && n > 0
}

// DeleteContext removes key.
func (c *RedisCache) DeleteContext(ctx context.Context, key string) error {
	return c.rdb.Del(ctx, c.prefix+key).Err()
}
