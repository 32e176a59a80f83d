package wechat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
)

// One simulator per test binary: the SDK's URL rewriting is process-wide.
var (
	testSim    *sim.WeChat
	testSimURL string
)

func TestMain(m *testing.M) {
	testSim = sim.NewWeChat(sim.WeChatOptions{Clock: platform.SystemClock{}})
	testSim.AddMiniApp("wxmini", "minisecret")
	testSim.AddTemplate("wxmini", "TPL1", []string{"thing1", "time2"}, nil)
	testSim.AddMiniApp("wxshortlived", "shortsecret")
	testSim.SetTokenTTL("wxshortlived", 200*time.Second)
	testSim.AddOpenApp("wxopen", "opensecret")
	srv := httptest.NewServer(testSim.Handler())
	testSimURL = srv.URL + "/sim/wechat"
	ConfigureSDK(testSimURL, NewHTTPClient(2*time.Second))
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func newClient(t *testing.T) *Client {
	rdb, prefix := platformtest.Redis(t)
	return New(Config{APIBase: testSimURL, MiniAppID: "wxmini", MiniAppSecret: "minisecret", OpenAppID: "wxopen", OpenAppSecret: "opensecret", State: "formal"},
		NewHTTPClient(2*time.Second), NewRedisCache(rdb, prefix), platformtest.Logger())
}

// simUser registers a user with an identity through the control API.
func simUser(t *testing.T, name, id string) string {
	t.Helper()
	h := testSim.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/sim/wechat/users", jsonBody(`{"real_name":"`+name+`","id_number":"`+id+`"}`)))
	if rec.Code != 201 {
		t.Fatalf("sim user: %d %s", rec.Code, rec.Body)
	}
	return field(t, rec.Body.Bytes(), "openid")
}

func simCode(t *testing.T, path, body string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	testSim.Handler().ServeHTTP(rec, httptest.NewRequest("POST", path, jsonBody(body)))
	if rec.Code != 200 {
		t.Fatalf("sim %s: %d %s", path, rec.Code, rec.Body)
	}
	return field(t, rec.Body.Bytes(), "code")
}

func TestCode2SessionAndErrors(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	openid := simUser(t, "张三", "11010519491231002X")
	code := simCode(t, "/sim/wechat/codes", `{"openid":"`+openid+`","kind":"miniprogram","appid":"wxmini"}`)
	u, err := w.Code2Session(ctx, code)
	if err != nil || u.OpenID != openid || u.UnionID == "" || u.SessionKey == "" {
		t.Fatalf("Code2Session = %+v, %v", u, err)
	}
	if _, err := w.Code2Session(ctx, code); !errors.Is(err, ErrCodeInvalid) || Errcode(err) != 40163 {
		t.Fatalf("reused code: %v", err)
	}
	testSim.SetDown(502)
	_, err = w.Code2Session(ctx, "whatever")
	testSim.SetDown(0)
	if !errors.Is(err, ErrUpstream) {
		t.Fatalf("WeChat down: %v", err)
	}
}

func TestAppLogin(t *testing.T) {
	w := newClient(t)
	openid := simUser(t, "张三", "11010519491231002X")
	code := simCode(t, "/sim/wechat/codes", `{"openid":"`+openid+`","kind":"app"}`)
	u, err := w.AppLogin(context.Background(), code)
	if err != nil || u.OpenID == "" || u.OpenID == openid || u.UnionID == "" {
		t.Fatalf("AppLogin = %+v, %v", u, err)
	}
}

// TestTokenRefreshedOnceOnExpiry proves a 42001 drops the cached token and
// the call succeeds with a fresh one.
func TestTokenRefreshedOnceOnExpiry(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	openid := simUser(t, "李四", "11010519491231002X")
	rc := simCode(t, "/sim/wechat/realname-codes", `{"openid":"`+openid+`"}`)
	if _, err := w.CheckRealname(ctx, openid, "李四", "11010519491231002X", rc); err != nil {
		t.Fatal(err)
	}
	before := testSim.Calls("/cgi-bin/stable_token")
	testSim.ExpireAccessTokens()
	rc = simCode(t, "/sim/wechat/realname-codes", `{"openid":"`+openid+`"}`)
	res, err := w.CheckRealname(ctx, openid, "李四", "11010519491231002X", rc)
	if err != nil || !res.Match() {
		t.Fatalf("after expiry: %+v, %v", res, err)
	}
	if got := testSim.Calls("/cgi-bin/stable_token") - before; got != 1 {
		t.Fatalf("%d token fetches after expiry, want 1", got)
	}
}

func TestRealnameMismatchAndConsentCode(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	openid := simUser(t, "王五", "11010519491231002X")
	rc := simCode(t, "/sim/wechat/realname-codes", `{"openid":"`+openid+`"}`)
	res, err := w.CheckRealname(ctx, openid, "赵六", "11010519491231002X", rc)
	if err != nil || res.Match() {
		t.Fatalf("mismatch = %+v, %v", res, err)
	}
	if _, err := w.CheckRealname(ctx, openid, "王五", "11010519491231002X", rc); !errors.Is(err, ErrCodeInvalid) || Errcode(err) != 80113 {
		t.Fatalf("reused consent code: %v", err)
	}
}

// TestRetryOnlyWhatNeverLeft: a refused connection is retried; an answer is not.
func TestRetryOnlyWhatNeverLeft(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial is refused
	var hits atomic.Int32
	c := NewHTTPClient(time.Second)
	c.Transport.(*retryTransport).base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hits.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	if _, err := c.Get("http://" + addr + "/x"); err == nil {
		t.Fatal("no error from a closed port")
	}
	if hits.Load() != 3 {
		t.Fatalf("%d attempts, want 3", hits.Load())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.WriteHeader(500) }))
	defer srv.Close()
	hits.Store(0)
	c = NewHTTPClient(time.Second)
	resp, err := c.Get(srv.URL)
	if err != nil || resp.StatusCode != 500 || hits.Load() != 1 {
		t.Fatalf("a 500 must not be retried: %v %d hits", err, hits.Load())
	}
	resp.Body.Close()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedisCache(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	c := NewRedisCache(rdb, prefix)
	if c.Get("k") != nil || c.IsExist("k") {
		t.Fatal("empty cache has k")
	}
	if err := c.Set("k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if c.Get("k") != "v" || !c.IsExist("k") {
		t.Fatal("k not stored")
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := c.Set("k", "stale", ttl); err != nil || c.IsExist("k") {
			t.Fatalf("timeout %s: %v, stored %v", ttl, err, c.Get("k"))
		}
		_ = c.Set("k", "v", time.Minute)
	}
	if err := c.Delete("k"); err != nil || c.IsExist("k") {
		t.Fatal("k not deleted")
	}
}

// TestSendSubscribe: a message is delivered once per credit; without credit
// WeChat's 43101, on bad data its 47003, for an unknown template its 40037
// and for a page the released mini-program lacks its 41030 come back as
// *APIError.
func TestSendSubscribe(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	openid := simUser(t, "张三", "11010519491231002X")
	rec := httptest.NewRecorder()
	testSim.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/sim/wechat/subscriptions", jsonBody(`{"openid":"`+openid+`","template_id":"TPL1"}`)))
	if rec.Code != 204 {
		t.Fatalf("grant: %d %s", rec.Code, rec.Body)
	}
	good := map[string]string{"thing1": "户口迁入登记", "time2": "2026年11月23日 09:00"}
	var we *APIError
	for name, tc := range map[string]struct {
		template, page string
		data           map[string]string
		want           int
	}{
		"thing too long":    {"TPL1", "pages/index/index", map[string]string{"thing1": "这是一条超过二十个字符限制的事项名称会被微信拒绝的消息内容", "time2": "09:00"}, 47003},
		"time not a time":   {"TPL1", "pages/index/index", map[string]string{"thing1": "户口迁入登记", "time2": "明天"}, 47003},
		"unknown template":  {"TPL-NONE", "pages/index/index", good, 40037},
		"page not released": {"TPL1", "pages/admin/index", good, 41030},
		"released page + ?": {"TPL1", "pages/progress/index?id=1", map[string]string{"thing1": "户口迁入登记"}, 47003},
	} {
		if err := w.SendSubscribe(ctx, openid, tc.template, tc.page, tc.data); !errors.As(err, &we) || we.Code != tc.want {
			t.Errorf("%s: %v, want errcode %d", name, err, tc.want)
		}
	}
	if err := w.SendSubscribe(ctx, openid, "TPL1", "pages/progress/index?id=1", good); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := w.SendSubscribe(ctx, openid, "TPL1", "pages/index/index", good); !errors.As(err, &we) || we.Code != 43101 {
		t.Fatalf("without credit: %v", err)
	}
	rec = httptest.NewRecorder()
	testSim.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/sim/wechat/messages?openid="+openid, nil))
	if rec.Code != 200 || strings.Count(rec.Body.String(), `"template_id":"TPL1"`) != 1 || !strings.Contains(rec.Body.String(), "户口迁入登记") {
		t.Fatalf("messages: %d %s", rec.Code, rec.Body)
	}
}

// TestFaceQueryMismatchIsAnErrcode: WeChat answers an errcode, not a
// verify_ret, when the identity or openid differ from the verify_id's; the
// client reports it as ErrFaceMismatch.
func TestFaceQueryMismatchIsAnErrcode(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	openid := simUser(t, "张三", "11010519491231002X")
	vid, err := w.FaceStart(ctx, openid, "seq-1", "张三", "11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	testSim.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/sim/wechat/face/"+vid+"/complete", jsonBody(`{"outcome":"success"}`)))
	if rec.Code != 204 {
		t.Fatalf("complete: %d", rec.Code)
	}
	for name, q := range map[string][4]string{
		"other ID number":  {openid, "seq-1", "张三", "110105194912310010"},
		"other name":       {openid, "seq-1", "李四", "11010519491231002X"},
		"other out_seq_no": {openid, "seq-2", "张三", "11010519491231002X"},
		"other openid":     {simUser(t, "王五", "11010519491231002X"), "seq-1", "张三", "11010519491231002X"},
	} {
		ret, err := w.FaceQuery(ctx, q[0], vid, q[1], q[2], q[3])
		if !errors.Is(err, ErrFaceMismatch) || !errors.Is(err, ErrUpstreamRefused) || ret != 0 {
			t.Errorf("%s: %d, %v", name, ret, err)
		}
	}
	if ret, err := w.FaceQuery(ctx, openid, vid, "seq-1", "张三", "11010519491231002X"); err != nil || ret != 10000 {
		t.Fatalf("matching query: %d, %v", ret, err)
	}
}

// TestRealnameResultMatch: verify_openid may hold several results joined by
// ";", and verify_real_name is empty unless verify_openid is V_OP_NM_MA.
func TestRealnameResultMatch(t *testing.T) {
	for _, tc := range []struct {
		openid, realName string
		want             bool
	}{
		{"V_OP_NM_MA", "V_NM_ID_MA", true},
		{"V_OP_NM_MA;V_OP_NM_MA", "V_NM_ID_MA", true},
		{"V_OP_NM_MA", "V_NM_ID_UM", false},
		{"V_OP_NM_MA", "", false},
		{"V_OP_NM_UM", "", false},
		{"V_OP_NA", "", false},
		{"V_OP_NM_MA;V_OP_NM_UM", "V_NM_ID_MA", false},
		{"V_OP_NA;V_OP_NM_MA", "V_NM_ID_MA", false},
		{"", "V_NM_ID_MA", false},
	} {
		if got := (RealnameResult{VerifyOpenID: tc.openid, VerifyRealName: tc.realName}).Match(); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.openid, tc.realName, got, tc.want)
		}
	}
}

// TestOnlyInvalidOrExpiredTokensRefresh: 40001 and 42001 drop the cached
// token and retry once; a missing (41001) or malformed (40014) token is
// Banshi's own fault and fetching another would not help.
func TestOnlyInvalidOrExpiredTokensRefresh(t *testing.T) {
	for code, want := range map[int]bool{40001: true, 42001: true, 41001: false, 40014: false, 40029: false, 0: false} {
		if got := isTokenError(&APIError{Code: code}); got != want {
			t.Errorf("isTokenError(%d) = %v, want %v", code, got, want)
		}
	}
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	w := New(Config{APIBase: testSimURL, MiniAppID: "wxmini", MiniAppSecret: "minisecret", State: "formal"},
		NewHTTPClient(2*time.Second), NewRedisCache(rdb, prefix), platformtest.Logger())
	openid := simUser(t, "李四", "11010519491231002X")
	if err := rdb.Set(ctx, prefix+stableTokenKey("wxmini"), "not-a-token", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	before := testSim.Calls("/cgi-bin/stable_token")
	rc := simCode(t, "/sim/wechat/realname-codes", `{"openid":"`+openid+`"}`)
	_, err := w.CheckRealname(ctx, openid, "李四", "11010519491231002X", rc)
	if Errcode(err) != 40014 || !errors.Is(err, ErrUpstreamRefused) {
		t.Fatalf("malformed cached token: %v", err)
	}
	if got := testSim.Calls("/cgi-bin/stable_token") - before; got != 0 {
		t.Fatalf("%d token fetches after 40014, want 0", got)
	}
}

// TestTokenInItsLastFiveMinutes: a stable token with less than 300 s left
// makes silenceper ask the cache for a zero or negative TTL. The call must
// still succeed (the token works) and the token must not be cached.
func TestTokenInItsLastFiveMinutes(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	w := New(Config{APIBase: testSimURL, MiniAppID: "wxshortlived", MiniAppSecret: "shortsecret", State: "formal"},
		NewHTTPClient(2*time.Second), NewRedisCache(rdb, prefix), platformtest.Logger())
	openid := simUser(t, "李四", "11010519491231002X")
	before := testSim.Calls("/cgi-bin/stable_token")
	for i := range 2 {
		rc := simCode(t, "/sim/wechat/realname-codes", `{"openid":"`+openid+`"}`)
		if res, err := w.CheckRealname(ctx, openid, "李四", "11010519491231002X", rc); err != nil || !res.Match() {
			t.Fatalf("call %d with a 200 s token: %+v, %v", i+1, res, err)
		}
	}
	if n, _ := rdb.Exists(ctx, prefix+stableTokenKey("wxshortlived")).Result(); n != 0 {
		t.Fatal("a token with less than 300 s left was cached")
	}
	if got := testSim.Calls("/cgi-bin/stable_token") - before; got != 2 {
		t.Fatalf("%d token fetches, want 2 (not cached)", got)
	}
}
