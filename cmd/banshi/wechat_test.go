package main

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/wechat"
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

// pushSig is WeChat's push signature: SHA-1 hex of the parts sorted and joined.
func pushSig(parts ...string) string {
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// TestWeChatPushEndToEnd: the simulated WeChat pushes subscribe events to the
// wired Banshi (safe mode, JSON); each is recorded once in wechat_events,
// duplicates included; a push with a bad signature or an undecryptable body
// is 401 and records nothing.
func TestWeChatPushEndToEnd(t *testing.T) {
	s := getStack(t)
	ctx := context.Background()
	events := s.app.Mongo.DB.Collection("wechat_events")
	app := s.cfg.MiniAppID
	s.must(t, 204, s.call(t, "PUT", "/sim/wechat/apps/"+app+"/templates/TPL-PUSH", "", map[string]any{"keys": []string{"thing1", "time2"}}))
	// The console's submit: WeChat checks the URL (GET echostr) before saving.
	settings := s.must(t, 200, s.call(t, "PUT", "/sim/wechat/apps/"+app+"/push", "", map[string]any{"duplicates": 1}))
	if settings.Body["safe"] != true || settings.Body["pushes_active"] != true {
		t.Fatalf("push settings: %s", settings.Raw)
	}
	defer func() {
		s.must(t, 200, s.call(t, "PUT", "/sim/wechat/apps/"+app+"/push", "", map[string]any{"duplicates": 0}))
	}()

	p := s.newPerson(t)
	count := func(filter bson.M) int64 {
		filter["openid"] = p.OpenID
		n, err := events.CountDocuments(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The phone accepts the template: a popup event, delivered twice, recorded once.
	s.must(t, 204, s.call(t, "POST", "/sim/wechat/subscriptions", "", map[string]string{"openid": p.OpenID, "template_id": "TPL-PUSH"}))
	s.app.WeChatSim.FlushPushes()
	if n := count(bson.M{"event": "subscribe_msg_popup_event", "popup.template_id": "TPL-PUSH", "popup.status": "accept", "handled": true}); n != 1 {
		t.Fatalf("%d popup events recorded, want 1", n)
	}
	// A delivered message: a sent event with its msgid.
	tok := s.must(t, 200, s.call(t, "POST", "/sim/wechat/cgi-bin/stable_token", "", map[string]any{
		"grant_type": "client_credential", "appid": app, "secret": string(s.cfg.MiniAppSecret)})).str("access_token")
	sent := s.must(t, 200, s.call(t, "POST", "/sim/wechat/cgi-bin/message/subscribe/send?access_token="+tok, "", map[string]any{
		"touser": p.OpenID, "template_id": "TPL-PUSH", "page": "pages/progress/index?id=1",
		"data": map[string]any{"thing1": map[string]string{"value": "户口迁入登记"}, "time2": map[string]string{"value": "10:00"}}}))
	if sent.str("errcode") != "0" {
		t.Fatalf("send: %s", sent.Raw)
	}
	// The user turns the template off: a change event.
	s.must(t, 204, s.call(t, "POST", "/sim/wechat/subscriptions/off", "", map[string]string{"openid": p.OpenID, "template_id": "TPL-PUSH"}))
	s.app.WeChatSim.FlushPushes()
	if n := count(bson.M{"event": "subscribe_msg_sent_event", "sent.msg_id": sent.str("msgid"), "sent.error_code": 0}); n != 1 {
		t.Fatalf("%d sent events recorded, want 1", n)
	}
	if n := count(bson.M{"event": "subscribe_msg_change_event", "change.status": "reject"}); n != 1 {
		t.Fatalf("%d change events recorded, want 1", n)
	}
	for _, push := range s.app.WeChatSim.Pushes(p.OpenID) {
		if push.Status != "delivered" || push.Attempts != 2 {
			t.Errorf("push %+v: want delivered, then its duplicate", push)
		}
	}

	// Forged pushes: 401, nothing recorded.
	total, _ := events.CountDocuments(ctx, bson.M{})
	token := string(s.cfg.PushToken)
	ts, nonce := "1714036504", "1514711492"
	plain := `{"ToUserName":"gh_x","FromUserName":"` + p.OpenID + `","CreateTime":1714036504,"MsgType":"event","Event":"subscribe_msg_popup_event","List":{"TemplateId":"TPL-PUSH","SubscribeStatusString":"accept","PopupScene":"0"}}`
	garbage := base64.StdEncoding.EncodeToString(make([]byte, 64))
	for name, tc := range map[string]struct {
		query url.Values
		body  string
	}{
		"bad signature":                          {url.Values{"signature": {pushSig("wrong", ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}, plain},
		"plain mode while safe mode is required": {url.Values{"signature": {pushSig(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}, plain},
		"undecryptable body": {url.Values{"signature": {pushSig(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"},
			"msg_signature": {pushSig(token, ts, nonce, garbage)}, "openid": {p.OpenID}}, `{"ToUserName":"gh_x","Encrypt":"` + garbage + `"}`},
		"msg_signature of another body": {url.Values{"signature": {pushSig(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"},
			"msg_signature": {pushSig(token, ts, nonce, "other")}}, `{"Encrypt":"` + garbage + `"}`},
	} {
		a := s.call(t, "POST", "/api/v1/hooks/wechat?"+tc.query.Encode(), "", tc.body)
		if a.Status != 401 || a.errCode() != "wechat_push_unverified" {
			t.Errorf("%s: %d %s", name, a.Status, a.Raw)
		}
	}
	if after, _ := events.CountDocuments(ctx, bson.M{}); after != total {
		t.Fatalf("forged pushes recorded %d events", after-total)
	}
	// The URL check itself.
	q := url.Values{"signature": {pushSig(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {"4375120948345356249"}}
	if a := s.call(t, "GET", "/api/v1/hooks/wechat?"+q.Encode(), "", nil); a.Status != 200 || string(a.Raw) != "4375120948345356249" {
		t.Fatalf("URL check: %d %s", a.Status, a.Raw)
	}
	q.Set("signature", pushSig("wrong", ts, nonce))
	if a := s.call(t, "GET", "/api/v1/hooks/wechat?"+q.Encode(), "", nil); a.Status != 401 {
		t.Fatalf("URL check with a bad signature: %d %s", a.Status, a.Raw)
	}
}

// TestPushSettings: the message-push settings are checked when loaded,
// required in production when push is on, and generated in development into
// the data folder's secrets (added to a folder from before they existed).
func TestPushSettings(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"BANSHI_WECHAT_PUSH_TOKEN":   {"BANSHI_WECHAT_PUSH_TOKEN": "has-dash"},
		"BANSHI_WECHAT_PUSH_AES_KEY": {"BANSHI_WECHAT_PUSH_AES_KEY": "short"},
		"BANSHI_WECHAT_PUSH_SAFE":    {"BANSHI_WECHAT_PUSH_SAFE": "perhaps"},
	} {
		if _, err := platform.LoadConfig(getenv(env)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	prod := func(env map[string]string) error {
		env["BANSHI_ENV"] = "production"
		cfg, err := platform.LoadConfig(getenv(env))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.CheckProduction()
	}
	if err := prod(map[string]string{}); err == nil || strings.Contains(err.Error(), "PUSH") {
		t.Errorf("push is off by default in production: %v", err)
	}
	if err := prod(map[string]string{"BANSHI_WECHAT_PUSH": "true"}); err == nil ||
		!strings.Contains(err.Error(), "BANSHI_WECHAT_PUSH_TOKEN") || !strings.Contains(err.Error(), "BANSHI_WECHAT_PUSH_AES_KEY") {
		t.Errorf("push on in production without its secrets: %v", err)
	}
	if err := prod(map[string]string{"BANSHI_WECHAT_PUSH": "true", "BANSHI_WECHAT_PUSH_SAFE": "false"}); err == nil ||
		!strings.Contains(err.Error(), "BANSHI_WECHAT_PUSH_TOKEN") || strings.Contains(err.Error(), "BANSHI_WECHAT_PUSH_AES_KEY") {
		t.Errorf("plain-mode push needs only the token: %v", err)
	}

	// Development: generated with the other secrets, and the same on reload.
	dir := t.TempDir()
	load := func() platform.Config {
		cfg, err := platform.LoadConfig(getenv(map[string]string{"BANSHI_DATA_DIR": dir}))
		if err == nil {
			err = cfg.FillDevSecrets()
		}
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	first := load()
	if !first.Push || !first.PushSafe || len(first.PushToken) != 32 || len(first.PushAESKey) != 43 {
		t.Fatalf("development push settings: push=%v safe=%v token %d chars, key %d chars", first.Push, first.PushSafe, len(first.PushToken), len(first.PushAESKey))
	}
	if again := load(); again.PushToken != first.PushToken || again.PushAESKey != first.PushAESKey {
		t.Fatal("the push secrets changed on reload")
	}
	// A secrets file written before the push secrets existed gets them, the
	// same for every process that reads it.
	path := filepath.Join(dir, "secrets.json")
	var old map[string]string
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	delete(old, "wechat_push_token")
	delete(old, "wechat_push_aes_key")
	raw, _ = json.Marshal(old)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	upgraded := load()
	if len(upgraded.PushToken) != 32 || len(upgraded.PushAESKey) != 43 || upgraded.PIIKey != first.PIIKey {
		t.Fatalf("upgraded: token %d chars, key %d chars", len(upgraded.PushToken), len(upgraded.PushAESKey))
	}
	if again := load(); again.PushToken != upgraded.PushToken || again.PushAESKey != upgraded.PushAESKey {
		t.Fatal("the upgraded push secrets were not kept")
	}
	if _, err := wechat.NewPush(wechat.PushConfig{Token: string(upgraded.PushToken), EncodingAESKey: string(upgraded.PushAESKey), AppID: "wx", Safe: true}); err != nil {
		t.Fatalf("generated settings refused: %v", err)
	}
}
