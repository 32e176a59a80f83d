package sim

import (
	"net/http"
	"testing"
	"time"
)

func TestCheckRealnameInfo(t *testing.T) {
	const name, id = "张三", "44010119900101123X"
	type user struct{ realName, idNumber string }
	tests := []struct {
		name       string
		user       user
		realName   string
		credID     string
		code       func(f *fixture, openID string) string // nil: a fresh consent code
		wantCode   int
		wantOpenID string
		wantName   string
	}{
		{"match", user{name, id}, name, id, nil, 0, verifyOpenIDMatch, verifyNameIDMatch},
		{"match, lower-case x", user{name, id}, name, "44010119900101123x", nil, 0, verifyOpenIDMatch, verifyNameIDMatch},
		{"wrong id number", user{name, id}, name, "440101199001011234", nil, 0, verifyOpenIDMatch, verifyNameIDMismatch},
		{"wrong name: verify_real_name empty", user{name, id}, "李四", id, nil, 0, verifyOpenIDMismatch, ""},
		{"no real-name record: verify_real_name empty", user{}, name, id, nil, 0, verifyOpenIDNoRecord, ""},
		{"used code", user{name, id}, name, id, func(f *fixture, o string) string {
			c := newRealnameCode(f, o)
			if got := errcode(checkRealname(f, o, name, id, c)); got != 0 {
				t.Fatalf("first use: errcode %d", got)
			}
			return c
		}, errInvalidConsent, "", ""},
		{"expired code", user{name, id}, name, id, func(f *fixture, o string) string {
			c := newRealnameCode(f, o)
			f.clock.Advance(codeTTL)
			return c
		}, errInvalidConsent, "", ""},
		{"code of another user", user{name, id}, name, id, func(f *fixture, o string) string {
			other, _ := f.user(createUserRequest{})
			return newRealnameCode(f, other)
		}, errInvalidConsent, "", ""},
		{"login code", user{name, id}, name, id, func(f *fixture, o string) string { return f.code(o, kindMiniProgram) }, errInvalidConsent, "", ""},
		{"missing cred_id", user{name, id}, name, "", nil, errDataFormat, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			openID, _ := f.user(createUserRequest{RealName: tc.user.realName, IDNumber: tc.user.idNumber})
			var code string
			if tc.code == nil {
				code = newRealnameCode(f, openID)
				f.clock.Advance(codeTTL - time.Second)
			} else {
				code = tc.code(f, openID)
			}
			body := checkRealname(f, openID, tc.realName, tc.credID, code)
			if got := errcode(body); got != tc.wantCode {
				t.Fatalf("errcode = %d, want %d (%v)", got, tc.wantCode, body)
			}
			if tc.wantCode != 0 {
				return
			}
			if body["errmsg"] != "ok" || body["verify_openid"] != tc.wantOpenID || body["verify_real_name"] != tc.wantName {
				t.Fatalf("got %v, want %s %s", body, tc.wantOpenID, tc.wantName)
			}
		})
	}
}

func TestCheckRealnameUnknownOpenID(t *testing.T) {
	f := newFixture(t)
	if got := errcode(checkRealname(f, "ounknown", "张三", "1", "c")); got != errInvalidOpenID {
		t.Fatalf("errcode = %d, want %d", got, errInvalidOpenID)
	}
}

func newRealnameCode(f *fixture, openID string) string {
	f.t.Helper()
	status, body := f.do(http.MethodPost, "/realname-codes", map[string]string{"openid": openID})
	if status != http.StatusOK {
		f.t.Fatalf("realname code: %d %v", status, body)
	}
	return body["code"].(string)
}

func checkRealname(f *fixture, openID, realName, credID, code string) map[string]any {
	f.t.Helper()
	return f.wxPost("/intp/realname/checkrealnameinfo", f.token(), map[string]string{
		"openid": openID, "real_name": realName, "cred_id": credID, "cred_type": "1", "code": code,
	})
}
