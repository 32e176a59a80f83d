package sim

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestConcurrentCodeRedemption(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	code := f.code(openID, kindMiniProgram)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch errcode(f.login(code)) {
			case 0:
				ok.Add(1)
			case errCodeUsed:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 15 {
		t.Fatalf("%d successes and %d refusals, want 1 and 15", ok.Load(), refused.Load())
	}
}

func TestConcurrentSubscribeCredits(t *testing.T) {
	f := newFixture(t)
	openID, _ := f.user(createUserRequest{})
	acceptTemplate(f, openID, testTemplate, 5)
	tok := f.token()
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch errcode(f.wxPost("/cgi-bin/message/subscribe/send", tok, map[string]any{
				"touser": openID, "template_id": testTemplate, "data": map[string]any{"thing1": map[string]string{"value": "x"}, "time2": map[string]string{"value": "10:00"}},
			})) {
			case 0:
				ok.Add(1)
			case errUserRefused:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 || refused.Load() != 15 {
		t.Fatalf("%d delivered and %d refused, want 5 and 15", ok.Load(), refused.Load())
	}
	if got := len(messages(f, openID)); got != 5 {
		t.Fatalf("%d messages recorded, want 5", got)
	}
}
