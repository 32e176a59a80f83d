package main

import (
	"context"
	"encoding/json"
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
