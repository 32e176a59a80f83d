package sim

import (
	"net/http"
	"sync"
	"testing"

	"banshi/payments"
)

// payConcurrently posts the same successful payment n times at once and
// returns the statuses counted.
func payConcurrently(t *testing.T, url string, params map[string]any, n int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, _ := postJSON(t, url, map[string]any{"pay_params": params, "outcome": "success"})
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// TestPhonesPayOnce: the same pay_params paid from many goroutines at once
// pay once — one 200, the rest 409 — and one callback leaves, on both
// channels.
func TestPhonesPayOnce(t *testing.T) {
	const n = 20
	wx := newWxpPhone(t)
	counts := payConcurrently(t, wx.base+"/sim/wechatpay/pay", wx.prepay("ORD0000000300", payments.WeChatJSAPI, 100), n)
	if counts[http.StatusOK] != 1 || counts[http.StatusConflict] != n-1 {
		t.Errorf("wechatpay statuses %v", counts)
	}
	wx.waitReceived(1)

	ali := newAliPhone(t)
	counts = payConcurrently(t, ali.base+"/sim/alipay/pay", ali.prepay("ALI0000000300", payments.AlipayApp, 100), n)
	if counts[http.StatusOK] != 1 || counts[http.StatusConflict] != n-1 {
		t.Errorf("alipay statuses %v", counts)
	}
	ali.waitReceived(1)
}
