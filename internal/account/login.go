package account

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"banshi/internal/platform"
	"banshi/internal/session"
	"banshi/internal/wechat"
)

// Sessions is what Auth needs of the session store.
type Sessions interface {
	Create(ctx context.Context, userID, channel string, level int) (string, session.Session, error)
	Revoke(ctx context.Context, token string) error
	RevokeAll(ctx context.Context, userID string) (int, error)
}

// LoginAPI is the WeChat side of login.
type LoginAPI interface {
	Code2Session(ctx context.Context, code string) (wechat.User, error)
	AppLogin(ctx context.Context, code string) (wechat.User, error)
}

var (
	_ LoginAPI = (*wechat.Client)(nil)
	_ Sessions = (*session.Store)(nil)
)

// Auth logs citizens in through WeChat and hands out sessions.
type Auth struct {
	wechat   LoginAPI
	accounts *Store
	sessions Sessions
	log      *slog.Logger
}

// NewAuth returns the login service.
func NewAuth(api LoginAPI, accounts *Store, sessions Sessions, log *slog.Logger) *Auth {
	return &Auth{wechat: api, accounts: accounts, sessions: sessions, log: log}
}

// LoginResult is a new session and the person it belongs to.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	User      User
}

// Login exchanges a WeChat code from the given channel for a session. The
// same unionid from either channel is the same person (see LoginWeChat). The
// session never carries a level above the user's once it exists (a
// declaration revoked during the login is seen). Errors:
// wechat.ErrCodeInvalid, wechat.ErrUpstream, wechat.ErrUpstreamBusy, wechat.ErrUpstreamRefused, or store errors.
// Nothing is created unless WeChat accepted the code.
func (a *Auth) Login(ctx context.Context, ch Channel, code string) (LoginResult, error) {
	var (
		wu  wechat.User
		err error
	)
	if ch == ChannelApp {
		wu, err = a.wechat.AppLogin(ctx, code)
	} else {
		wu, err = a.wechat.Code2Session(ctx, code)
	}
	if err != nil {
		return LoginResult{}, err
	}
	// The session_key stays here: it is never returned nor logged.
	u, err := a.accounts.LoginWeChat(ctx, ch, wu.UnionID, wu.OpenID)
	if err != nil {
		return LoginResult{}, err
	}
	for attempt := 0; ; attempt++ {
		token, s, err := a.sessions.Create(ctx, u.ID, string(ch), u.Level)
		if err != nil {
			return LoginResult{}, err
		}
		// A level only falls when a declaration is revoked, which ends the
		// user's sessions; one created after that revoke read them must not
		// keep the lost level. Read the level again now that the session
		// exists: either the revoke saw it, or this read sees the fall.
		cur, err := a.accounts.Get(ctx, u.ID)
		if err != nil {
			_ = a.sessions.Revoke(ctx, token)
			return LoginResult{}, err
		}
		if cur.Level < u.Level {
			if err := a.sessions.Revoke(ctx, token); err != nil {
				return LoginResult{}, err
			}
			if attempt < 2 {
				u = cur
				continue
			}
			return LoginResult{}, errors.New("account: level keeps falling during login")
		}
		a.log.InfoContext(ctx, "login", "user_id", u.ID, "channel", string(ch))
		return LoginResult{Token: token, ExpiresAt: platform.Local(s.ExpiresAt), User: cur}, nil
	}
}

// Logout revokes one session. Unknown tokens are not an error.
func (a *Auth) Logout(ctx context.Context, token string) error { return a.sessions.Revoke(ctx, token) }

// LogoutAll revokes every session of the user and returns how many ended.
func (a *Auth) LogoutAll(ctx context.Context, userID string) (int, error) {
	return a.sessions.RevokeAll(ctx, userID)
}
