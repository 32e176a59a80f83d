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
	forced := stableToken(f, true)
	if forced["access_token"] == tok || forced["expires_in"] != float64(7200) {
		t.Fatalf("forced refresh must issue a new token: %v", forced)
	}
	if got := tokenProbe(f, tok); got != 0 {
		t.Fatalf("old stable token within overlap: errcode %d", got)
	}
	f.clock.Advance(tokenOverlap)
	if got := tokenProbe(f, tok); got != errInvalidCredential {
		t.Fatalf("old stable token past overlap: errcode %d", got)
	}
	f.wc.ExpireAccessTokens()
	renewed := stableToken(f, false)
	if renewed["access_token"] == forced["access_token"] {
		t.Fatal("an expired stable token must be replaced")
	}
	if got := tokenProbe(f, renewed["access_token"].(string)); got != 0 {
		t.Fatalf("renewed stable token: errcode %d", got)
	}
	status, body := f.do(http.MethodPost, "/cgi-bin/stable_token", map[string]any{
		"grant_type": "client_credential", "appid": testMiniApp, "secret": "wrong",
	})
	if status != http.StatusOK || errcode(body) != errInvalidAppSecret {
		t.Fatalf("wrong secret: %d %v", status, body)
	}
}
