package wechatpay_test

import (
	"net/http"
	"sync/atomic"
	"testing"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWrapTransportCarriesTheCalls: the API calls go through the
// configured WrapTransport (cmd/banshi traces them there).
func TestWrapTransportCarriesTheCalls(t *testing.T) {
	var calls atomic.Int64
	s := newStack(t, stackOptions{wrap: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return rt.RoundTrip(r)
		})
	}})
	if _, err := s.p.Query(ctx, "ORD_WRAPPED_NONE"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("the query did not go through WrapTransport")
	}
}
