package main

import (
	"strings"
	"testing"
)

// TestCitizenWalkthrough is the README's walkthrough: log in, prove who you
// are up to face verification, see the page, log in from the app as the same
// person, log out.
func TestCitizenWalkthrough(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)

	token, login := s.login(t, p)
	if len(token) < 43 || login.str("user", "realname_level") != "1" || login.str("expires_at") == "" {
		t.Fatalf("login answer: %s", login.Raw)
	}
	if strings.Contains(string(login.Raw), "session_key") {
		t.Fatal("session_key leaked to the client")
	}
	uid := login.str("user", "id")

	me := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil))
	for _, sec := range []string{"favorites", "appointments", "applications", "bills", "messages"} {
		if _, ok := me.Body["sections"].(map[string]any)[sec]; !ok {
			t.Errorf("section %q missing: %s", sec, me.Raw)
		}
	}

	// Level 2: declaration.
	a := s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	if a.str("user", "realname_level") != "2" {
		t.Fatalf("declare: %s", a.Raw)
	}
	if strings.Contains(string(a.Raw), p.IDNumber) || strings.Contains(string(a.Raw), p.Name) {
		t.Fatalf("declare answer shows PII: %s", a.Raw)
	}

	// Level 3: checkrealnameinfo with the consent code.
	rc := s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": p.OpenID})).str("code")
	a = s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/check", token, map[string]string{"name": p.Name, "id_number": p.IDNumber, "code": rc}))
	if a.str("user", "realname_level") != "3" {
		t.Fatalf("check: %s", a.Raw)
	}

	// Level 4: face verification.
	vid := s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/face/start", token, map[string]string{"name": p.Name, "id_number": p.IDNumber})).str("verify_id")
	a = s.call(t, "POST", "/api/v1/me/realname/face/finish", token, map[string]string{"verify_id": vid})
	if a.Status != 409 || a.errCode() != "face_unfinished" {
		t.Fatalf("finish before the phone step: %d %s", a.Status, a.Raw)
	}
	s.must(t, 204, s.call(t, "POST", "/sim/wechat/face/"+vid+"/complete", "", map[string]string{"outcome": "success"}))
	a = s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/face/finish", token, map[string]string{"verify_id": vid}))
	if a.str("user", "realname_level") != "4" {
		t.Fatalf("finish: %s", a.Raw)
	}

	me = s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil))
	wantMasked := p.IDNumber[:4] + "**********" + p.IDNumber[14:]
	if me.str("user", "realname_level") != "4" || me.str("user", "id_number_masked") != wantMasked || me.str("user", "name_masked") != "*三" {
		t.Fatalf("me after level 4: %s", me.Raw)
	}

	// A declaration later never lowers the level.
	s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	if got := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil)).str("user", "realname_level"); got != "4" {
		t.Fatalf("level after re-declaring = %s, want 4", got)
	}

	// Favourites.
	a = s.must(t, 200, s.call(t, "PUT", "/api/v1/me/favorites", token, map[string]any{"service_codes": []string{"11440106007482133H4440111009000", "11440106MB2C93264A4441420003000"}}))
	me = s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil))
	if favs := me.Body["sections"].(map[string]any)["favorites"].([]any); len(favs) != 2 {
		t.Fatalf("favorites: %s", me.Raw)
	}

	// The app login of the same unionid is the same person.
	appCode := s.code(t, p, "app")
	a = s.must(t, 200, s.call(t, "POST", "/api/v1/auth/app/login", "", map[string]string{"code": appCode}))
	if a.str("user", "id") != uid || a.str("user", "realname_level") != "4" {
		t.Fatalf("app login: %s (want user %s)", a.Raw, uid)
	}
	appToken := a.str("token")

	// Logout ends that session only; logout-all ends the rest.
	s.must(t, 204, s.call(t, "POST", "/api/v1/auth/logout", token, nil))
	if a := s.call(t, "GET", "/api/v1/me", token, nil); a.Status != 401 || a.errCode() != "unauthenticated" {
		t.Fatalf("after logout: %d %s", a.Status, a.Raw)
	}
	s.must(t, 200, s.call(t, "GET", "/api/v1/me", appToken, nil))
	token2, _ := s.login(t, p)
	a = s.must(t, 200, s.call(t, "POST", "/api/v1/auth/logout-all", token2, nil))
	if a.str("revoked") != "2" {
		t.Fatalf("logout-all: %s", a.Raw)
	}
	for _, tok := range []string{token2, appToken} {
		if a := s.call(t, "GET", "/api/v1/me", tok, nil); a.Status != 401 {
			t.Fatalf("after logout-all: %d", a.Status)
		}
	}
}

func TestOperationalEndpoints(t *testing.T) {
	s := getStack(t)
	s.must(t, 200, s.call(t, "GET", "/healthz", "", nil))
	a := s.must(t, 200, s.call(t, "GET", "/readyz", "", nil))
	if a.str("checks", "mongodb") != "ok" || a.str("checks", "redis") != "ok" {
		t.Fatalf("readyz: %s", a.Raw)
	}
	m := s.must(t, 200, s.call(t, "GET", "/metrics", "", nil))
	if !strings.Contains(string(m.Raw), "banshi_http_requests_total") || !strings.Contains(string(m.Raw), "banshi_http_request_duration_seconds") {
		t.Fatal("metrics lack the request series")
	}
	o := s.must(t, 200, s.call(t, "GET", "/api/openapi.yaml", "", nil))
	if !strings.HasPrefix(string(o.Raw), "openapi: 3") {
		t.Fatalf("openapi: %.80s", o.Raw)
	}
	if a := s.call(t, "GET", "/api/v1/no-such-thing", "", nil); a.Status != 404 || a.errCode() != "not_found" {
		t.Fatalf("404: %d %s", a.Status, a.Raw)
	}
	if a := s.call(t, "PATCH", "/api/v1/me", "", nil); a.Status != 405 || a.errCode() != "method_not_allowed" {
		t.Fatalf("405: %d %s", a.Status, a.Raw)
	}
	if a.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}
}
