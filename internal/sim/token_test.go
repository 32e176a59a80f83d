package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenProbe calls a protected endpoint with tok and returns its errcode; a
// valid token gets past the check to the body validation (47003 for empty
// data), so anything but a token errcode means the token was accepted.
func tokenProbe(f *fixture, tok string) int {
	f.t.Helper()
	code := errcode(f.wxPost("/cgi-bin/message/subscribe/send", tok, map[string]any{}))
	switch code {
	case errInvalidCredential, errTokenExpired, errMissingToken, errMalformedToken:
		return code
	}
	return 0
}

func TestTokenLifecycle(t *testing.T) {
	tests := []struct {
		name string
		// act returns the token to probe.
		act  func(f *fixture) string
		want int
	}{
		{"fresh", func(f *fixture) string { return f.token() }, 0},
		{"missing", func(f *fixture) string { return "" }, errMissingToken},
		{"malformed", func(f *fixture) string { return "not-a-token" }, errMalformedToken},
		{"malformed: not the token alphabet", func(f *fixture) string { return strings.Repeat("x", 60) + "+/=" }, errMalformedToken},
		{"unknown", func(f *fixture) string { return strings.Repeat("x", 128) }, errInvalidCredential},
		{"just before expiry", func(f *fixture) string {
			tok := f.token()
			f.clock.Advance(defaultTokenTTL - time.Second)
			return tok
		}, 0},
		{"expired by the clock", func(f *fixture) string {
			tok := f.token()
			f.clock.Advance(defaultTokenTTL)
			return tok
		}, errTokenExpired},
		{"expired by ExpireAccessTokens", func(f *fixture) string {
			tok := f.token()
			f.wc.ExpireAccessTokens()
			return tok
		}, errTokenExpired},
		{"new token after ExpireAccessTokens", func(f *fixture) string {
			f.token()
			f.wc.ExpireAccessTokens()
			return f.token()
		}, 0},
		{"superseded, within overlap", func(f *fixture) string {
			old := f.token()
			f.token()
			f.clock.Advance(tokenOverlap - time.Second)
			return old
		}, 0},
		{"superseded, past overlap", func(f *fixture) string {
			old := f.token()
			f.token()
			f.clock.Advance(tokenOverlap)
			return old
		}, errInvalidCredential},
		{"newest, past overlap", func(f *fixture) string {
			f.token()
			tok := f.token()
			f.clock.Advance(tokenOverlap)
			return tok
		}, 0},
		{"stable token survives a plain token", func(f *fixture) string {
			tok := stableToken(f, false)["access_token"].(string)
			f.token()
			f.clock.Advance(tokenOverlap)
			return tok
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if got := tokenProbe(f, tc.act(f)); got != tc.want {
				t.Fatalf("errcode = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTokenResponse(t *testing.T) {
	f := newFixture(t)
	body := f.wxGet("/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {testMiniApp}, "secret": {testMiniSecret}})
	if tok, _ := body["access_token"].(string); len(tok) < 64 {
		t.Errorf("token %q shorter than 64", tok)
	}
	if body["expires_in"] != float64(7200) {
		t.Errorf("expires_in = %v", body["expires_in"])
	}
	for name, tc := range map[string]struct {
		q    url.Values
		want int
	}{
		"open app":       {url.Values{"grant_type": {"client_credential"}, "appid": {testOpenApp}, "secret": {testOpenSecret}}, errInvalidAppID},
		"bad secret":     {url.Values{"grant_type": {"client_credential"}, "appid": {testMiniApp}, "secret": {"x"}}, errInvalidAppSecret},
		"bad grant_type": {url.Values{"grant_type": {"password"}, "appid": {testMiniApp}, "secret": {testMiniSecret}}, errInvalidGrantType},
		"no appid":       {url.Values{"grant_type": {"client_credential"}, "secret": {testMiniSecret}}, errMissingAppID},
	} {
		if got := errcode(f.wxGet("/cgi-bin/token", tc.q)); got != tc.want {
			t.Errorf("%s: errcode %d, want %d", name, got, tc.want)
		}
	}
	if got := f.wc.Calls("/cgi-bin/token"); got != 5 {
		t.Errorf("Calls = %d, want 5", got)
	}

	short := NewWeChat(WeChatOptions{MiniApps: map[string]string{"a": "s"}, TokenTTL: 90 * time.Second})
	rec := httptest.NewRecorder()
	short.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, prefix+"/cgi-bin/token?grant_type=client_credential&appid=a&secret=s", nil))
	var ttlBody map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &ttlBody); err != nil || ttlBody["expires_in"] != float64(90) {
		t.Errorf("TokenTTL 90s: %s", rec.Body.String())
	}
}

func stableToken(f *fixture, force bool) map[string]any {
	f.t.Helper()
	status, body := f.do(http.MethodPost, "/cgi-bin/stable_token", map[string]any{
		"grant_type": "client_credential", "appid": testMiniApp, "secret": testMiniSecret, "force_refresh": force,
	})
	if status != http.StatusOK {
		f.t.Fatalf("stable_token: status %d", status)
	}
	return body
}

func TestStableToken(t *testing.T) {
	f := newFixture(t)
	first := stableToken(f, false)
	tok, _ := first["access_token"].(string)
	if len(tok) < 64 || first["expires_in"] != float64(7200) {
		t.Fatalf("first stable token: %v", first)
	}
	f.clock.Advance(100 * time.Second)
	again := stableToken(f, false)
	if again["access_token"] != tok || again["expires_in"] != float64(7100) {
		t.Fatalf("non-forced call must return the same token with less time: %v", again)
	}
	// 301 s left: still the same token.
	f.clock.Advance(defaultTokenTTL - 100*time.Second - tokenOverlap - time.Second)
	if again := stableToken(f, false); again["access_token"] != tok || again["expires_in"] != float64(301) {
		t.Fatalf("301 s before expiry: %v", again)
	}
	// 300 s left: WeChat has renewed it; both work until the old one expires.
	f.clock.Advance(time.Second)
	renewed := stableToken(f, false)
	newTok, _ := renewed["access_token"].(string)
	if newTok == tok || renewed["expires_in"] != float64(7200) {
		t.Fatalf("5 minutes before expiry the token must be renewed: %v", renewed)
	}
	f.clock.Advance(tokenOverlap - time.Second)
	if got := tokenProbe(f, tok); got != 0 {
		t.Fatalf("old token in its last second: errcode %d", got)
	}
	if got := tokenProbe(f, newTok); got != 0 {
		t.Fatalf("new token during the overlap: errcode %d", got)
	}
	f.clock.Advance(time.Second)
	if got := tokenProbe(f, tok); got != errTokenExpired {
		t.Fatalf("old token after its expiry: errcode %d", got)
	}
	if again := stableToken(f, false); again["access_token"] != newTok {
		t.Fatalf("after the overlap the renewed token stays: %v", again)
	}

	f.wc.ExpireAccessTokens()
	afterKill := stableToken(f, false)
	if afterKill["access_token"] == newTok {
		t.Fatal("an expired stable token must be replaced")
	}
	if got := tokenProbe(f, afterKill["access_token"].(string)); got != 0 {
		t.Fatalf("replaced stable token: errcode %d", got)
	}
	status, body := f.do(http.MethodPost, "/cgi-bin/stable_token", map[string]any{
		"grant_type": "client_credential", "appid": testMiniApp, "secret": "wrong",
	})
	if status != http.StatusOK || errcode(body) != errInvalidAppSecret {
		t.Fatalf("wrong secret: %d %v", status, body)
	}
}

// TestStableTokenExpiresInNeverAtOrBelowOverlap walks through two renewals in
// 7-second steps:
// normal mode never answers expires_in of 300 or less (silenceper caches for
// expires_in − 300 s and must never be asked for a zero or negative TTL).
func TestStableTokenExpiresInNeverAtOrBelowOverlap(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 4*3600/7; i++ {
		body := stableToken(f, false)
		if n, _ := body["expires_in"].(float64); n <= tokenOverlap.Seconds() {
			t.Fatalf("at +%ds: expires_in %v", i*7, body["expires_in"])
		}
		f.clock.Advance(7 * time.Second)
	}
}

func TestStableTokenForceRefresh(t *testing.T) {
	f := newFixture(t)
	old := stableToken(f, false)["access_token"].(string)
	forced := stableToken(f, true)
	tok, _ := forced["access_token"].(string)
	if tok == "" || tok == old || forced["expires_in"] != float64(7200) {
		t.Fatalf("forced refresh must issue a new token: %v", forced)
	}
	if got := tokenProbe(f, old); got != errInvalidCredential {
		t.Fatalf("the previous token after force_refresh: errcode %d, want %d at once", got, errInvalidCredential)
	}
	if again := stableToken(f, false); again["access_token"] != tok {
		t.Fatalf("normal mode after force_refresh: %v", again)
	}
	f.clock.Advance(forceRefreshGap - time.Second)
	if got := errcode(stableToken(f, true)); got != errForceRefreshQuota {
		t.Fatalf("force_refresh within 30 s: errcode %d, want %d", got, errForceRefreshQuota)
	}
	if got := tokenProbe(f, tok); got != 0 {
		t.Fatalf("a refused force_refresh must not invalidate the token: errcode %d", got)
	}
	// 2025-03-01 02:00 UTC is 10:00 in Beijing: 19 more fit in the day.
	for i := 2; i <= forceRefreshPerDay; i++ {
		f.clock.Advance(forceRefreshGap)
		if got := errcode(stableToken(f, true)); got != 0 {
			t.Fatalf("force_refresh %d: errcode %d", i, got)
		}
	}
	f.clock.Advance(time.Hour)
	if got := errcode(stableToken(f, true)); got != errForceRefreshQuota {
		t.Fatalf("force_refresh %d in a day: errcode %d, want %d", forceRefreshPerDay+1, got, errForceRefreshQuota)
	}
	f.clock.Advance(14 * time.Hour) // past midnight in Beijing
	if got := errcode(stableToken(f, true)); got != 0 {
		t.Fatalf("force_refresh the next day: errcode %d", got)
	}
}
