package sim

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/miniprogram"
	miniConfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/miniprogram/subscribe"
	"github.com/silenceper/wechat/v2/officialaccount"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/util"
)

// The SDK's URI modifier and HTTP client are process-wide, so every SDK test
// shares one simulator, started in TestMain. Each test registers its own users
// and mini-program appid so they do not interfere.
var sdkSim struct {
	wc  *WeChat
	url string
}

func TestMain(m *testing.M) {
	sdkSim.wc = NewWeChat(WeChatOptions{OpenApps: map[string]string{testOpenApp: testOpenSecret}})
	srv := httptest.NewServer(sdkSim.wc.Handler())
	sdkSim.url = srv.URL
	util.SetURIModifier(func(uri string) string {
		return strings.Replace(uri, "https://api.weixin.qq.com", srv.URL+prefix, 1)
	})
	util.DefaultHTTPClient = &http.Client{Timeout: time.Minute}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// sdkFixture drives the shared simulator over HTTP, like the fixture does.
func sdkFixture(t *testing.T, miniApp string) *fixture {
	t.Helper()
	sdkSim.wc.AddMiniApp(miniApp, testMiniSecret)
	sdkSim.wc.AddTemplate(miniApp, testTemplate, []string{"thing1", "time2"}, nil)
	return &fixture{t: t, wc: sdkSim.wc, url: sdkSim.url}
}

func newMiniProgram(appID string, stable bool) *miniprogram.MiniProgram {
	return miniprogram.NewMiniProgram(&miniConfig.Config{AppID: appID, AppSecret: testMiniSecret, Cache: cache.NewMemory(), UseStableAK: stable})
}

func TestSDKCode2Session(t *testing.T) {
	const app = "wxsdkcode2session01"
	f := sdkFixture(t, app)
	openID, unionID := f.user(createUserRequest{})
	status, body := f.do(http.MethodPost, "/codes", map[string]string{"openid": openID, "kind": kindMiniProgram, "appid": app})
	if status != http.StatusOK {
		t.Fatalf("code: %d %v", status, body)
	}
	code := body["code"].(string)
	auth := newMiniProgram(app, false).GetAuth()
	ctx := context.Background()
	res, err := auth.Code2SessionContext(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if res.OpenID != openID || res.UnionID != unionID || res.SessionKey == "" {
		t.Fatalf("Code2Session = %+v", res)
	}
	res, err = auth.Code2SessionContext(ctx, code)
	if err == nil || res.ErrCode != errCodeUsed {
		t.Fatalf("reused code: %+v, %v", res, err)
	}
}

func TestSDKAppLogin(t *testing.T) {
	f := sdkFixture(t, "wxsdkapplogin000001")
	openID, unionID := f.user(createUserRequest{})
	code := f.code(openID, kindApp)
	oauth := officialaccount.NewOfficialAccount(&offConfig.Config{AppID: testOpenApp, AppSecret: testOpenSecret, Cache: cache.NewMemory()}).GetOauth()
	res, err := oauth.GetUserAccessTokenContext(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if res.OpenID == "" || res.OpenID == openID || res.UnionID != unionID || res.AccessToken == "" || res.Scope != "snsapi_userinfo" {
		t.Fatalf("GetUserAccessToken = %+v", res)
	}
	if _, err := oauth.GetUserAccessTokenContext(context.Background(), code); err == nil {
		t.Fatal("reused app code accepted")
	}
}

func TestSDKSubscribeSend(t *testing.T) {
	for _, stable := range []bool{false, true} {
		name := "plain token"
		app := "wxsdksubscribeplain"
		tokenPath := "/cgi-bin/token"
		if stable {
			name, app, tokenPath = "stable token", "wxsdksubscribestabl", "/cgi-bin/stable_token"
		}
		t.Run(name, func(t *testing.T) {
			f := sdkFixture(t, app)
			openID, _ := f.user(createUserRequest{})
			acceptTemplate(f, openID, testTemplate, 2)
			mp := newMiniProgram(app, stable)
			msg := &subscribe.Message{
				ToUser:     openID,
				TemplateID: testTemplate,
				Data:       map[string]*subscribe.DataItem{"thing1": {Value: "您的预约已确认"}, "time2": {Value: "2025年3月1日 10:00"}},
			}
			tokensBefore := f.wc.Calls(tokenPath)
			for i := 0; i < 2; i++ {
				if err := mp.GetSubscribe().Send(msg); err != nil {
					t.Fatalf("send %d: %v", i+1, err)
				}
			}
			if got := f.wc.Calls(tokenPath) - tokensBefore; got != 1 {
				t.Errorf("token fetched %d times, want 1 (cached)", got)
			}
			var ce *util.CommonError
			if err := mp.GetSubscribe().Send(msg); !errors.As(err, &ce) || ce.ErrCode != errUserRefused {
				t.Fatalf("send without credit: %v", err)
			}
			msg.Data["thing1"] = &subscribe.DataItem{Value: strings.Repeat("长", 21)}
			if err := mp.GetSubscribe().Send(msg); !errors.As(err, &ce) || ce.ErrCode != errArgumentInvalid || !strings.Contains(ce.ErrMsg, "data.thing1.value") {
				t.Fatalf("send with long thing: %v", err)
			}
			if msgs := messages(f, openID); len(msgs) != 2 {
				t.Fatalf("delivered %d messages, want 2", len(msgs))
			}
		})
	}
}

func TestSDKExpiredToken(t *testing.T) {
	// silenceper does not react to 42001 itself: the caller sees the error
	// and must drop its cached token.
	const app = "wxsdkexpiredtoken01"
	f := sdkFixture(t, app)
	openID, _ := f.user(createUserRequest{})
	acceptTemplate(f, openID, testTemplate, 1)
	mp := newMiniProgram(app, false)
	msg := &subscribe.Message{ToUser: openID, TemplateID: testTemplate, Data: map[string]*subscribe.DataItem{"thing1": {Value: "x"}, "time2": {Value: "10:00"}}}
	if _, err := mp.GetContext().GetAccessToken(); err != nil {
		t.Fatal(err)
	}
	f.wc.ExpireAccessTokens()
	var ce *util.CommonError
	if err := mp.GetSubscribe().Send(msg); !errors.As(err, &ce) || ce.ErrCode != errTokenExpired {
		t.Fatalf("send with expired token: %v", err)
	}
}
