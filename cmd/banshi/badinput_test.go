package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banshi/api"
	"banshi/internal/account"
)

// TestLoginBadInput: every bad login gets a clear 4xx and creates nobody.
func TestLoginBadInput(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	used := s.code(t, p, "miniprogram")
	s.must(t, 200, s.call(t, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": used}))
	appCode := s.code(t, p, "app")

	cases := []struct {
		name, path string
		body       any
		status     int
		code       string
		field      string
	}{
		{"malformed JSON", "/api/v1/auth/miniprogram/login", `{"code":`, 400, "invalid_argument", "body"},
		{"not an object", "/api/v1/auth/miniprogram/login", `["x"]`, 400, "invalid_argument", "body"},
		{"wrong type", "/api/v1/auth/miniprogram/login", `{"code":123}`, 400, "invalid_argument", "code"},
		{"unknown field", "/api/v1/auth/miniprogram/login", `{"code":"x","extra":1}`, 400, "invalid_argument", "extra"},
		{"empty body", "/api/v1/auth/miniprogram/login", ``, 400, "invalid_argument", "body"},
		{"missing code", "/api/v1/auth/miniprogram/login", `{}`, 400, "invalid_argument", "code"},
		{"unknown code", "/api/v1/auth/miniprogram/login", map[string]string{"code": "no-such-code"}, 401, "wechat_code_invalid", ""},
		{"reused code", "/api/v1/auth/miniprogram/login", map[string]string{"code": used}, 401, "wechat_code_invalid", ""},
		{"app code on the mini-program", "/api/v1/auth/miniprogram/login", map[string]string{"code": appCode}, 401, "wechat_code_invalid", ""},
		{"unknown app code", "/api/v1/auth/app/login", map[string]string{"code": "nope"}, 401, "wechat_code_invalid", ""},
		{"body over the limit", "/api/v1/auth/app/login", `{"code":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "payload_too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.count(t, "users")
			a := s.call(t, "POST", tc.path, "", tc.body)
			if a.Status != tc.status || a.errCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", a.Status, a.Raw, tc.status, tc.code)
			}
			if tc.field != "" && a.errField("field") != tc.field {
				t.Fatalf("field = %q, want %q (%s)", a.errField("field"), tc.field, a.Raw)
			}
			if a.errField("message") == "" {
				t.Fatal("no message")
			}
			if after := s.count(t, "users"); after != before {
				t.Fatalf("users %d -> %d", before, after)
			}
		})
	}
}

// TestUpstreamFailure: WeChat 5xx or unreachable gives 503 within the
// timeout and no half-made user.
func TestUpstreamFailure(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	for _, mode := range []struct {
		name   string
		status int
	}{{"5xx", 503}, {"500", 500}, {"hangs", -1}} {
		t.Run(mode.name, func(t *testing.T) {
			code := s.code(t, p, "miniprogram")
			before := s.count(t, "users")
			s.app.WeChatSim.SetDown(mode.status)
			start := time.Now()
			a := s.call(t, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": code})
			took := time.Since(start)
			s.app.WeChatSim.SetDown(0)
			if a.Status != 503 || a.errCode() != "upstream_unavailable" || a.Header.Get("Retry-After") == "" {
				t.Fatalf("got %d %s", a.Status, a.Raw)
			}
			if took > 7*time.Second {
				t.Fatalf("took %s, want within the 5 s timeout", took)
			}
			if after := s.count(t, "users"); after != before {
				t.Fatalf("users %d -> %d", before, after)
			}
		})
	}
	// WeChat is back: the person logs in normally.
	s.login(t, p)
}

// TestRealnameBadInput: wrong ID numbers and names get 400 naming the check;
// mismatches get 422; nothing changes.
func TestRealnameBadInput(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	token, _ := s.login(t, p)
	valid := p.IDNumber
	wrongDigit := valid[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", valid[17])+1)%11])
	future := account.WithCheckDigit("44010620" + time.Now().AddDate(1, 0, 0).Format("060102") + "123")
	other := s.newPerson(t) // an identity that is not p's

	cases := []struct {
		name, path string
		body       any
		status     int
		code       string
		check      string
	}{
		{"wrong check digit", "/api/v1/me/realname/declare", map[string]string{"name": p.Name, "id_number": wrongDigit}, 400, "invalid_argument", "check_digit"},
		{"impossible birth date", "/api/v1/me/realname/declare", map[string]string{"name": p.Name, "id_number": account.WithCheckDigit("44010619900230123")}, 400, "invalid_argument", "birth_date"},
		{"future birth date", "/api/v1/me/realname/declare", map[string]string{"name": p.Name, "id_number": future}, 400, "invalid_argument", "birth_date_future"},
		{"bad length", "/api/v1/me/realname/declare", map[string]string{"name": p.Name, "id_number": "4401061990"}, 400, "invalid_argument", "length"},
		{"bad region", "/api/v1/me/realname/declare", map[string]string{"name": p.Name, "id_number": account.WithCheckDigit("99010619900101123")}, 400, "invalid_argument", "region"},
		{"latin name", "/api/v1/me/realname/declare", map[string]string{"name": "Zhang San", "id_number": valid}, 400, "invalid_argument", "name_chars"},
		{"missing name", "/api/v1/me/realname/declare", map[string]string{"id_number": valid}, 400, "invalid_argument", ""},
		{"wrong type", "/api/v1/me/realname/declare", `{"name":"张三","id_number":440106}`, 400, "invalid_argument", ""},
		{"check with another's identity", "/api/v1/me/realname/check", map[string]string{"name": other.Name, "id_number": other.IDNumber, "code": "CONSENT"}, 422, "realname_mismatch", ""},
		{"check with a bad consent code", "/api/v1/me/realname/check", map[string]string{"name": p.Name, "id_number": valid, "code": "nope"}, 422, "realname_code_invalid", ""},
		{"finish an unknown verification", "/api/v1/me/realname/face/finish", map[string]string{"verify_id": "nope"}, 404, "verification_not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if m, ok := body.(map[string]string); ok && m["code"] == "CONSENT" {
				m["code"] = s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": p.OpenID})).str("code")
			}
			claims := s.count(t, "identity_claims")
			a := s.call(t, "POST", tc.path, token, body)
			if a.Status != tc.status || a.errCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", a.Status, a.Raw, tc.status, tc.code)
			}
			if tc.check != "" && a.errField("check") != tc.check {
				t.Fatalf("check = %q, want %q", a.errField("check"), tc.check)
			}
			me := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil))
			if me.str("user", "realname_level") != "1" || me.str("user", "id_number_masked") != "" {
				t.Fatalf("user changed: %s", me.Raw)
			}
			if got := s.count(t, "identity_claims"); got != claims {
				t.Fatalf("identity claims %d -> %d", claims, got)
			}
		})
	}
}

// TestFaceFailureKeepsLevel: a failed face check is 422 and the level stays.
func TestFaceFailureKeepsLevel(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	token, _ := s.login(t, p)
	s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	vid := s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/face/start", token, map[string]string{"name": p.Name, "id_number": p.IDNumber})).str("verify_id")
	s.must(t, 204, s.call(t, "POST", "/sim/wechat/face/"+vid+"/complete", "", map[string]string{"outcome": "fail"}))
	a := s.call(t, "POST", "/api/v1/me/realname/face/finish", token, map[string]string{"verify_id": vid})
	if a.Status != 422 || a.errCode() != "realname_mismatch" {
		t.Fatalf("got %d %s", a.Status, a.Raw)
	}
	if lvl := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil)).str("user", "realname_level"); lvl != "2" {
		t.Fatalf("level = %s, want 2", lvl)
	}
	// Another user's verify_id is not yours.
	q := s.newPerson(t)
	qtoken, _ := s.login(t, q)
	vid2 := s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/face/start", token, map[string]string{"name": p.Name, "id_number": p.IDNumber})).str("verify_id")
	if a := s.call(t, "POST", "/api/v1/me/realname/face/finish", qtoken, map[string]string{"verify_id": vid2}); a.Status != 404 {
		t.Fatalf("someone else's verify_id: %d %s", a.Status, a.Raw)
	}
}

// TestRealnameTaken: one ID number belongs to one person.
func TestRealnameTaken(t *testing.T) {
	s := getStack(t)
	p := s.newPerson(t)
	q := s.newPerson(t)
	pt, _ := s.login(t, p)
	qt, _ := s.login(t, q)
	s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/declare", pt, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	a := s.call(t, "POST", "/api/v1/me/realname/declare", qt, map[string]string{"name": p.Name, "id_number": p.IDNumber})
	if a.Status != 409 || a.errCode() != "realname_taken" {
		t.Fatalf("got %d %s", a.Status, a.Raw)
	}
	if lvl := s.must(t, 200, s.call(t, "GET", "/api/v1/me", qt, nil)).str("user", "realname_level"); lvl != "1" {
		t.Fatalf("level = %s", lvl)
	}
}

// TestTokens: missing, malformed and revoked tokens are 401.
func TestTokens(t *testing.T) {
	s := getStack(t)
	for _, hdr := range []string{"", "Bearer", "Bearer nope", "Basic abc", "Bearer " + strings.Repeat("x", 300)} {
		a := s.call(t, "GET", "/api/v1/me", "", nil, "Authorization", hdr)
		if a.Status != 401 || a.errCode() != "unauthenticated" {
			t.Errorf("Authorization %q: %d %s", hdr, a.Status, a.Raw)
		}
	}
}

// TestRateLimits: logins per client IP and API calls per user answer 429
// with Retry-After past the limit. The server under test is the wired
// application with limits of 3 a minute (a token returns every 20 s), so the
// test cannot outrun the refill however slow the machine is.
func TestRateLimits(t *testing.T) {
	st := getStack(t)
	deps := st.app.apiDeps
	deps.Registry = nil // the stack's server registered its series there
	deps.Limits.LoginPerIP, deps.Limits.APIPerUser = 3, 3
	srv := httptest.NewServer(api.New(deps).Handler())
	defer srv.Close()
	s := &stack{app: st.app, url: srv.URL, cfg: st.cfg}

	ip, other := nextClientIP(), nextClientIP()
	var last answer
	for range 4 {
		last = s.call(t, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": "x"}, "X-Forwarded-For", ip)
	}
	if last.Status != 429 || last.errCode() != "rate_limited" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("login 4: %d %s", last.Status, last.Raw)
	}
	// Another IP is not affected.
	if a := s.call(t, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": "x"}, "X-Forwarded-For", other); a.Status != 401 {
		t.Fatalf("other IP: %d", a.Status)
	}

	token, _ := st.login(t, st.newPerson(t))
	for range 4 {
		last = s.call(t, "GET", "/api/v1/me", token, nil)
	}
	if last.Status != 429 || last.errCode() != "rate_limited" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("API call 4: %d %s", last.Status, last.Raw)
	}
}

// TestProductionRefusesToStart names every missing setting.
func TestProductionRefusesToStart(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, getenv(map[string]string{"BANSHI_ENV": "production"}), nil, testLog())
	if err == nil {
		t.Fatal("production started without settings")
	}
	for _, name := range []string{"MONGODB_URI", "REDIS_URL", "BANSHI_WECHAT_API_BASE", "BANSHI_WECHAT_MINI_APPID", "BANSHI_WECHAT_MINI_SECRET", "BANSHI_WECHAT_APP_APPID", "BANSHI_WECHAT_APP_SECRET", "BANSHI_PII_KEY", "BANSHI_SESSION_SECRET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	err = run(context.Background(), []string{"serve"}, getenv(map[string]string{"BANSHI_ENV": "production", "BANSHI_SIM": "true"}), nil, testLog())
	if err == nil || !strings.Contains(err.Error(), "BANSHI_SIM") {
		t.Fatalf("simulators in production: %v", err)
	}
}

// TestChunkedBodyOverTheLimit: a body sent without Content-Length (chunked)
// that runs past the limit answers 413 on the wired application and changes
// nothing: no user, no staff session, no audit entry.
func TestChunkedBodyOverTheLimit(t *testing.T) {
	s := getStack(t)
	for _, path := range []string{"/api/v1/auth/miniprogram/login", "/api/v1/staff/login"} {
		users, audit := s.count(t, "users"), s.count(t, "staff_audit")
		// One JSON object, then blanks past the limit: read as far as the
		// object, it looked like a 400.
		body := io.MultiReader(strings.NewReader(`{"username":"demo-staff","password":"x"}`), strings.NewReader(strings.Repeat(" ", 70<<10)))
		req, err := http.NewRequest("POST", s.url+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", nextClientIP())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if req.ContentLength != 0 || resp.StatusCode != 413 || !strings.Contains(string(raw), "payload_too_large") {
			t.Errorf("%s chunked over the limit: %d %s", path, resp.StatusCode, raw)
		}
		if s.count(t, "users") != users || s.count(t, "staff_audit") != audit {
			t.Errorf("%s: something changed", path)
		}
	}
}
