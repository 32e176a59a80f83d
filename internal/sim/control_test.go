package sim

import (
	"net/http"
	"strings"
	"testing"
)

func TestCreateUser(t *testing.T) {
	f := newFixture(t)
	openID, unionID := f.user(createUserRequest{})
	if len(openID) != 28 || !strings.HasPrefix(openID, "o") || !strings.HasPrefix(unionID, "u") {
		t.Fatalf("generated ids %q %q", openID, unionID)
	}
	given, givenUnion := f.user(createUserRequest{OpenID: "omine", UnionID: "umine", RealName: "张三", IDNumber: "440101199001011234"})
	if given != "omine" || givenUnion != "umine" {
		t.Fatalf("given ids came back as %q %q", given, givenUnion)
	}
	for name, tc := range map[string]struct {
		body any
		want int
	}{
		"duplicate openid":     {createUserRequest{OpenID: "omine"}, http.StatusConflict},
		"duplicate unionid":    {createUserRequest{UnionID: "umine"}, http.StatusConflict},
		"id number, no name":   {createUserRequest{IDNumber: "440101199001011234"}, http.StatusBadRequest},
		"not an object":        {[]int{1}, http.StatusBadRequest},
		"openid over 128 byte": {createUserRequest{OpenID: strings.Repeat("o", 129)}, http.StatusBadRequest},
	} {
		status, body := f.do(http.MethodPost, "/users", tc.body)
		if status != tc.want {
			t.Errorf("%s: status %d, want %d", name, status, tc.want)
		}
		if e, _ := body["error"].(map[string]any); e["code"] == nil || e["message"] == nil {
			t.Errorf("%s: body %v", name, body)
		}
	}
}

func TestControlErrors(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	for name, tc := range map[string]struct {
		method, path string
		body         any
		want         int
	}{
		"code, unknown openid":      {http.MethodPost, "/codes", map[string]string{"openid": "ox", "kind": kindMiniProgram}, http.StatusNotFound},
		"code, bad kind":            {http.MethodPost, "/codes", map[string]string{"openid": openID, "kind": "web"}, http.StatusBadRequest},
		"code, appid of other kind": {http.MethodPost, "/codes", map[string]string{"openid": openID, "kind": kindApp, "appid": testMiniApp}, http.StatusBadRequest},
		"realname, unknown openid":  {http.MethodPost, "/realname-codes", map[string]string{"openid": "ox"}, http.StatusNotFound},
		"subscribe, unknown openid": {http.MethodPost, "/subscriptions", map[string]any{"openid": "ox", "template_id": "t"}, http.StatusNotFound},
		"subscribe, no template":    {http.MethodPost, "/subscriptions", map[string]any{"openid": openID}, http.StatusBadRequest},
		"subscribe, count 0":        {http.MethodPost, "/subscriptions", map[string]any{"openid": openID, "template_id": "t", "count": 0}, http.StatusBadRequest},
		"messages, no openid":       {http.MethodGet, "/messages", nil, http.StatusBadRequest},
		"messages, unknown openid":  {http.MethodGet, "/messages?openid=ox", nil, http.StatusNotFound},
	} {
		status, body := f.do(tc.method, tc.path, tc.body)
		if status != tc.want {
			t.Errorf("%s: status %d, want %d (%v)", name, status, tc.want, body)
		}
		if e, _ := body["error"].(map[string]any); e["code"] == nil || e["message"] == nil {
			t.Errorf("%s: body %v", name, body)
		}
	}
	if msgs := messages(f, openID); len(msgs) != 0 {
		t.Fatalf("new user has messages %v", msgs)
	}

	// With two mini-programs configured, the appid must be named.
	f.wc.AddMiniApp("wxsecond", "s2")
	if status, _ := f.do(http.MethodPost, "/codes", map[string]string{"openid": openID, "kind": kindMiniProgram}); status != http.StatusBadRequest {
		t.Errorf("ambiguous appid: status %d, want 400", status)
	}
	if status, _ := f.do(http.MethodPost, "/codes", map[string]string{"openid": openID, "kind": kindMiniProgram, "appid": "wxsecond"}); status != http.StatusOK {
		t.Errorf("named appid: status %d, want 200", status)
	}
}
