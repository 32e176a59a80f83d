package wechat

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSendSubscribeErrorCarriesNoToken: when WeChat answers a subscribe send
// with a non-200 status, silenceper's error names the whole URL,
// ?access_token= included; the client's error must not.
func TestSendSubscribeErrorCarriesNoToken(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	openid := simUser(t, "张三", "11010519491231002X")
	token, err := w.tokens.GetAccessTokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{502, -1} {
		testSim.SetDown(status)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = w.SendSubscribe(cctx, openid, "TPL1", "pages/index/index", map[string]string{"thing1": "x", "time2": "10:00"})
		cancel()
		testSim.SetDown(0)
		if err == nil {
			t.Fatalf("WeChat down (%d): no error", status)
		}
		if msg := err.Error(); strings.Contains(msg, token) || strings.Contains(msg, "access_token=") {
			t.Errorf("WeChat down (%d): the error carries the access token: %s", status, msg)
		}
	}
}

// TestCodesNotShapedLikeWeChatsAreNotSent: a code that would change the URL
// it travels in is refused without calling WeChat.
func TestCodesNotShapedLikeWeChatsAreNotSent(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	mini, app := testSim.Calls("/sns/jscode2session"), testSim.Calls("/sns/oauth2/access_token")
	for _, code := range []string{"", "a b", "a#b", "a%zz", "a&secret=x", "a+b", "码", "a\nb", strings.Repeat("a", maxCodeLen+1)} {
		if _, err := w.Code2Session(ctx, code); !errors.Is(err, ErrCodeInvalid) {
			t.Errorf("Code2Session(%q): %v", code, err)
		}
		if _, err := w.AppLogin(ctx, code); !errors.Is(err, ErrCodeInvalid) {
			t.Errorf("AppLogin(%q): %v", code, err)
		}
	}
	if testSim.Calls("/sns/jscode2session") != mini || testSim.Calls("/sns/oauth2/access_token") != app {
		t.Fatal("a malformed code reached WeChat")
	}
	if _, err := w.Code2Session(ctx, strings.Repeat("a", maxCodeLen)); !errors.Is(err, ErrCodeInvalid) || Errcode(err) != 40029 {
		t.Fatalf("a well-shaped unknown code goes to WeChat: %v", err)
	}
}

// TestLoginErrorsCarryNoSecret: WeChat down, hanging or refusing, the errors
// of both logins name neither the app secrets nor the code.
func TestLoginErrorsCarryNoSecret(t *testing.T) {
	ctx := context.Background()
	w := newClient(t)
	const code = "abcdefghijklmnopqrstuvwxyz012345"
	for _, down := range []int{0, 502, -1} {
		testSim.SetDown(down)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err1 := w.Code2Session(cctx, code)
		_, err2 := w.AppLogin(cctx, code)
		cancel()
		testSim.SetDown(0)
		for _, err := range []error{err1, err2} {
			if err == nil {
				t.Fatalf("down=%d: no error", down)
			}
			for _, secret := range []string{"minisecret", "opensecret", code} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("down=%d: error carries %q: %s", down, secret, err)
				}
			}
		}
	}
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		`Get "http://h/sns/jscode2session?appid=wx&secret=s3cr3t&js_code=c0de": dial tcp: refused`:          `Get "http://h/sns/jscode2session?REDACTED": dial tcp: refused`,
		"http get error : uri=https://h/cgi-bin/message/subscribe/send?access_token=T0KEN , statusCode=502": "http get error : uri=https://h/cgi-bin/message/subscribe/send?REDACTED , statusCode=502",
		"post http://h/x#frag=1 failed":             "post http://h/x?REDACTED failed",
		"errmsg: invalid code, code=abc secret=xyz": "errmsg: invalid code, code=REDACTED secret=REDACTED",
		"nothing to hide":                           "nothing to hide",
	} {
		if got := scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
	var ue error = &url.Error{Op: "Get", URL: "http://h/x?access_token=T", Err: errors.New("timeout")}
	if r := redact(ue); strings.Contains(r.Error(), "access_token=T") || errors.As(r, new(*url.Error)) {
		t.Fatalf("redact(%v) = %v", ue, r)
	}
}

func TestRewriteURI(t *testing.T) {
	rw := rewriteURI("http://sim/sim/wechat/")
	for in, want := range map[string]string{
		"https://api.weixin.qq.com/cgi-bin/message/subscribe/send?access_token=a b#c%zz+d": "http://sim/sim/wechat/cgi-bin/message/subscribe/send?access_token=a%20b%23c%25zz%2Bd",
		"https://api.weixin.qq.com/x?access_token=already%2Bescaped&y":                     "http://sim/sim/wechat/x?access_token=already%2Bescaped&y",
		"https://api.weixin.qq.com/cgi-bin/stable_token":                                   "http://sim/sim/wechat/cgi-bin/stable_token",
		"https://example.com/x?a=码":                                                        "https://example.com/x?a=%E7%A0%81",
	} {
		if got := rw(in); got != want {
			t.Errorf("rewriteURI(%q) = %q, want %q", in, got, want)
		}
	}
}
