package staff

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

// sessionKey is where the session of token lives: under the token's digest.
func (s *Service) sessionKey(token string) string {
	return s.prefix + "staff:sess:" + platform.TokenDigest(s.secret, token)
}

// previousKey is where a session of token opened before the session secret
// was rotated lives; "" when no rotation is under way.
func (s *Service) previousKey(token string) string {
	if len(s.prevSecret) == 0 {
		return ""
	}
	return s.prefix + "staff:sess:" + platform.TokenDigest(s.prevSecret, token)
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
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.clock.Now()
	rec := sessionRecord{Username: d.Username, Gen: d.SessionGen, Created: now.UnixMilli(), Seen: now.UnixMilli()}
	v, _ := json.Marshal(rec)
	if err := s.rdb.Set(ctx, s.sessionKey(token), v, s.idle).Err(); err != nil {
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
	return s.session(ctx, token, true)
}

// Check is Authenticate without extending the idle expiry: for requests a
// page makes by itself (the console's periodic refresh), so an unattended
// screen does not keep a session alive. Errors: as Authenticate.
func (s *Service) Check(ctx context.Context, token string) (Account, error) {
	return s.session(ctx, token, false)
}

// session resolves token; extend slides its idle expiry.
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
	d, err := s.find(ctx, rec.Username)
	if errors.Is(err, ErrNotFound) || (err == nil && (d.Disabled || d.SessionGen != rec.Gen)) {
		_ = s.rdb.Del(ctx, key).Err()
		return Account{}, ErrUnauthenticated
	}
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
