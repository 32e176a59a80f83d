package sim

import (
	"net/http"
	"net/url"
	"time"
)

// code2SessionResponse is jscode2session's success body.
type code2SessionResponse struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"` // absent unless the mini-program is bound to an Open Platform account
}

// oauth2Response is sns/oauth2/access_token's success body.
type oauth2Response struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	UnionID      string `json:"unionid"`
}

// handleJSCode2Session serves GET /sns/jscode2session: a mini-program code
// for the user's openid, session_key and unionid (absent when the
// mini-program is not bound to an Open Platform account).
func (w *WeChat) handleJSCode2Session(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code, msg := w.checkApp(q, "js_code", w.miniApps); code != errOK {
		writeWXError(rw, code, msg)
		return
	}
	now := w.now()
	w.mu.Lock()
	u, code := w.takeCodeLocked(q.Get("js_code"), kindMiniProgram, q.Get("appid"), now, true)
	var unionID string
	if app := w.appLocked(q.Get("appid")); code == errOK && app != nil && !app.unbound {
		unionID = u.unionID
	}
	w.mu.Unlock()
	switch code {
	case errOK:
		writeWX(rw, code2SessionResponse{OpenID: u.openID, SessionKey: randomBase64(16), UnionID: unionID})
	case errMinuteQuota:
		writeWXError(rw, code, "api minute-quota reach limit  mustslower  retry next minute")
	case errCodeUsed:
		writeWXError(rw, code, "code been used")
	default:
		writeWXError(rw, code, "invalid code")
	}
}

// handleOAuth2AccessToken serves GET /sns/oauth2/access_token: an Open
// Platform app code for the user's app openid and unionid.
func (w *WeChat) handleOAuth2AccessToken(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code, msg := w.checkApp(q, "code", w.openApps); code != errOK {
		writeWXError(rw, code, msg)
		return
	}
	appID := q.Get("appid")
	now := w.now()
	w.mu.Lock()
	u, code := w.takeCodeLocked(q.Get("code"), kindApp, appID, now, false)
	w.mu.Unlock()
	switch code {
	case errOK:
	case errCodeUsed:
		writeWXError(rw, code, "code been used")
		return
	default:
		writeWXError(rw, code, "invalid code")
		return
	}
	writeWX(rw, oauth2Response{
		AccessToken:  randomURLSafe(88),
		ExpiresIn:    7200,
		RefreshToken: randomURLSafe(88),
		OpenID:       appOpenID(u.openID, appID),
		Scope:        "snsapi_userinfo",
		UnionID:      u.unionID,
	})
}

// checkApp validates appid, secret, the code parameter codeParam and
// grant_type against apps; it returns errOK or a WeChat error.
func (w *WeChat) checkApp(q url.Values, codeParam string, apps map[string]string) (int, string) {
	appID, secret := q.Get("appid"), q.Get("secret")
	switch {
	case appID == "":
		return errMissingAppID, "appid missing"
	case secret == "":
		return errMissingSecret, "appsecret missing"
	}
	w.mu.Lock()
	want, ok := apps[appID]
	w.mu.Unlock()
	switch {
	case !ok:
		return errInvalidAppID, "invalid appid"
	case secret != want:
		return errInvalidAppSecret, "invalid appsecret"
	case q.Get(codeParam) == "":
		return errMissingCode, "missing code"
	case q.Get("grant_type") != "authorization_code":
		return errInvalidGrantType, "invalid grant_type"
	}
	return errOK, ""
}

// takeCodeLocked consumes a login code of kind for appID. It answers 40029
// for an unknown, expired, wrong-kind or wrong-app code, 40163 for a code
// already used, and, when rateLimit is set, 45011 past loginPerMinute calls
// for the user in the current clock minute (the code is then kept). Callers
// hold w.mu.
func (w *WeChat) takeCodeLocked(code, kind, appID string, now time.Time, rateLimit bool) (*wxUser, int) {
	w.sweepLocked(now)
	c := w.codes[code]
	if c == nil || c.kind != kind || c.appID != appID || !now.Before(c.expires) {
		return nil, errInvalidCode
	}
	if c.used {
		return nil, errCodeUsed
	}
	u := w.users[c.openID]
	if u == nil {
		return nil, errInvalidCode
	}
	if rateLimit {
		minute := now.Unix() / 60
		win := w.loginWindows[u.openID]
		if win.minute != minute {
			win = rateWindow{minute: minute}
		}
		if win.count >= loginPerMinute {
			return nil, errMinuteQuota
		}
		win.count++
		w.loginWindows[u.openID] = win
	}
	c.used = true
	return u, errOK
}
