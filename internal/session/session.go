package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
//	{u:<user id>}:sess:<digest> hash: uid, ch, created (ms), lvl, view,
//	                       view_at; idle expiry, never past created+Max
//	{u:<user id>}:sessions sorted set of the user's session digests, scored
//	                       by each session's absolute end (created+Max, ms)
//	{u:<user id>}:rl:api:<minute> the user's API request counts
//	                       (platform.WindowCount), two minutes each
//
// A token names its user ("<user id>.<random>"), so its session key is
// found from the token alone and still shares the user's hash slot: one
// pipeline reads the session, slides it and counts the request against the
// rate limit, in one round trip on a single node, Sentinel or Cluster
// (Authorize). Sessions
// opened by earlier releases (bare random tokens) live under
// "sess:<digest>" until they end; every per-user operation reaches both
// forms.
// Entries past their absolute end are removed by every per-user operation,
// and a login beyond MaxPerUser ends the oldest sessions, so per-user work is
// bounded by MaxPerUser whatever the number of past logins. Releases before
// this one kept the index as a set, usess:<user id>; a per-user operation
// moves what such a set still lists into the sorted set.
type Store struct {
	rdb        redis.UniversalClient
	cfg        Config
	clock      platform.Clock
	digester   *platform.Digester // under cfg.Secret
	prevDigest *platform.Digester // under cfg.PreviousSecret; nil: none
}

// NewStore returns a session store. Secret must not be empty.
func NewStore(rdb redis.UniversalClient, cfg Config, clock platform.Clock) *Store {
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = DefaultMaxPerUser
	}
	s := &Store{rdb: rdb, cfg: cfg, clock: clock, digester: platform.NewDigester(cfg.Secret)}
	if len(cfg.PreviousSecret) > 0 {
		s.prevDigest = platform.NewDigester(cfg.PreviousSecret)
	}
	return s
}

// key is where the session of a token with digest lives. Tokens carry
// their user's id (see Create), and the session key then shares the user's
// hash tag, so the session, the user's index and the user's rate-limit
// counters sit in one Redis Cluster slot and one pipeline reaches them all.
// uid "" is a token of an earlier release (no user id in it): its key
// "sess:<digest>" is in no user's slot.
func (s *Store) key(uid, digest string) string {
	if uid == "" {
		return s.cfg.Prefix + "sess:" + digest
	}
	return s.cfg.Prefix + "{u:" + uid + "}:sess:" + digest
}

// keysOf lists the keys a session in uid's index may live under: the
// user's slot, or (opened by an earlier release) the bare digest.
func (s *Store) keysOf(uid, digest string) []string {
	return []string{s.key(uid, digest), s.key("", digest)}
}

// rateKey is the base of the user's per-minute API request counters
// (Authorize).
func (s *Store) rateKey(uid string) string { return s.cfg.Prefix + "{u:" + uid + "}:rl:api" }

// userKey is the user's index of sessions (hash-tagged by user).
func (s *Store) userKey(uid string) string { return s.cfg.Prefix + "{u:" + uid + "}:sessions" }

// legacyUserKey is the set earlier releases kept per user.
func (s *Store) legacyUserKey(uid string) string { return s.cfg.Prefix + "usess:" + uid }

// digest is what Redis keeps of token: its HMAC under the session secret.
func (s *Store) digest(token string) string { return s.digester.Digest(token) }

// previousDigest is token's digest under the previous secret; "" when there
// is none (no rotation under way).
func (s *Store) previousDigest(token string) string {
	if s.prevDigest == nil {
		return ""
	}
	return s.prevDigest.Digest(token)
}

// endScore is the index score of a session created at created: its absolute end.
func (s *Store) endScore(created time.Time) float64 {
	return float64(created.Add(s.cfg.Max).UnixMilli())
}

// Create starts a session for userID (whose real-name level is level) and
// returns its token, "<user id>.<32 random bytes, base64url>" (the user id
// names the Redis slot; the token's secrecy is the random part, and a token
// whose id was altered has another digest, so it finds no session). A user
// id that cannot name a slot (see slotUser) gets the bare random token of
// earlier releases. When the user then has more than MaxPerUser sessions,
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
	slot := ""
	if slotUser(userID) {
		slot = userID
		token = userID + "." + token
	}
	now := s.clock.Now()
	sess := Session{UserID: userID, Channel: channel, Level: level, CreatedAt: now, ExpiresAt: now.Add(s.cfg.Idle)}
	d := s.digest(token)
	key := s.key(slot, d)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "uid", userID, "ch", channel, "created", now.UnixMilli(), "lvl", level)
		p.Expire(ctx, key, s.cfg.Idle)
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
	exists := make([][]*redis.IntCmd, len(ds))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range ds {
			for _, k := range s.keysOf(userID, d) { // one key a command: the keys are in different slots
				exists[i] = append(exists[i], p.Exists(ctx, k))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("session trim: %w", err)
	}
	var gone, live []string
	for i, d := range ds {
		if exists[i][0].Val()+exists[i][1].Val() == 0 {
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
			for _, k := range s.keysOf(userID, d) {
				p.Del(ctx, k) // a no-op for those already gone
			}
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
			created[i] = p.HGet(ctx, s.key("", d), "created")
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
	uid, _ := tokenUser(token)
	for _, d := range []string{s.digest(token), s.previousDigest(token)} {
		if d == "" {
			continue
		}
		// The script leaves a missing key alone: during a rotation only
		// the key the session lives under is written.
		err := setViewScript.Run(ctx, s.rdb, []string{s.key(uid, d)}, view, renderedFrom.UnixMilli()).Err()
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
// round trips, at most 2×MaxPerUser scripts (each session's two possible
// keys). Errors are Redis failures.
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
			for _, k := range s.keysOf(userID, d) {
				setLevelScript.Eval(ctx, p, []string{k}, level)
			}
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
// most 2×MaxPerUser HDELs. Errors are Redis failures.
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
			for _, k := range s.keysOf(userID, d) {
				p.HDel(ctx, k, "view", "view_at")
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("session drop views: %w", err)
	}
	return nil
}

// slotUser reports whether a user id can name a Redis slot in a token:
// 1–64 characters of [A-Za-z0-9_-] (account ids are "u_" and base32), so
// it holds no '.', which ends it in the token, and no brace, which would
// change the hash tag.
func slotUser(uid string) bool {
	if uid == "" || len(uid) > 64 {
		return false
	}
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// tokenUser returns the user id a token names ("" and false for a token of
// an earlier release, or one that names no valid id).
func tokenUser(token string) (string, bool) {
	i := strings.IndexByte(token, '.')
	if i < 0 || !slotUser(token[:i]) {
		return "", false
	}
	return token[:i], true
}

// Touch resolves token to its session and slides the idle expiry, with no
// rate limit: Authorize(ctx, token, 0).
func (s *Store) Touch(ctx context.Context, token string) (Session, error) {
	sess, _, err := s.Authorize(ctx, token, 0)
	return sess, err
}

// Authorize resolves token to its session, slides the idle expiry (never
// past the absolute cap) and, when perMinute > 0, counts the request against
// the user's budget of perMinute requests a minute (platform.WindowCount,
// shared by every replica). For a token of this release that is one
// pipelined Redis round trip with no script (HMGET and PEXPIRE of the
// session, the counter's INCR, PEXPIRE and GET), on keys that share the
// user's hash slot. A second round trip only when something is given back
// or corrected: a refused request's count, a made-up token's count, the
// last idle period before the absolute cap; and a session opened under the
// previous secret during a rotation, or by an earlier release, is read
// with one more.
//
// The decision says whether the request is within the limit; a refused
// request is not an error here (the caller answers 429) and still slides
// the session. It returns ErrUnauthenticated for an empty, unknown, expired
// or revoked token, and a wrapped Redis error otherwise.
func (s *Store) Authorize(ctx context.Context, token string, perMinute int) (Session, platform.RateDecision, error) {
	if token == "" || len(token) > 128 {
		return Session{}, platform.RateDecision{}, ErrUnauthenticated
	}
	now := s.clock.Now()
	uid, ok := tokenUser(token)
	if !ok {
		return s.authorizeLegacy(ctx, token, perMinute, now)
	}
	key := s.key(uid, s.digest(token))
	var get *redis.SliceCmd
	var count *platform.WindowCount
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HMGet(ctx, key, "uid", "ch", "created", "view", "view_at", "lvl")
		p.PExpire(ctx, key, s.cfg.Idle) // a no-op when the key is gone
		if perMinute > 0 {
			count = platform.QueueWindowCount(ctx, p, s.rateKey(uid), now)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) { // Nil: no previous minute's counter
		return Session{}, platform.RateDecision{}, fmt.Errorf("session touch: %w", err)
	}
	v := get.Val()
	if pd := s.previousDigest(token); (len(v) == 0 || v[0] == nil) && pd != "" {
		// Not under the current secret: during a rotation's overlap the
		// session may live under the previous one.
		key = s.key(uid, pd)
		if v, err = s.touchKey(ctx, key); err != nil {
			return Session{}, platform.RateDecision{}, err
		}
	}
	sess, ok := s.slide(ctx, key, v, now)
	if ok && sess.UserID != uid {
		ok = false // cannot happen: the key holds the digest of a token naming uid
	}
	dec := platform.RateDecision{Allowed: true}
	if count != nil {
		if ok {
			dec = count.Decide(perMinute)
		}
		if !ok || !dec.Allowed {
			if err := count.Undo(ctx, s.rdb); err != nil {
				return Session{}, platform.RateDecision{}, fmt.Errorf("session rate limit: %w", err)
			}
		}
	}
	if !ok {
		return Session{}, platform.RateDecision{}, ErrUnauthenticated
	}
	return sess, dec, nil
}

// slide turns the fields read from key into the session and keeps its
// expiry within the absolute cap: a session past it is deleted (false), and
// in the last idle period before it the expiry is set to the cap (one more
// round trip). Errors there are logged by nobody: the idle expiry set in the
// read's round trip stands, at most Idle past the cap, and the next request
// past the cap is refused and deletes it.
func (s *Store) slide(ctx context.Context, key string, v []any, now time.Time) (Session, bool) {
	str := func(i int) string {
		if i < len(v) {
			if x, ok := v[i].(string); ok {
				return x
			}
		}
		return ""
	}
	sess, ok := s.session(now, str(0), str(1), str(2), str(3), str(4), str(5))
	if !ok {
		if str(0) != "" {
			s.rdb.Del(ctx, key) // past its absolute end
		}
		return Session{}, false
	}
	if left := sess.CreatedAt.Add(s.cfg.Max).Sub(now); left < s.cfg.Idle {
		s.rdb.PExpire(ctx, key, left)
	}
	return sess, true
}

// session builds the Session the fields read from Redis describe; false
// when they describe none (no user, no creation time, past the cap).
func (s *Store) session(now time.Time, uid, ch, created, view, viewAt, lvl string) (Session, bool) {
	ms, err := strconv.ParseInt(created, 10, 64)
	if uid == "" || err != nil {
		return Session{}, false
	}
	left := time.UnixMilli(ms).Add(s.cfg.Max).Sub(now)
	if left <= 0 {
		return Session{}, false
	}
	ttl := min(s.cfg.Idle, left)
	sess := Session{
		UserID: uid, Channel: ch, CreatedAt: time.UnixMilli(ms).UTC(), ExpiresAt: now.Add(ttl),
		TouchedAt: now,
	}
	if at, err := strconv.ParseInt(viewAt, 10, 64); err == nil && now.UnixMilli()-at < s.viewTTL().Milliseconds() && view != "" {
		sess.View = []byte(view)
	}
	sess.Level, _ = strconv.Atoi(lvl)
	return sess, true
}

// authorizeLegacy is Authorize for a token of an earlier release (no user
// id in it, session under "sess:<digest>"): the session's read (one
// pipelined round trip), then, the user known, the count.
func (s *Store) authorizeLegacy(ctx context.Context, token string, perMinute int, now time.Time) (Session, platform.RateDecision, error) {
	key := s.key("", s.digest(token))
	v, err := s.touchKey(ctx, key)
	if err != nil {
		return Session{}, platform.RateDecision{}, err
	}
	if len(v) == 0 || v[0] == nil {
		if d := s.previousDigest(token); d != "" {
			key = s.key("", d)
			if v, err = s.touchKey(ctx, key); err != nil {
				return Session{}, platform.RateDecision{}, err
			}
		}
	}
	sess, ok := s.slide(ctx, key, v, now)
	if !ok {
		return Session{}, platform.RateDecision{}, ErrUnauthenticated
	}
	if perMinute <= 0 {
		return sess, platform.RateDecision{Allowed: true}, nil
	}
	var count *platform.WindowCount
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		count = platform.QueueWindowCount(ctx, p, s.rateKey(sess.UserID), now)
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return Session{}, platform.RateDecision{}, fmt.Errorf("session rate limit: %w", err)
	}
	dec := count.Decide(perMinute)
	if !dec.Allowed {
		if err := count.Undo(ctx, s.rdb); err != nil {
			return Session{}, platform.RateDecision{}, fmt.Errorf("session rate limit: %w", err)
		}
	}
	return sess, dec, nil
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
	if uid, ok := tokenUser(token); ok {
		// The token names the user: delete whatever lives under either
		// digest and unlist both, one round trip (a session of another
		// user cannot be reached: its key has another digest).
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, d := range []string{s.digest(token), s.previousDigest(token)} {
				if d != "" {
					p.Del(ctx, s.key(uid, d))
					p.ZRem(ctx, s.userKey(uid), d)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("session revoke: %w", err)
		}
		return nil
	}
	d := s.digest(token)
	uid, err := s.rdb.HGet(ctx, s.key("", d), "uid").Result()
	if pd := s.previousDigest(token); errors.Is(err, redis.Nil) && pd != "" {
		d = pd
		uid, err = s.rdb.HGet(ctx, s.key("", d), "uid").Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session revoke: %w", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.key("", d))
		p.ZRem(ctx, s.userKey(uid), d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("session revoke: %w", err)
	}
	return nil
}

// RevokeAll ends every session of userID and returns how many there were:
// two round trips, at most 2×MaxPerUser DELs.
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
	dels := make([]*redis.IntCmd, 0, 2*len(ds))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range ds {
			for _, k := range s.keysOf(userID, d) {
				dels = append(dels, p.Del(ctx, k))
			}
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
