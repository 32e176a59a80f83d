package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
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

// OpenRedis connects to url (one server: redis://, rediss:// or unix://; a
// Redis Cluster: several redis:// seeds separated by commas; Sentinels:
// redis-sentinel://; see parseRedisTarget) and pings it,
// or when url is empty starts an embedded miniredis on loopback. Commands
// on an external Redis give up after about a second (see StoreTimeout)
// unless url says otherwise; the in-process miniredis keeps go-redis's
// defaults.
//
// Errors: a malformed url (as LoadConfig reports it), a failed ping, or a
// failed start of the embedded server. No error carries the URL's password.
func OpenRedis(ctx context.Context, url string, log *slog.Logger) (*Redis, error) {
	if url != "" {
		target, err := parseRedisTarget(url)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		c := target.client()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Ping(pctx).Err(); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("ping Redis at %s: %w", RedactURL(url), redactError(err, url))
		}
		log.Info("store in use", "redis", "external ("+target.kind+")", "addr", target.addrs())
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

// parseRedisURL parses a REDIS_URL as OpenRedis connects with it. Errors
// never carry the URL's credentials (see parseError).
func parseRedisURL(raw string) (*redis.Options, error) {
	opt, err := parseRedisOptions(raw)
	if err != nil {
		return nil, parseError(raw, err, func(s string) error { _, err := parseRedisOptions(s); return err })
	}
	return opt, nil
}

// parseRedisOptions is go-redis's ParseURL made stricter: a TCP port must
// be 1-65535, and the user information go-redis read must be all the text
// before the last '@'. Otherwise an unescaped '#' or '?' in a password
// could leave part of it in the address, which is logged and dialled.
func parseRedisOptions(raw string) (*redis.Options, error) {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if p := splitURL(raw); p.userinfo {
		user, pass := unescape(p.secret), ""
		if p.colon {
			user, pass = unescape(p.user), unescape(p.secret)
		}
		if opt.Username != user || opt.Password != pass {
			return nil, errors.New("user information not where go-redis reads it: percent-encode the reserved characters : / ? # @ in the user name and password")
		}
	}
	if opt.Network == "unix" {
		return opt, nil
	}
	_, port, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("redis: invalid address %q: %w", opt.Addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("redis: invalid port %q: want 1-65535", port)
	}
	return opt, nil
}

// unescape percent-decodes a user name or password as net/url does; text
// that does not decode is returned as is.
func unescape(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}
