package alipay_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"banshi/payments/alipay"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWrapTransportCarriesTheCalls: the gateway calls go through the
// configured WrapTransport (cmd/banshi traces them there).
func TestWrapTransportCarriesTheCalls(t *testing.T) {
	s := newStack(t)
	var calls atomic.Int64
	p, err := alipay.New(alipay.Config{
		AppID: testAppID, PrivateKey: appKeyPEM, AlipayPublicKey: alipayPubPEM, SellerID: testSellerID,
		BaseURL: s.simURL, NotifyURL: s.notify, TempDir: t.TempDir(), Clock: s.clock,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				calls.Add(1)
				return rt.RoundTrip(r)
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(ctx, "ORD_WRAPPED_NONE"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("the query did not go through WrapTransport")
	}
}
