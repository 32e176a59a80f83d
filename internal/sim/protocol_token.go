package sim

import (
	"net/http"
	"time"

	"banshi/internal/platform"
)

// tokenResponse is the success body of both token endpoints.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// stableTokenRequest is POST /cgi-bin/stable_token's body.
type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// handleToken serves GET /cgi-bin/token: every call issues a new token; the
// previous one keeps working for tokenOverlap, then answers 40001.
func (w *WeChat) handleToken(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code, msg := w.checkCredential(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != errOK {
		writeWXError(rw, code, msg)
		return
	}
	appID := q.Get("appid")
	now := w.now()
	w.mu.Lock()
	w.sweepLocked(now)
	if old := w.tokens[w.latestToken[appID]]; old != nil && old.superseded.IsZero() {
		old.superseded = now.Add(tokenOverlap)
	}
	ttl := w.tokenTTLLocked(appID)
	tok := w.issueTokenLocked(appID, now, ttl)
	w.latestToken[appID] = tok
	w.mu.Unlock()
	writeWX(rw, tokenResponse{AccessToken: tok, ExpiresIn: int64(ttl / time.Second)})
}

// handleStableToken serves POST /cgi-bin/stable_token, independent of
// /cgi-bin/token. Normal mode returns the current token with its remaining
// lifetime until tokenOverlap (5 minutes) before it expires; from then on it
// issues a new one, the old one working until its own expiry, so expires_in
// is never tokenOverlap or less (unless the token lifetime itself is that
// short). force_refresh issues a new token and invalidates the previous one at
// once; it is allowed forceRefreshPerDay times a (Beijing) day, at least
// forceRefreshGap apart, and answers 45009 beyond.
func (w *WeChat) handleStableToken(rw http.ResponseWriter, r *http.Request) {
	var req stableTokenRequest
	if err := decodeBody(r, &req); err != nil {
		writeWXError(rw, errDataFormat, "data format error")
		return
	}
	if code, msg := w.checkCredential(req.GrantType, req.AppID, req.Secret); code != errOK {
		writeWXError(rw, code, msg)
		return
	}
	now := w.now()
	w.mu.Lock()
	w.sweepLocked(now)
	ttl := w.tokenTTLLocked(req.AppID)
	cur := w.stableToken[req.AppID]
	t := w.tokens[cur]
	usable := t != nil && !t.killed && t.superseded.IsZero() && now.Before(t.expires)
	if !req.ForceRefresh {
		if usable && t.expires.Sub(now) > tokenOverlap {
			left := int64(t.expires.Sub(now) / time.Second)
			w.mu.Unlock()
			writeWX(rw, tokenResponse{AccessToken: cur, ExpiresIn: left})
			return
		}
		// Renewed early: the old token keeps working until it expires.
		tok := w.issueTokenLocked(req.AppID, now, ttl)
		w.stableToken[req.AppID] = tok
		w.mu.Unlock()
		writeWX(rw, tokenResponse{AccessToken: tok, ExpiresIn: int64(ttl / time.Second)})
		return
	}
	if !w.allowForceRefreshLocked(req.AppID, now) {
		w.mu.Unlock()
		writeWXError(rw, errForceRefreshQuota, "reach max api daily quota limit")
		return
	}
	if t != nil && t.superseded.IsZero() {
		t.superseded = now // invalid at once
	}
	tok := w.issueTokenLocked(req.AppID, now, ttl)
	w.stableToken[req.AppID] = tok
	w.mu.Unlock()
	writeWX(rw, tokenResponse{AccessToken: tok, ExpiresIn: int64(ttl / time.Second)})
}

// forceWindow counts one app's force_refresh calls in one Beijing day.
type forceWindow struct {
	day   string
	count int
	last  time.Time
}

// allowForceRefreshLocked counts a force_refresh of appID and reports whether
// it is within the limits. Callers hold w.mu.
func (w *WeChat) allowForceRefreshLocked(appID string, now time.Time) bool {
	day := now.In(platform.Shanghai()).Format(time.DateOnly)
	fw := w.forceRefresh[appID]
	if fw.day != day {
		fw = forceWindow{day: day}
	}
	if fw.count >= forceRefreshPerDay || (!fw.last.IsZero() && now.Sub(fw.last) < forceRefreshGap) {
		return false
	}
	fw.count++
	fw.last = now
	w.forceRefresh[appID] = fw
	return true
}

// tokenTTLLocked is the lifetime of appID's new tokens. Callers hold w.mu.
func (w *WeChat) tokenTTLLocked(appID string) time.Duration {
	if app := w.appLocked(appID); app != nil && app.tokenTTL > 0 {
		return app.tokenTTL
	}
	return w.tokenTTL
}

// checkCredential validates a client_credential request for a mini-program.
func (w *WeChat) checkCredential(grantType, appID, secret string) (int, string) {
	switch {
	case appID == "":
		return errMissingAppID, "appid missing"
	case secret == "":
		return errMissingSecret, "appsecret missing"
	}
	w.mu.Lock()
	want, ok := w.miniApps[appID]
	w.mu.Unlock()
	switch {
	case !ok:
		return errInvalidAppID, "invalid appid"
	case secret != want:
		return errInvalidAppSecret, "invalid appsecret"
	case grantType != "client_credential":
		return errInvalidGrantType, "invalid grant_type"
	}
	return errOK, ""
}

// issueTokenLocked stores and returns a new token for appID living ttl.
// Callers hold w.mu.
func (w *WeChat) issueTokenLocked(appID string, now time.Time, ttl time.Duration) string {
	tok := randomURLSafe(128)
	w.tokens[tok] = &accessToken{appID: appID, expires: now.Add(ttl)}
	return tok
}
