package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestFaceMismatchErrcode: when WeChat answers queryverifyinfo with an errcode
// because the out_seq_no (or cert_hash, or openid) differs from the
// verify_id's, Banshi answers 422 realname_mismatch, keeps the level and
// spends the verification.
func TestFaceMismatchErrcode(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	token, _ := s.login(t, p)
	s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	vid := s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/face/start", token, map[string]string{"name": p.Name, "id_number": p.IDNumber})).str("verify_id")
	s.must(t, 204, s.call(t, "POST", "/sim/wechat/face/"+vid+"/complete", "", map[string]string{"outcome": "success"}))

	// Banshi's record of the verification now names another out_seq_no.
	ctx := context.Background()
	key := s.cfg.RedisPrefix + "face:" + vid
	raw, err := s.app.Redis.Client.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var pending map[string]any
	if err := json.Unmarshal(raw, &pending); err != nil {
		t.Fatal(err)
	}
	pending["seq"] = "000000000000000000000000"
	raw, _ = json.Marshal(pending)
	if err := s.app.Redis.Client.Set(ctx, key, raw, 0).Err(); err != nil {
		t.Fatal(err)
	}

	a := s.call(t, "POST", "/api/v1/me/realname/face/finish", token, map[string]string{"verify_id": vid})
	if a.Status != 422 || a.errCode() != "realname_mismatch" {
		t.Fatalf("got %d %s", a.Status, a.Raw)
	}
	if lvl := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil)).str("user", "realname_level"); lvl != "2" {
		t.Fatalf("level = %s, want 2", lvl)
	}
	if a := s.call(t, "POST", "/api/v1/me/realname/face/finish", token, map[string]string{"verify_id": vid}); a.Status != 404 {
		t.Fatalf("the refused verification is still pending: %d %s", a.Status, a.Raw)
	}
}

// TestLoginWithoutUnionID: a mini-program not bound to an Open Platform
// account gets no unionid from code2session. Login still works, the same
// openid is the same person, and the app login (which has a unionid) is not
// linked to that person.
func TestLoginWithoutUnionID(t *testing.T) {
	s := getStack(t)
	settings := "/sim/wechat/apps/" + s.cfg.MiniAppID + "/settings"
	s.must(t, 200, s.call(t, "PUT", settings, "", map[string]any{"unionid_bound": false}))
	defer func() { s.must(t, 200, s.call(t, "PUT", settings, "", map[string]any{"unionid_bound": true})) }()

	p := s.newPerson(t)
	users := s.count(t, "users")
	_, first := s.login(t, p)
	_, second := s.login(t, p)
	if id := first.str("user", "id"); id == "" || id != second.str("user", "id") {
		t.Fatalf("two logins of one openid: %s and %s", first.Raw, second.Raw)
	}
	if got := s.count(t, "users"); got != users+1 {
		t.Fatalf("users %d -> %d, want one more", users, got)
	}
	app := s.must(t, 200, s.call(t, "POST", "/api/v1/auth/app/login", "", map[string]string{"code": s.code(t, p, "app")}))
	if app.str("user", "id") == first.str("user", "id") {
		t.Fatal("without a unionid the app login must not find the mini-program's user")
	}
}

// TestLoginSecretsStayOutOfTheLog: codes that would rewrite WeChat's URL are
// refused (401 wechat_code_invalid) without calling WeChat, and failing
// logins (WeChat down included) log neither app secret nor the code.
func TestLoginSecretsStayOutOfTheLog(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	from := stackLog.Len()
	calls := s.app.WeChatSim.Calls("/sns/jscode2session") + s.app.WeChatSim.Calls("/sns/oauth2/access_token")
	codes := []string{"a b", "a#b", "a%zz", "a&js_code=x"}
	for _, code := range codes {
		for _, path := range []string{"/api/v1/auth/miniprogram/login", "/api/v1/auth/app/login"} {
			if a := s.call(t, "POST", path, "", map[string]string{"code": code}); a.Status != 401 || a.errCode() != "wechat_code_invalid" {
				t.Errorf("%s %q: %d %s", path, code, a.Status, a.Raw)
			}
		}
	}
	if got := s.app.WeChatSim.Calls("/sns/jscode2session") + s.app.WeChatSim.Calls("/sns/oauth2/access_token"); got != calls {
		t.Fatalf("%d malformed codes reached WeChat", got-calls)
	}
	// WeChat down: both logins fail with 503, and the failure is logged.
	for _, kind := range []string{"miniprogram", "app"} {
		code := s.code(t, p, kind)
		codes = append(codes, code)
		s.app.WeChatSim.SetDown(502)
		a := s.call(t, "POST", "/api/v1/auth/"+kind+"/login", "", map[string]string{"code": code})
		s.app.WeChatSim.SetDown(0)
		if a.Status != 503 {
			t.Fatalf("%s login, WeChat down: %d %s", kind, a.Status, a.Raw)
		}
	}
	logged := stackLog.Since(from)
	if strings.Count(logged, `"msg":"request failed"`) < 2 {
		t.Fatalf("the failed logins were not logged:\n%s", logged)
	}
	secrets := []string{string(s.cfg.MiniAppSecret), string(s.cfg.OpenAppSecret)}
	for _, c := range codes {
		secrets = append(secrets, c, url.QueryEscape(c), url.PathEscape(c))
	}
	for _, secret := range secrets {
		if strings.Contains(logged, secret) {
			t.Errorf("the log carries %q:\n%s", secret, logged)
		}
	}
	if strings.Contains(logged, "secret=") || strings.Contains(logged, "js_code=") {
		t.Errorf("the log carries a WeChat query:\n%s", logged)
	}
}
