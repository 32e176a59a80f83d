package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

func TestSetDownStatus(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	code := f.code(openID, kindMiniProgram)
	f.wc.SetDown(http.StatusServiceUnavailable)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/sns/jscode2session?" + miniQuery(code).Encode()},
		{http.MethodGet, "/cgi-bin/token?grant_type=client_credential"},
		{http.MethodPost, "/cgi-bin/stable_token"},
		{http.MethodPost, "/cgi-bin/message/subscribe/send?access_token=x"},
		{http.MethodPost, "/intp/realname/checkrealnameinfo?access_token=x"},
	} {
		if status, _ := f.do(tc.method, tc.path, nil); status != http.StatusServiceUnavailable {
			t.Errorf("%s %s: status %d, want 503", tc.method, tc.path, status)
		}
	}
	// Control endpoints keep working while the protocol is down.
	if status, _ := f.do(http.MethodPost, "/realname-codes", map[string]string{"openid": openID}); status != http.StatusOK {
		t.Errorf("control endpoint while down: %d", status)
	}
	if got := f.wc.Calls("/sns/jscode2session"); got != 1 {
		t.Errorf("Calls(jscode2session) = %d, want 1", got)
	}
	f.wc.SetDown(0)
	// The code was not consumed by the failed call.
	if got := errcode(f.login(code)); got != 0 {
		t.Fatalf("after recovery: errcode %d", got)
	}
}

func TestSetDownHang(t *testing.T) {
	wc := NewWeChat(WeChatOptions{MiniApps: map[string]string{"a": "s"}})
	wc.SetDown(-1)
	h := wc.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, prefix+"/cgi-bin/token?grant_type=client_credential&appid=a&secret=s", nil).WithContext(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	for wc.Calls("/cgi-bin/token") == 0 {
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal("request finished while the upstream hangs")
	default:
	}
	cancel()
	<-done
	if rec.Body.Len() != 0 {
		t.Fatalf("hung request wrote %q", rec.Body.String())
	}
}
