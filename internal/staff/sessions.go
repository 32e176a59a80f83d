package staff

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
)

// Session is what Login returns: the bearer token (shown once), when it
// expires unless used (idle expiry, never past the absolute cap), and the
// account.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Account   Account   `json:"account"`
}

// sessionRecord is what Redis keeps, under the token's HMAC.
type sessionRecord struct {
	Username string `json:"u"`
	Gen      int64  `json:"g"`
	Created  int64  `json:"c"` // unix ms
	Seen     int64  `json:"s"` // unix ms, last use
}

const tokenPrefix = "bss_"

// tokenRandLen is the length of a token's random part (32 bytes, base64url).
const tokenRandLen = 43

// tokenUser returns the username a token names: tokens are
// "bss_<username>.<32 random bytes, base64url>" (the username is no secret
// and grants nothing: it names the Redis slot of the session and of the
// account's rate-limit bucket; the random part is the secret, and a token
// whose username was altered has another digest). "" for a token of an
// earlier release ("bss_<random>").
func tokenUser(token string) string {
	i := len(token) - tokenRandLen - 1
	if i <= len(tokenPrefix) || token[i] != '.' {
		return ""
	}
	if u := token[len(tokenPrefix):i]; platform.ValidStaffUsername(u) {
		return u
	}
	return ""
}

// keyFor is where a session with digest lives: in the account's slot
// "staff:{s:<username>}:sess:<digest>" (a hash: u, g, c, s), or, opened by
// an earlier release (user ""), "staff:sess:<digest>" (a JSON string).
func (s *Service) keyFor(user, digest string) string {
	if user == "" {
		return s.prefix + "staff:sess:" + digest
	}
	return s.prefix + "staff:{s:" + user + "}:sess:" + digest
}

// rateKey is the account's bucket of the per-staff API limit.
func (s *Service) rateKey(user string) string { return s.prefix + "staff:{s:" + user + "}:rl" }

// sessionKey is where the session of token lives: under the token's digest.
func (s *Service) sessionKey(token string) string {
	return s.keyFor(tokenUser(token), s.digest.Digest(token))
}

// previousKey is where a session of token opened before the session secret
// was rotated lives; "" when no rotation is under way.
func (s *Service) previousKey(token string) string {
	if s.prevDigest == nil {
		return ""
	}
	return s.keyFor(tokenUser(token), s.prevDigest.Digest(token))
}

// Login checks the password and opens a session. Every attempt that is
// answered is audited (action "login", outcome "ok" or "bad_credentials")
// with ip; attempts refused by the login limits (lockout.go) compare no
// password and are not audited one by one, but the start of a lock is.
// Errors: ErrBadCredentials (unknown user, wrong password, disabled
// account, and in production a demo account or the demo password —
// indistinguishable, and equally slow); ErrLocked and ErrLoginRateLimited
// (too many attempts at this username; Until says when to retry); ErrBusy
// (every bcrypt slot stayed taken); a storage error, also when the limits
// cannot be read (logins fail closed).
func (s *Service) Login(ctx context.Context, username, password, ip string) (Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if !platform.ValidStaffUsername(username) {
		// No such account can exist: nothing to compare, nothing to limit.
		actor := clip(username, 32)
		if actor == "" || !platform.ValidStaffUsername(actor) {
			actor = "-"
		}
		s.record(ctx, Entry{Actor: actor, Action: "login", IP: ip, Outcome: "bad_credentials"})
		return Session{}, ErrBadCredentials
	}
	if err := s.loginGate(ctx, username); err != nil {
		return Session{}, err
	}
	d, err := s.find(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	}
	hash := s.dummy
	if d != nil {
		hash = []byte(d.PasswordHash)
	}
	perr, err := s.compareSlot(ctx, hash, []byte(password))
	if err != nil {
		return Session{}, err
	}
	if d == nil || perr != nil || d.Disabled || len(password) > 72 {
		s.loginFailed(ctx, username, ip)
		s.record(ctx, Entry{Actor: username, Action: "login", IP: ip, Outcome: "bad_credentials"})
		return Session{}, ErrBadCredentials
	}
	if s.noDemo && isDemoLogin(d.Username, password) {
		// As slow and as worded as a wrong password; the audit log says why.
		s.loginFailed(ctx, username, ip)
		s.record(ctx, Entry{Actor: d.Username, Role: d.Role, Action: "login", IP: ip, Outcome: "bad_credentials",
			Detail: "demo account or demo password refused in production"})
		return Session{}, ErrBadCredentials
	}
	s.loginSucceeded(ctx, username)
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Session{}, err
	}
	token := tokenPrefix + d.Username + "." + base64.RawURLEncoding.EncodeToString(b)
	now := s.clock.Now()
	rec := sessionRecord{Username: d.Username, Gen: d.SessionGen, Created: now.UnixMilli(), Seen: now.UnixMilli()}
	key := s.sessionKey(token)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "u", rec.Username, "g", rec.Gen, "c", rec.Created, "s", rec.Seen)
		p.PExpire(ctx, key, s.idle)
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("store session: %w", err)
	}
	s.record(ctx, Entry{Actor: d.Username, Role: d.Role, Action: "login", IP: ip, Outcome: "ok"})
	return Session{Token: token, ExpiresAt: platform.Local(s.expiry(rec, now)), Account: d.Account}, nil
}

// expiry is when the session ends if not used again.
func (s *Service) expiry(rec sessionRecord, now time.Time) time.Time {
	idleEnd := now.Add(s.idle)
	capEnd := time.UnixMilli(rec.Created).Add(s.maxAge)
	if capEnd.Before(idleEnd) {
		return capEnd.UTC()
	}
	return idleEnd.UTC()
}

// Authenticate returns the account of a session token and extends the
// session's idle expiry (never past the absolute cap). The account is read
// afresh, so role and hall changes apply at once.
// Errors: ErrUnauthenticated (unknown, expired, logged-out or revoked token,
// disabled or deleted account).
func (s *Service) Authenticate(ctx context.Context, token string) (Account, error) {
	a, _, err := s.Authorize(ctx, token, 0)
	return a, err
}

// Authorize is Authenticate that also takes one request from the account's
// budget of perMinute a minute (0: no limit; GCRA shared by every replica).
// For a token of this release, reading the session, sliding it and the
// limit are one Redis round trip (keys in the account's slot), then the
// account is read from MongoDB. The decision says whether the request is
// within the limit (the caller answers 429 when not). Errors: as
// Authenticate.
func (s *Service) Authorize(ctx context.Context, token string, perMinute int) (Account, platform.RateDecision, error) {
	if user := tokenUser(token); user != "" && len(token) <= 100 {
		return s.sessionInSlot(ctx, token, user, true, perMinute)
	}
	a, err := s.session(ctx, token, true)
	if err != nil || perMinute <= 0 {
		return a, platform.RateDecision{Allowed: true}, err
	}
	res, err := rateScript.Run(ctx, s.rdb, []string{s.rateKey(a.Username)}, perMinute).Slice()
	if err != nil {
		return Account{}, platform.RateDecision{}, fmt.Errorf("staff rate limit: %w", err)
	}
	if len(res) != 2 {
		return a, platform.ParseGCRA(nil, nil), nil
	}
	return a, platform.ParseGCRA(res[0], res[1]), nil
}

// Check is Authenticate without extending the idle expiry: for requests a
// page makes by itself (the console's periodic refresh), so an unattended
// screen does not keep a session alive. Errors: as Authenticate.
func (s *Service) Check(ctx context.Context, token string) (Account, error) {
	if user := tokenUser(token); user != "" && len(token) <= 100 {
		a, _, err := s.sessionInSlot(ctx, token, user, false, 0)
		return a, err
	}
	return s.session(ctx, token, false)
}

// slotSessionScript reads a staff session kept in its account's slot,
// checks its idle and absolute expiry (deleting it past either), slides it
// when asked and applies the account's rate limit: one round trip. KEYS[1]
// session, KEYS[2] the account's bucket; ARGV[1] now (ms), ARGV[2] idle
// (ms), ARGV[3] absolute cap (ms), ARGV[4] per minute (0: none), ARGV[5]
// the username the token names, ARGV[6] "1" to slide. Answers {0} for no
// session, else {1, generation, allowed, retry_after}.
var slotSessionScript = redis.NewScript(platform.GCRALua + `
local v = redis.call('HMGET', KEYS[1], 'u', 'g', 'c', 's')
if not v[1] or v[1] ~= ARGV[5] then return {0} end
local now, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local c, seen = tonumber(v[3]), tonumber(v[4])
if not c or not seen then return {0} end
local cap = c + tonumber(ARGV[3])
if math.min(cap, seen + idle) <= now then
  redis.call('DEL', KEYS[1])
  return {0}
end
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[1], 's', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.min(idle, cap - now))
end
local rl = {1, '-1'}
if tonumber(ARGV[4]) > 0 then rl = gcra(KEYS[2], ARGV[4]) end
return {1, v[2], rl[1], rl[2]}
`)

// rateScript is the account's limit alone, for sessions of earlier
// releases. KEYS[1] bucket; ARGV[1] per minute.
var rateScript = redis.NewScript(platform.GCRALua + `
return gcra(KEYS[1], ARGV[1])
`)

// sessionInSlot resolves a token naming user (see slotSessionScript), then
// reads the account: a disabled account or a changed session generation
// ends the session.
func (s *Service) sessionInSlot(ctx context.Context, token, user string, extend bool, perMinute int) (Account, platform.RateDecision, error) {
	now := s.clock.Now()
	slide := "0"
	if extend {
		slide = "1"
	}
	key := s.sessionKey(token)
	run := func(key string) ([]any, error) {
		res, err := slotSessionScript.Run(ctx, s.rdb, []string{key, s.rateKey(user)},
			now.UnixMilli(), s.idle.Milliseconds(), s.maxAge.Milliseconds(), perMinute, user, slide).Slice()
		if err != nil {
			return nil, fmt.Errorf("read session: %w", err)
		}
		if len(res) < 4 {
			return nil, nil
		}
		return res, nil
	}
	res, err := run(key)
	if prev := s.previousKey(token); err == nil && res == nil && prev != "" {
		key = prev
		res, err = run(key)
	}
	if err != nil {
		return Account{}, platform.RateDecision{}, err
	}
	if res == nil {
		return Account{}, platform.RateDecision{}, ErrUnauthenticated
	}
	gs, _ := res[1].(string)
	gen, err := strconv.ParseInt(gs, 10, 64)
	if err != nil {
		_ = s.rdb.Del(ctx, key).Err()
		return Account{}, platform.RateDecision{}, ErrUnauthenticated
	}
	d, err := s.accountOf(ctx, key, user, gen)
	if err != nil {
		return Account{}, platform.RateDecision{}, err
	}
	dec := platform.RateDecision{Allowed: true}
	if perMinute > 0 {
		dec = platform.ParseGCRA(res[2], res[3])
	}
	return d.Account, dec, nil
}

// accountOf reads the account of the session at key, opened at generation
// gen: a deleted or disabled account, or a changed generation (its sessions
// were revoked), ends the session (ErrUnauthenticated); other errors are
// the store's.
func (s *Service) accountOf(ctx context.Context, key, user string, gen int64) (*accountDoc, error) {
	d, err := s.find(ctx, user)
	if errors.Is(err, ErrNotFound) || (err == nil && (d.Disabled || d.SessionGen != gen)) {
		_ = s.rdb.Del(ctx, key).Err()
		return nil, ErrUnauthenticated
	}
	return d, err
}

// session resolves a token of an earlier release (its session a JSON string
// under "staff:sess:<digest>"); extend slides its idle expiry.
func (s *Service) session(ctx context.Context, token string, extend bool) (Account, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 100 {
		return Account{}, ErrUnauthenticated
	}
	key := s.sessionKey(token)
	v, err := s.rdb.Get(ctx, key).Bytes()
	if prev := s.previousKey(token); errors.Is(err, redis.Nil) && prev != "" {
		key = prev
		v, err = s.rdb.Get(ctx, key).Bytes()
	}
	if errors.Is(err, redis.Nil) {
		return Account{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, fmt.Errorf("read session: %w", err)
	}
	var rec sessionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return Account{}, ErrUnauthenticated
	}
	now := s.clock.Now()
	end := s.expiry(rec, time.UnixMilli(rec.Seen))
	if !now.Before(end) {
		_ = s.rdb.Del(ctx, key).Err()
		return Account{}, ErrUnauthenticated
	}
	d, err := s.accountOf(ctx, key, rec.Username, rec.Gen)
	if err != nil {
		return Account{}, err
	}
	if !extend {
		return d.Account, nil
	}
	rec.Seen = now.UnixMilli()
	nv, _ := json.Marshal(rec)
	if ttl := s.expiry(rec, now).Sub(now); ttl > 0 {
		// XX: a session deleted meanwhile (logout) stays deleted
		if err := s.rdb.SetXX(ctx, key, nv, ttl).Err(); err != nil {
			s.log.Warn("staff session not extended", "err", err)
		}
	}
	return d.Account, nil
}

// Logout ends the session of token (audited as "logout" with ip). Ending an
// unknown session is not an error.
func (s *Service) Logout(ctx context.Context, token, ip string) error {
	if !strings.HasPrefix(token, tokenPrefix) {
		return nil
	}
	if user := tokenUser(token); user != "" {
		n := int64(0)
		for _, key := range []string{s.sessionKey(token), s.previousKey(token)} {
			if key == "" {
				continue
			}
			m, err := s.rdb.Del(ctx, key).Result()
			if err != nil {
				return fmt.Errorf("end session: %w", err)
			}
			n += m
		}
		if n > 0 {
			s.record(ctx, Entry{Actor: user, Action: "logout", IP: ip, Outcome: "ok"})
		}
		return nil
	}
	key := s.sessionKey(token)
	v, _ := s.rdb.Get(ctx, key).Bytes()
	if err := s.rdb.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if prev := s.previousKey(token); prev != "" && v == nil {
		v, _ = s.rdb.Get(ctx, prev).Bytes()
		if err := s.rdb.Del(ctx, prev).Err(); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
	}
	var rec sessionRecord
	if json.Unmarshal(v, &rec) == nil && rec.Username != "" {
		s.record(ctx, Entry{Actor: rec.Username, Action: "logout", IP: ip, Outcome: "ok"})
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
