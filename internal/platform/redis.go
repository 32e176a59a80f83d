package platform

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is an open Redis client, real or embedded.
type Redis struct {
	Client   redis.UniversalClient
	Embedded bool
	mini     *miniredis.Miniredis
}

// Close closes the client and stops the embedded server, if any.
func (r *Redis) Close() error {
	err := r.Client.Close()
	if r.mini != nil {
		r.mini.Close()
	}
	return err
}

// Ping checks Redis answers.
func (r *Redis) Ping(ctx context.Context) error { return r.Client.Ping(ctx).Err() }

// OpenRedis connects to url (redis:// or rediss://), or when url is empty
// starts an embedded miniredis on loopback.
func OpenRedis(ctx context.Context, url string, log *slog.Logger) (*Redis, error) {
	if url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opt.DialTimeout = 3 * time.Second
		opt.ReadTimeout = 2 * time.Second
		opt.WriteTimeout = 2 * time.Second
		c := redis.NewClient(opt)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Ping(pctx).Err(); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("ping Redis: %w", err)
		}
		log.Info("store in use", "redis", "external", "addr", opt.Addr)
		return &Redis{Client: c}, nil
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded Redis: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	log.Info("store in use", "redis", "embedded miniredis (memory only)", "addr", m.Addr())
	return &Redis{Client: c, Embedded: true, mini: m}, nil
}
