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
	// only rise, except when a declaration is revoked, which ends every
	// session of the user; so a stale value is lower than the truth: use it
	// to let a request through quickly, and re-read the store before
	// refusing one.
	Level     int
	CreatedAt time.Time
	ExpiresAt time.Time // when the session ends if unused (idle expiry, capped)
	// View is the cached rendering of the user's page kept with the session
	// (see SetView), nil when absent or older than Config.ViewTTL.
	View []byte
	// TouchedAt is when Touch read the session: a view rendered after it
	// reflects the stores as of no earlier than this (pass it to SetView).
	TouchedAt time.Time
}

// DefaultMaxPerUser is how many live sessions a user keeps when
// Config.MaxPerUser is zero: enough for a phone, a tablet and the app, and
// for mini-program launches that log in again, while keeping every per-user
// operation (page-view drops, level changes, revoke-all) a bounded amount of
// work.
const DefaultMaxPerUser = 20

// Config sets the store's lifetimes and keys.
type Config struct {
	Prefix string // Redis key prefix, e.g. "banshi:"
	Secret []byte // HMAC key for token digests
	// PreviousSecret is the session secret before a rotation (nil: none):
	// sessions opened under it are still found (each lookup that misses
	// under Secret tries it) until they end; new ones use Secret.
	PreviousSecret []byte
	Idle           time.Duration // sliding idle expiry
	Max            time.Duration // absolute cap from creation
	// ViewTTL bounds how old a cached page view may be (default 30 s): the
	// longest a missed invalidation can show stale data.
	ViewTTL time.Duration
	// MaxPerUser caps a user's live sessions (default DefaultMaxPerUser): a
	// login beyond it ends the user's oldest sessions.
	MaxPerUser int
}

// Store keeps sessions in Redis.
//
// Keys (Prefix first):
//
//	sess:<digest>          hash: uid, ch, created (ms), lvl, view, view_at;
//	                       idle expiry, never past created+Max
//	{u:<user id>}:sessions sorted set of the user's session digests, scored
//	                       by each session's absolute end (created+Max, ms)
//
// A session key is found from the token alone, so it cannot share the
// user's hash slot; every command on the user's index touches that one key.
// Entries past their absolute end are removed by every per-user operation,
// and a login beyond MaxPerUser ends the oldest sessions, so per-user work is
// bounded by MaxPerUser whatever the number of past logins. Releases before
// this one kept the index as a set, usess:<user id>; a per-user operation
// moves what such a set still lists into the sorted set.
type Store struct {
	rdb   redis.UniversalClient
	cfg   Config
	clock platform.Clock
}

// NewStore returns a session store. Secret must not be empty.
func NewStore(rdb redis.UniversalClient, cfg Config, clock platform.Clock) *Store {
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = DefaultMaxPerUser
	}
	return &Store{rdb: rdb, cfg: cfg, clock: clock}
}

func (s *Store) key(digest string) string { return s.cfg.Prefix + "sess:" + digest }

// userKey is the user's index of sessions (hash-tagged by user).
func (s *Store) userKey(uid string) string { return s.cfg.Prefix + "{u:" + uid + "}:sessions" }

// legacyUserKey is the set earlier releases kept per user.
func (s *Store) legacyUserKey(uid string) string { return s.cfg.Prefix + "usess:" + uid }

// digest is what Redis keeps of token: its HMAC under the session secret.
func (s *Store) digest(token string) string { return platform.TokenDigest(s.cfg.Secret, token) }

// previousDigest is token's digest under the previous secret; "" when there
// is none (no rotation under way).
func (s *Store) previousDigest(token string) string {
	if len(s.cfg.PreviousSecret) == 0 {
		return ""
	}
	return platform.TokenDigest(s.cfg.PreviousSecret, token)
}

// endScore is the index score of a session created at created: its absolute end.
func (s *Store) endScore(created time.Time) float64 {
	return float64(created.Add(s.cfg.Max).UnixMilli())
}

// Create starts a session for userID (whose real-name level is level) and
// returns its token. When the user then has more than MaxPerUser sessions,
// the oldest are ended. Errors are Redis failures.
//
// The session is written before it is added to the user's index, so a
// revoke-all that reads the index never misses a written session's entry:
// it either reads (and ends) it or leaves it for the next one.
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
		return nil
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("session create: %w", err)
	}
	uk := s.userKey(userID)
	var card *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, uk, redis.Z{Score: s.endScore(now), Member: d})
		p.ZRemRangeByScore(ctx, uk, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		p.PExpire(ctx, uk, s.cfg.Max) // no entry ends later than this one
		card = p.ZCard(ctx, uk)
		return nil
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("session create: %w", err)
	}
	if card.Val() > int64(s.cfg.MaxPerUser) {
		if err := s.trim(ctx, userID); err != nil {
			return "", Session{}, err
		}
	}
	return token, sess, nil
}

// trim brings the user's index back to MaxPerUser entries: entries whose
// session is gone (idle expiry, revoked) are dropped first, then the oldest
// live sessions are ended. Two round trips plus one when sessions end.
func (s *Store) trim(ctx context.Context, userID string) error {
	uk := s.userKey(userID)
	ds, err := s.rdb.ZRange(ctx, uk, 0, -1).Result() // oldest first
	if err != nil {
		return fmt.Errorf("session trim: %w", err)
	}
	exists := make([]*redis.IntCmd, len(ds))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range ds {
			exists[i] = p.Exists(ctx, s.key(d))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("session trim: %w", err)
	}
	var gone, live []string
	for i, d := range ds {
		if exists[i].Val() == 0 {
			gone = append(gone, d)
		} else {
			live = append(live, d)
		}
	}
	if extra := len(live) - s.cfg.MaxPerUser; extra > 0 {
		gone = append(gone, live[:extra]...)
	}
	if len(gone) == 0 {
		return nil
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range gone {
			p.Del(ctx, s.key(d)) // a no-op for those already gone
		}
		p.ZRem(ctx, uk, anys(gone)...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session trim: %w", err)
	}
	return nil
}

// sessionsOf returns the digests in the user's index that have not reached
// their absolute end, after removing those that have (one round trip), and
// first moves the entries of an earlier release's set into the index.
func (s *Store) sessionsOf(ctx context.Context, userID string) ([]string, error) {
	uk := s.userKey(userID)
	now := strconv.FormatInt(s.clock.Now().UnixMilli(), 10)
	var rng *redis.StringSliceCmd
	var legacy *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, uk, "-inf", now)
		rng = p.ZRange(ctx, uk, 0, -1)
		legacy = p.Exists(ctx, s.legacyUserKey(userID))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if legacy.Val() == 0 {
		return rng.Val(), nil
	}
	if err := s.absorbLegacy(ctx, userID); err != nil {
		return nil, err
	}
	return s.rdb.ZRange(ctx, uk, 0, -1).Result()
}

// absorbLegacy moves the sessions an earlier release listed in
// usess:<user id> into the user's index, scored by their absolute end, and
// removes from the old set exactly what it read (a process of the earlier
// release may still be adding to it). Sessions already gone are dropped.
// Done once per user; its cost is that of the old set.
func (s *Store) absorbLegacy(ctx context.Context, userID string) error {
	lk := s.legacyUserKey(userID)
	ds, err := s.rdb.SMembers(ctx, lk).Result()
	if err != nil || len(ds) == 0 {
		return err
	}
	created := make([]*redis.StringCmd, len(ds))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range ds {
			created[i] = p.HGet(ctx, s.key(d), "created")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	var live []redis.Z
	for i, d := range ds {
		ms, err := strconv.ParseInt(created[i].Val(), 10, 64)
		if err == nil {
			live = append(live, redis.Z{Score: s.endScore(time.UnixMilli(ms)), Member: d})
		}
	}
	uk := s.userKey(userID)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if len(live) > 0 {
			p.ZAdd(ctx, uk, live...)
			p.PExpire(ctx, uk, s.cfg.Max)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.rdb.SRem(ctx, lk, anys(ds)...).Err(); err != nil {
		return err
	}
	if len(live) > s.cfg.MaxPerUser {
		return s.trim(ctx, userID)
	}
	return nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
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
// so the next Touch returns it without another store read. renderedFrom is
// when the rendering began reading the stores (Session.TouchedAt): the view
// is never served more than Config.ViewTTL after it, however long the
// rendering took, so a change whose view drop raced the rendering shows
// within that bound. A revoked or expired session is left alone. Errors are
// Redis failures.
func (s *Store) SetView(ctx context.Context, token string, view []byte, renderedFrom time.Time) error {
	for _, d := range []string{s.digest(token), s.previousDigest(token)} {
		if d == "" {
			continue
		}
		// The script leaves a missing key alone: during a rotation only
		// the key the session lives under is written.
		err := setViewScript.Run(ctx, s.rdb, []string{s.key(d)}, view, renderedFrom.UnixMilli()).Err()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("session set view: %w", err)
		}
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
// drops their cached page views (so it does what DropViews does too): two
// round trips, at most MaxPerUser scripts. Errors are Redis failures.
func (s *Store) RaiseLevel(ctx context.Context, userID string, level int) error {
	ds, err := s.sessionsOf(ctx, userID)
	if err != nil {
		return fmt.Errorf("session raise level: %w", err)
	}
	if len(ds) == 0 {
		return nil
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range ds {
			setLevelScript.Eval(ctx, p, []string{s.key(d)}, level)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("session raise level: %w", err)
	}
	return nil
}

// DropViews forgets the cached page views of every session of userID; call it
// whenever something shown on the user's page changes. Two round trips, at
// most MaxPerUser HDELs. Errors are Redis failures.
func (s *Store) DropViews(ctx context.Context, userID string) error {
	ds, err := s.sessionsOf(ctx, userID)
	if err != nil {
		return fmt.Errorf("session drop views: %w", err)
	}
	if len(ds) == 0 {
		return nil
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range ds {
			p.HDel(ctx, s.key(d), "view", "view_at")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("session drop views: %w", err)
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
	v, err := s.touchKey(ctx, key)
	if err != nil {
		return Session{}, err
	}
	if len(v) == 0 || v[0] == nil {
		// Not under the current secret: during a rotation's overlap the
		// session may live under the previous one.
		if d := s.previousDigest(token); d != "" {
			key = s.key(d)
			if v, err = s.touchKey(ctx, key); err != nil {
				return Session{}, err
			}
		}
	}
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
		TouchedAt: now,
	}
	if at, err := strconv.ParseInt(str(4), 10, 64); err == nil && now.UnixMilli()-at < s.viewTTL().Milliseconds() && str(3) != "" {
		sess.View = []byte(str(3))
	}
	sess.Level, _ = strconv.Atoi(str(5))
	return sess, nil
}

// touchKey reads the session fields of key and slides its idle expiry (one
// pipelined round trip; a no-op on a missing key).
func (s *Store) touchKey(ctx context.Context, key string) ([]any, error) {
	var get *redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HMGet(ctx, key, "uid", "ch", "created", "view", "view_at", "lvl")
		p.PExpire(ctx, key, s.cfg.Idle) // a no-op when the key is gone
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("session touch: %w", err)
	}
	return get.Val(), nil
}

// Revoke ends the session of token (found under the current secret or,
// during a rotation, the previous one). Unknown tokens are not an error.
func (s *Store) Revoke(ctx context.Context, token string) error {
	d := s.digest(token)
	uid, err := s.rdb.HGet(ctx, s.key(d), "uid").Result()
	if pd := s.previousDigest(token); errors.Is(err, redis.Nil) && pd != "" {
		d = pd
		uid, err = s.rdb.HGet(ctx, s.key(d), "uid").Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session revoke: %w", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.key(d))
		p.ZRem(ctx, s.userKey(uid), d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session revoke: %w", err)
	}
	return nil
}

// RevokeAll ends every session of userID and returns how many there were:
// two round trips, at most MaxPerUser DELs.
//
// It removes from the user's index only the sessions it read and ended,
// never the index itself: a login racing it either is ended (it was read) or
// stays in the index, within reach of the next revoke and of level changes.
// Create writes the session before indexing it, so anything read here is
// already written.
func (s *Store) RevokeAll(ctx context.Context, userID string) (int, error) {
	ds, err := s.sessionsOf(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("session revoke all: %w", err)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	dels := make([]*redis.IntCmd, len(ds))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range ds {
			dels[i] = p.Del(ctx, s.key(d))
		}
		p.ZRem(ctx, s.userKey(userID), anys(ds)...)
		return nil
	})
	n := 0
	for _, c := range dels {
		n += int(c.Val())
	}
	if err != nil {
		return n, fmt.Errorf("session revoke all: %w", err)
	}
	return n, nil
}
