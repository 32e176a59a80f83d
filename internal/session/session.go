package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
)

// ErrUnauthenticated means the token is missing, unknown, expired or revoked.
var ErrUnauthenticated = platform.NewError("unauthenticated", "请先登录")

// Session is what a valid token stands for.
type Session struct {
	UserID  string
	Channel string
	// Level is the user's real-name level as this session last knew it. Levels
	// only rise, so a stale value is lower than the truth: use it to let a
	// request through quickly, and re-read the store before refusing one.
	Level     int
	CreatedAt time.Time
	ExpiresAt time.Time // when the session ends if unused (idle expiry, capped)
	// View is the cached rendering of the user's page kept with the session
	// (see SetView), nil when absent or older than Config.ViewTTL.
	View []byte
}

// Config sets the store's lifetimes and keys.
type Config struct {
	Prefix string        // Redis key prefix, e.g. "banshi:"
	Secret []byte        // HMAC key for token digests
	Idle   time.Duration // sliding idle expiry
	Max    time.Duration // absolute cap from creation
	// ViewTTL bounds how old a cached page view may be (default 30 s): the
	// longest a missed invalidation can show stale data.
	ViewTTL time.Duration
}

// Store keeps sessions in Redis.
type Store struct {
	rdb   redis.UniversalClient
	cfg   Config
	clock platform.Clock
}

// NewStore returns a session store. Secret must not be empty.
func NewStore(rdb redis.UniversalClient, cfg Config, clock platform.Clock) *Store {
	return &Store{rdb: rdb, cfg: cfg, clock: clock}
}

func (s *Store) key(digest string) string  { return s.cfg.Prefix + "sess:" + digest }
func (s *Store) userKey(uid string) string { return s.cfg.Prefix + "usess:" + uid }

// digest is what Redis keeps of token: its HMAC under the session secret.
func (s *Store) digest(token string) string { return platform.TokenDigest(s.cfg.Secret, token) }

// Create starts a session for userID (whose real-name level is level) and
// returns its token. Errors are Redis failures.
func (s *Store) Create(ctx context.Context, userID, channel string, level int) (string, Session, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.clock.Now()
	sess := Session{UserID: userID, Channel: channel, Level: level, CreatedAt: now, ExpiresAt: now.Add(s.cfg.Idle)}
	d := s.digest(token)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.key(d), "uid", userID, "ch", channel, "created", now.UnixMilli(), "lvl", level)
		p.Expire(ctx, s.key(d), s.cfg.Idle)
		p.SAdd(ctx, s.userKey(userID), d)
		p.Expire(ctx, s.userKey(userID), s.cfg.Max)
		return nil
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("session create: %w", err)
	}
	return token, sess, nil
}

// setViewScript stores a view only while the session exists (HSET alone
// would resurrect a revoked session without expiry). KEYS[1] session key;
// ARGV[1] view, ARGV[2] now (ms).
var setViewScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'view', ARGV[1], 'view_at', ARGV[2])
return 1
`)

func (s *Store) viewTTL() time.Duration {
	if s.cfg.ViewTTL > 0 {
		return s.cfg.ViewTTL
	}
	return 30 * time.Second
}

// SetView caches a rendering of the user's page with the session of token,
// so the next Touch returns it without another store read. A revoked or
// expired session is left alone. Errors are Redis failures.
func (s *Store) SetView(ctx context.Context, token string, view []byte) error {
	err := setViewScript.Run(ctx, s.rdb, []string{s.key(s.digest(token))}, view, s.clock.Now().UnixMilli()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("session set view: %w", err)
	}
	return nil
}

// setLevelScript raises the level of a live session (never lowers it, never
// resurrects a revoked one) and drops its cached page view, which shows the
// level. KEYS[1] session key; ARGV[1] level.
var setLevelScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'lvl') or '0')
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'lvl', ARGV[1]) end
redis.call('HDEL', KEYS[1], 'view', 'view_at')
return 1
`)

// RaiseLevel records a higher real-name level in every session of userID and
// drops their cached page views (so it does what DropViews does too).
// Errors are Redis failures.
func (s *Store) RaiseLevel(ctx context.Context, userID string, level int) error {
	ds, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return fmt.Errorf("session raise level: %w", err)
	}
	for _, d := range ds {
		if err := setLevelScript.Run(ctx, s.rdb, []string{s.key(d)}, level).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("session raise level: %w", err)
		}
	}
	return nil
}

// DropViews forgets the cached page views of every session of userID; call it
// whenever something shown on the user's page changes. Errors are Redis
// failures.
func (s *Store) DropViews(ctx context.Context, userID string) error {
	ds, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return fmt.Errorf("session drop views: %w", err)
	}
	for _, d := range ds {
		if err := s.rdb.HDel(ctx, s.key(d), "view", "view_at").Err(); err != nil {
			return fmt.Errorf("session drop views: %w", err)
		}
	}
	return nil
}

// Touch resolves token to its session and slides the idle expiry: one
// pipelined round trip (HMGET, PEXPIRE), and a second PEXPIRE only in the last
// idle period before the absolute cap. (No Lua: cheaper on Redis and much
// cheaper on the embedded miniredis.) It returns ErrUnauthenticated for an
// empty, unknown, expired or revoked token, and a wrapped Redis error
// otherwise.
func (s *Store) Touch(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrUnauthenticated
	}
	now := s.clock.Now()
	key := s.key(s.digest(token))
	var get *redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HMGet(ctx, key, "uid", "ch", "created", "view", "view_at", "lvl")
		p.PExpire(ctx, key, s.cfg.Idle) // a no-op when the key is gone
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("session touch: %w", err)
	}
	v := get.Val()
	str := func(i int) string {
		if i < len(v) {
			if x, ok := v[i].(string); ok {
				return x
			}
		}
		return ""
	}
	uid := str(0)
	created, cerr := strconv.ParseInt(str(2), 10, 64)
	if uid == "" || cerr != nil {
		return Session{}, ErrUnauthenticated
	}
	left := time.UnixMilli(created).Add(s.cfg.Max).Sub(now)
	if left <= 0 {
		s.rdb.Del(ctx, key)
		return Session{}, ErrUnauthenticated
	}
	ttl := s.cfg.Idle
	if left < ttl {
		ttl = left
		if err := s.rdb.PExpire(ctx, key, ttl).Err(); err != nil {
			return Session{}, fmt.Errorf("session touch: %w", err)
		}
	}
	sess := Session{
		UserID: uid, Channel: str(1), CreatedAt: time.UnixMilli(created).UTC(), ExpiresAt: now.Add(ttl),
	}
	if at, err := strconv.ParseInt(str(4), 10, 64); err == nil && now.UnixMilli()-at < s.viewTTL().Milliseconds() && str(3) != "" {
		sess.View = []byte(str(3))
	}
	sess.Level, _ = strconv.Atoi(str(5))
	return sess, nil
}

// Revoke ends the session of token. Unknown tokens are not an error.
func (s *Store) Revoke(ctx context.Context, token string) error {
	d := s.digest(token)
	uid, err := s.rdb.HGet(ctx, s.key(d), "uid").Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session revoke: %w", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.key(d))
		p.SRem(ctx, s.userKey(uid), d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session revoke: %w", err)
	}
	return nil
}

// RevokeAll ends every session of userID and returns how many there were.
//
// It removes from the user's set only the sessions it read and ended, never
// the set itself: a login racing it either is ended (it was read) or stays
// in the set, within reach of the next revoke and of level changes. Create
// writes the session before adding it to the set, so a member read here
// always has its session written already.
func (s *Store) RevokeAll(ctx context.Context, userID string) (int, error) {
	ds, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return 0, fmt.Errorf("session revoke all: %w", err)
	}
	// DEL one key at a time keeps this valid on Redis Cluster (keys may live on
	// different slots).
	n := 0
	for _, d := range ds {
		c, err := s.rdb.Del(ctx, s.key(d)).Result()
		if err != nil {
			return n, fmt.Errorf("session revoke all: %w", err)
		}
		n += int(c)
	}
	if len(ds) > 0 {
		members := make([]any, len(ds))
		for i, d := range ds {
			members[i] = d
		}
		if err := s.rdb.SRem(ctx, s.userKey(userID), members...).Err(); err != nil {
			return n, fmt.Errorf("session revoke all: %w", err)
		}
	}
	return n, nil
}
