package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"banshi/internal/platform"
)

const (
	testMiniApp    = "wxtestminiapp000001"
	testMiniSecret = "mini-secret-0001"
	testOpenApp    = "wxtestopenapp000001"
	testOpenSecret = "open-secret-0001"
)

// fixture is a simulator on a manual clock served by httptest.
type fixture struct {
	t     *testing.T
	wc    *WeChat
	clock *platform.ManualClock
	url   string // server base URL, without the prefix
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := platform.NewManualClock(time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC))
	wc := NewWeChat(WeChatOptions{
		MiniApps: map[string]string{testMiniApp: testMiniSecret},
		OpenApps: map[string]string{testOpenApp: testOpenSecret},
		Clock:    clock,
	})
	wc.AddTemplate(testMiniApp, testTemplate, []string{"thing1", "time2"}, nil)
	srv := httptest.NewServer(wc.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, wc: wc, clock: clock, url: srv.URL}
}

// do sends a request to prefix+path with body as JSON (nil: none) and
// returns the status and the decoded body (nil when empty or not JSON).
func (f *fixture) do(method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, f.url+prefix+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// wxGet calls a GET protocol endpoint; WeChat always answers 200.
func (f *fixture) wxGet(path string, q url.Values) map[string]any {
	f.t.Helper()
	status, body := f.do(http.MethodGet, path+"?"+q.Encode(), nil)
	if status != http.StatusOK {
		f.t.Fatalf("GET %s: status %d", path, status)
	}
	return body
}

// wxPost calls a POST protocol endpoint with an access token.
func (f *fixture) wxPost(path, token string, body any) map[string]any {
	f.t.Helper()
	status, out := f.do(http.MethodPost, path+"?access_token="+url.QueryEscape(token), body)
	if status != http.StatusOK {
		f.t.Fatalf("POST %s: status %d", path, status)
	}
	return out
}

// user registers a user and returns its openid and unionid.
func (f *fixture) user(req createUserRequest) (openID, unionID string) {
	f.t.Helper()
	status, body := f.do(http.MethodPost, "/users", req)
	if status != http.StatusCreated {
		f.t.Fatalf("create user: status %d %v", status, body)
	}
	return body["openid"].(string), body["unionid"].(string)
}

// code obtains a login code of kind for openID.
func (f *fixture) code(openID, kind string) string {
	f.t.Helper()
	status, body := f.do(http.MethodPost, "/codes", map[string]string{"openid": openID, "kind": kind})
	if status != http.StatusOK {
		f.t.Fatalf("create code: status %d %v", status, body)
	}
	return body["code"].(string)
}

// token fetches a fresh /cgi-bin/token access token for the mini-program.
func (f *fixture) token() string {
	f.t.Helper()
	body := f.wxGet("/cgi-bin/token", url.Values{"grant_type": {"client_credential"}, "appid": {testMiniApp}, "secret": {testMiniSecret}})
	tok, _ := body["access_token"].(string)
	if tok == "" {
		f.t.Fatalf("token: %v", body)
	}
	return tok
}

// login calls jscode2session for the test mini-program.
func (f *fixture) login(code string) map[string]any {
	f.t.Helper()
	return f.wxGet("/sns/jscode2session", url.Values{
		"appid": {testMiniApp}, "secret": {testMiniSecret}, "js_code": {code}, "grant_type": {"authorization_code"},
	})
}

// errcode reads a WeChat body's errcode (0 when absent).
func errcode(body map[string]any) int {
	n, _ := body["errcode"].(float64)
	return int(n)
}
