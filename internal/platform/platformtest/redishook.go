package platformtest

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RedisCounter is a go-redis hook counting what a client sends Redis:
// Commands one by one (pipelined ones each), and RoundTrips (a command
// sent alone, or a whole pipeline, is one). Add it with rdb.AddHook.
type RedisCounter struct {
	Commands   atomic.Int64
	RoundTrips atomic.Int64
}

var _ redis.Hook = (*RedisCounter)(nil)

// DialHook implements redis.Hook.
func (c *RedisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (c *RedisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.Commands.Add(1)
		c.RoundTrips.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *RedisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.Commands.Add(int64(len(cmds)))
		c.RoundTrips.Add(1)
		return next(ctx, cmds)
	}
}
