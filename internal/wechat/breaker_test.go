package wechat

import (
	"context"
	"errors"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestBreakerGuardsCalls: errcode answers (a bad login code) are WeChat
// working and leave the breaker closed; WeChat answering 502 opens it, after
// which logins and subscribe sends are refused without a call (a
// BreakerOpenError in the chain, code upstream_unavailable, Until set); once
// the cool-down is over and WeChat is back, the probe closes it.
func TestBreakerGuardsCalls(t *testing.T) {
	ctx := context.Background()
	clock := platform.NewManualClock(time.Now())
	b := platform.NewBreaker("wechat", platform.BreakerConfig{Failures: 2, Open: 10 * time.Second}, clock, nil, nil)
	rdb, prefix := platformtest.Redis(t)
	w := New(Config{APIBase: testSimURL, MiniAppID: "wxmini", MiniAppSecret: "minisecret", OpenAppID: "wxopen",
		OpenAppSecret: "opensecret", State: "formal", Breaker: b},
		NewHTTPClient(2*time.Second), NewRedisCache(rdb, prefix), platformtest.Logger())
	for range 4 {
		if _, err := w.Code2Session(ctx, "not-a-real-code-1234"); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("bad code: %v", err)
		}
	}
	if b.State() != platform.BreakerClosed {
		t.Fatal("errcode answers opened the breaker")
	}
	testSim.SetDown(502)
	for range 2 {
		_, err := w.Code2Session(ctx, "not-a-real-code-1234")
		if _, rejected := platform.BreakerRejection(err); !errors.Is(err, ErrUpstream) || rejected {
			t.Fatalf("WeChat down: %v", err)
		}
	}
	if b.State() != platform.BreakerOpen {
		t.Fatalf("state %s after two 502s", b.State())
	}
	_, err := w.Code2Session(ctx, "not-a-real-code-1234")
	pe, _ := platform.AsError(err)
	if _, rejected := platform.BreakerRejection(err); !rejected || !errors.Is(err, ErrUpstream) || pe.Until.IsZero() {
		t.Fatalf("open breaker: %v", err)
	}
	err = w.SendSubscribe(ctx, "openid", "TPL1", "", map[string]string{"thing1": "x"})
	if _, rejected := platform.BreakerRejection(err); !rejected {
		t.Fatalf("send while open: %v", err)
	}
	testSim.SetDown(0)
	clock.Advance(10 * time.Second)
	openid := simUser(t, "张三", "11010519491231002X")
	code := simCode(t, "/sim/wechat/codes", `{"openid":"`+openid+`","kind":"miniprogram","appid":"wxmini"}`)
	if u, err := w.Code2Session(ctx, code); err != nil || u.OpenID != openid {
		t.Fatalf("after recovery: %+v %v", u, err)
	}
	if b.State() != platform.BreakerClosed {
		t.Fatalf("state %s after a successful probe", b.State())
	}
}
