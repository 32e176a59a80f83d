package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
)

// ErrUnauthenticated means the token is missing, unknown, expired or revoked.
var ErrUnauthenticated = errors.New("session: unauthenticated")

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
func (s *Store) digest(token string) string {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

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

// touchScript reads a session and slides its expiry in one round trip:
// KEYS[1] session key; ARGV[1] now (ms), ARGV[2] idle (ms), ARGV[3] max (ms),
// ARGV[4] view TTL (ms). Returns {uid, channel, created, ttl, view, level}
// (view "" when absent or stale) or nil when absent or past the cap.
var touchScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'uid', 'ch', 'created', 'view', 'view_at', 'lvl')
if not v[1] then return nil end
local now = tonumber(ARGV[1])
local left = tonumber(v[3]) + tonumber(ARGV[3]) - now
if left <= 0 then redis.call('DEL', KEYS[1]) return nil end
local ttl = tonumber(ARGV[2])
if left < ttl then ttl = left end
redis.call('PEXPIRE', KEYS[1], ttl)
local view = ''
if v[4] and v[5] and now - tonumber(v[5]) < tonumber(ARGV[4]) then view = v[4] end
return {v[1], v[2], v[3], tostring(ttl), view, v[6] or '0'}
`)

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
// resurrects a revoked one). KEYS[1] session key; ARGV[1] level.
var setLevelScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'lvl') or '0')
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'lvl', ARGV[1]) end
return 1
`)

// RaiseLevel records a higher real-name level in every session of userID.
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

// Touch resolves token to its session and slides the idle expiry.
// It returns ErrUnauthenticated for an empty, unknown, expired or revoked
// token, and a wrapped Redis error otherwise.
func (s *Store) Touch(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrUnauthenticated
	}
	now := s.clock.Now()
	res, err := touchScript.Run(ctx, s.rdb, []string{s.key(s.digest(token))},
		now.UnixMilli(), s.cfg.Idle.Milliseconds(), s.cfg.Max.Milliseconds(), s.viewTTL().Milliseconds()).Slice()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Session{}, fmt.Errorf("session touch: %w", err)
	}
	if len(res) != 6 {
		return Session{}, ErrUnauthenticated
	}
	uid, _ := res[0].(string)
	ch, _ := res[1].(string)
	created, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
	ttl, _ := strconv.ParseInt(fmt.Sprint(res[3]), 10, 64)
	sess := Session{
		UserID: uid, Channel: ch, CreatedAt: time.UnixMilli(created).UTC(),
		ExpiresAt: now.Add(time.Duration(ttl) * time.Millisecond),
	}
	if v, _ := res[4].(string); v != "" {
		sess.View = []byte(v)
	}
	sess.Level, _ = strconv.Atoi(fmt.Sprint(res[5]))
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
func (s *Store) RevokeAll(ctx context.Context, userID string) (int, error) {
	ds, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return 0, fmt.Errorf("session revoke all: %w", err)
	}
	keys := []string{s.userKey(userID)}
	for _, d := range ds {
		keys = append(keys, s.key(d))
	}
	// DEL one key at a time keeps this valid on Redis Cluster (keys may live on
	// different slots).
	n := 0
	for _, k := range keys[1:] {
		c, err := s.rdb.Del(ctx, k).Result()
		if err != nil {
			return n, fmt.Errorf("session revoke all: %w", err)
		}
		n += int(c)
	}
	if err := s.rdb.Del(ctx, keys[0]).Err(); err != nil {
		return n, fmt.Errorf("session revoke all: %w", err)
	}
	return n, nil
}
