package sim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestJSCode2Session(t *testing.T) {
	tests := []struct {
		name string
		// prepare returns the query to send, after acting on the fixture.
		prepare  func(f *fixture, openID string) url.Values
		wantCode int
	}{
		{"fresh code", func(f *fixture, o string) url.Values { return miniQuery(f.code(o, kindMiniProgram)) }, 0},
		{"used code", func(f *fixture, o string) url.Values {
			c := f.code(o, kindMiniProgram)
			if got := errcode(f.login(c)); got != 0 {
				t.Fatalf("first use: errcode %d", got)
			}
			return miniQuery(c)
		}, errCodeUsed},
		{"used code, after it expired", func(f *fixture, o string) url.Values {
			c := f.code(o, kindMiniProgram)
			if got := errcode(f.login(c)); got != 0 {
				t.Fatalf("first use: errcode %d", got)
			}
			f.clock.Advance(codeTTL)
			return miniQuery(c)
		}, errInvalidCode},
		{"code just before expiry", func(f *fixture, o string) url.Values {
			c := f.code(o, kindMiniProgram)
			f.clock.Advance(codeTTL - time.Second)
			return miniQuery(c)
		}, 0},
		{"expired code", func(f *fixture, o string) url.Values {
			c := f.code(o, kindMiniProgram)
			f.clock.Advance(codeTTL)
			return miniQuery(c)
		}, errInvalidCode},
		{"unknown code", func(f *fixture, o string) url.Values { return miniQuery("nope") }, errInvalidCode},
		{"app code", func(f *fixture, o string) url.Values { return miniQuery(f.code(o, kindApp)) }, errInvalidCode},
		{"code of another mini-program", func(f *fixture, o string) url.Values {
			f.wc.AddMiniApp("wxothermini", "other-secret")
			_, body := f.do(http.MethodPost, "/codes", map[string]string{"openid": o, "kind": kindMiniProgram, "appid": "wxothermini"})
			return miniQuery(body["code"].(string))
		}, errInvalidCode},
		{"unknown appid", func(f *fixture, o string) url.Values {
			q := miniQuery(f.code(o, kindMiniProgram))
			q.Set("appid", "wxunknown")
			return q
		}, errInvalidAppID},
		{"open app appid", func(f *fixture, o string) url.Values {
			q := miniQuery(f.code(o, kindMiniProgram))
			q.Set("appid", testOpenApp)
			q.Set("secret", testOpenSecret)
			return q
		}, errInvalidAppID},
		{"wrong secret", func(f *fixture, o string) url.Values {
			q := miniQuery(f.code(o, kindMiniProgram))
			q.Set("secret", "wrong")
			return q
		}, errInvalidAppSecret},
		{"missing js_code", func(f *fixture, o string) url.Values { return miniQuery("") }, errMissingCode},
		{"bad grant_type", func(f *fixture, o string) url.Values {
			q := miniQuery(f.code(o, kindMiniProgram))
			q.Set("grant_type", "client_credential")
			return q
		}, errInvalidGrantType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			openID, unionID := f.user(createUserRequest{})
			body := f.wxGet("/sns/jscode2session", tc.prepare(f, openID))
			if got := errcode(body); got != tc.wantCode {
				t.Fatalf("errcode = %d, want %d (%v)", got, tc.wantCode, body)
			}
			if tc.wantCode != 0 {
				if msg, _ := body["errmsg"].(string); !strings.Contains(msg, ", rid: ") {
					t.Errorf("errmsg %q lacks a rid", msg)
				}
				return
			}
			if body["openid"] != openID || body["unionid"] != unionID {
				t.Errorf("got openid %v unionid %v, want %s %s", body["openid"], body["unionid"], openID, unionID)
			}
			key, err := base64.StdEncoding.DecodeString(body["session_key"].(string))
			if err != nil || len(key) != 16 {
				t.Errorf("session_key %v: %d bytes, %v", body["session_key"], len(key), err)
			}
		})
	}
}

func TestJSCode2SessionWithoutOpenPlatform(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	if status, body := f.do(http.MethodPut, "/apps/"+testMiniApp+"/settings", map[string]any{"unionid_bound": false}); status != http.StatusOK || body["unionid_bound"] != false {
		t.Fatalf("settings: %d %v", status, body)
	}
	body := f.login(f.code(openID, kindMiniProgram))
	if _, has := body["unionid"]; has || body["openid"] != openID || errcode(body) != 0 {
		t.Fatalf("unbound mini-program: %v, want no unionid", body)
	}
	f.do(http.MethodPut, "/apps/"+testMiniApp+"/settings", map[string]any{"unionid_bound": true})
	if body := f.login(f.code(openID, kindMiniProgram)); body["unionid"] == nil {
		t.Fatalf("bound again: %v", body)
	}
}

func miniQuery(code string) url.Values {
	return url.Values{"appid": {testMiniApp}, "secret": {testMiniSecret}, "js_code": {code}, "grant_type": {"authorization_code"}}
}

func TestJSCode2SessionRateLimit(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	other, _ := f.user(createUserRequest{})
	for i := 0; i < loginPerMinute; i++ {
		if got := errcode(f.login(f.code(openID, kindMiniProgram))); got != 0 {
			t.Fatalf("call %d: errcode %d", i+1, got)
		}
	}
	kept := f.code(openID, kindMiniProgram)
	if got := errcode(f.login(kept)); got != errMinuteQuota {
		t.Fatalf("call %d: errcode %d, want %d", loginPerMinute+1, got, errMinuteQuota)
	}
	if got := errcode(f.login(f.code(other, kindMiniProgram))); got != 0 {
		t.Fatalf("another user is limited too: errcode %d", got)
	}
	f.clock.Advance(time.Minute)
	if got := errcode(f.login(kept)); got != 0 {
		t.Fatalf("next minute, the refused code: errcode %d", got)
	}
}

func TestOAuth2AccessToken(t *testing.T) {
	f := newFixture(t)
	openID, unionID := f.user(createUserRequest{})
	appQuery := func(code string) url.Values {
		return url.Values{"appid": {testOpenApp}, "secret": {testOpenSecret}, "code": {code}, "grant_type": {"authorization_code"}}
	}
	code := f.code(openID, kindApp)
	body := f.wxGet("/sns/oauth2/access_token", appQuery(code))
	if errcode(body) != 0 {
		t.Fatalf("app login: %v", body)
	}
	appOpen, _ := body["openid"].(string)
	if appOpen == "" || appOpen == openID {
		t.Errorf("app openid %q must exist and differ from the mini-program openid %q", appOpen, openID)
	}
	if body["unionid"] != unionID || body["scope"] != "snsapi_userinfo" || body["expires_in"] != float64(7200) {
		t.Errorf("unexpected body %v", body)
	}
	if tok, _ := body["access_token"].(string); len(tok) < 64 {
		t.Errorf("access_token %q too short", tok)
	}
	// The same person gets the same app openid on the next login.
	again := f.wxGet("/sns/oauth2/access_token", appQuery(f.code(openID, kindApp)))
	if again["openid"] != appOpen {
		t.Errorf("app openid changed: %v then %v", appOpen, again["openid"])
	}

	for name, tc := range map[string]struct {
		q    url.Values
		want int
	}{
		"reused code":      {appQuery(code), errCodeUsed},
		"mini code":        {appQuery(f.code(openID, kindMiniProgram)), errInvalidCode},
		"mini appid":       {url.Values{"appid": {testMiniApp}, "secret": {testMiniSecret}, "code": {f.code(openID, kindApp)}, "grant_type": {"authorization_code"}}, errInvalidAppID},
		"wrong app secret": {url.Values{"appid": {testOpenApp}, "secret": {"x"}, "code": {f.code(openID, kindApp)}, "grant_type": {"authorization_code"}}, errInvalidAppSecret},
	} {
		if got := errcode(f.wxGet("/sns/oauth2/access_token", tc.q)); got != tc.want {
			t.Errorf("%s: errcode %d, want %d", name, got, tc.want)
		}
	}
}
