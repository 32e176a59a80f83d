package wechat

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// maxCodeLen bounds a login code. WeChat's are 32 characters.
const maxCodeLen = 128

// errNotACode is the cause of ErrCodeInvalid for a code never sent to WeChat.
var errNotACode = errors.New("not shaped like a WeChat code: not sent to WeChat")

// validCode reports whether code is shaped like a WeChat login or OAuth code:
// 1 to maxCodeLen letters, digits, '-' or '_'. Anything else (spaces, '#',
// '%', '&', non-ASCII) would change the URL it is sent in, and is refused
// without calling WeChat.
func validCode(code string) bool {
	if code == "" || len(code) > maxCodeLen {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// loginAnswer is the answer of jscode2session and sns/oauth2/access_token
// (the OAuth access and refresh tokens are not read: Banshi only needs who
// the user is).
type loginAnswer struct {
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	SessionKey string `json:"session_key"`
}

// These two calls carry the app secret and the code in the URL. Banshi makes
// them with its own HTTP code rather than silenceper's: the SDK formats both
// into the URL unescaped (a code "a#b" or "a%zz" rewrites the query) and puts
// the whole URL, secret included, in the error of every non-200 answer.

// Code2Session resolves a mini-program login code (jscode2session). A code
// that is not shaped like WeChat's is ErrCodeInvalid without a call. Errors:
// ErrCodeInvalid, ErrUpstreamBusy, ErrUpstream, or a *APIError
// (ErrUpstreamRefused). UnionID is empty when the mini-program is not bound
// to an Open Platform account.
func (w *Client) Code2Session(ctx context.Context, code string) (User, error) {
	return w.login(ctx, "/sns/jscode2session", url.Values{
		"appid": {w.cfg.MiniAppID}, "secret": {w.cfg.MiniAppSecret}, "js_code": {code}, "grant_type": {"authorization_code"},
	}, code)
}

// AppLogin resolves an Open Platform mobile-app OAuth code
// (sns/oauth2/access_token). Errors as Code2Session.
func (w *Client) AppLogin(ctx context.Context, code string) (User, error) {
	u, err := w.login(ctx, "/sns/oauth2/access_token", url.Values{
		"appid": {w.cfg.OpenAppID}, "secret": {w.cfg.OpenAppSecret}, "code": {code}, "grant_type": {"authorization_code"},
	}, code)
	u.SessionKey = ""
	return u, err
}

func (w *Client) login(ctx context.Context, path string, q url.Values, code string) (User, error) {
	if !validCode(code) {
		return User{}, ErrCodeInvalid.Wrap(errNotACode)
	}
	var res loginAnswer
	if err := w.guarded(func() error { return w.call(ctx, http.MethodGet, path, q, nil, &res) }); err != nil {
		return User{}, err
	}
	if res.OpenID == "" {
		return User{}, upstream(path, errors.New("answer without openid"))
	}
	return User(res), nil
}
