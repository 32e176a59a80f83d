package sim

import (
	"net/http"
	"time"
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
	tok := w.issueTokenLocked(appID, now)
	w.latestToken[appID] = tok
	w.mu.Unlock()
	writeWX(rw, tokenResponse{AccessToken: tok, ExpiresIn: int64(w.tokenTTL / time.Second)})
}

// handleStableToken serves POST /cgi-bin/stable_token, independent of
// /cgi-bin/token: while the current stable token is valid it is returned
// again with its remaining lifetime; force_refresh issues a new one and leaves
// the old one working for tokenOverlap.
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
	cur := w.stableToken[req.AppID]
	if t := w.tokens[cur]; t != nil && !t.killed && now.Before(t.expires) && !req.ForceRefresh {
		left := int64(t.expires.Sub(now) / time.Second)
		w.mu.Unlock()
		writeWX(rw, tokenResponse{AccessToken: cur, ExpiresIn: left})
		return
	}
	if t := w.tokens[cur]; t != nil && t.superseded.IsZero() {
		t.superseded = now.Add(tokenOverlap)
	}
	tok := w.issueTokenLocked(req.AppID, now)
	w.stableToken[req.AppID] = tok
	w.mu.Unlock()
	writeWX(rw, tokenResponse{AccessToken: tok, ExpiresIn: int64(w.tokenTTL / time.Second)})
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

// issueTokenLocked stores and returns a new token for appID. Callers hold w.mu.
func (w *WeChat) issueTokenLocked(appID string, now time.Time) string {
	tok := randomURLSafe(128)
	w.tokens[tok] = &accessToken{appID: appID, expires: now.Add(w.tokenTTL)}
	return tok
}
