package wechat

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// NewHTTPClient returns the client for every WeChat call: an overall timeout
// per call (at most 5 s) and up to two retries of requests that never reached
// WeChat (connection refused or reset while dialling), which are safe to
// repeat even for single-use codes.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 || timeout > 5*time.Second {
		timeout = 5 * time.Second
	}
	return &http.Client{Timeout: timeout, Transport: &retryTransport{base: http.DefaultTransport, tries: 3}}
}

type retryTransport struct {
	base  http.RoundTripper
	tries int
}

func (t *retryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var (
		resp *http.Response
		err  error
	)
	for i := range t.tries {
		if i > 0 {
			if r.GetBody != nil {
				body, gerr := r.GetBody()
				if gerr != nil {
					return nil, err
				}
				r = r.Clone(r.Context())
				r.Body = body
			} else if r.Body != nil && r.Body != http.NoBody {
				return nil, err
			}
			select {
			case <-r.Context().Done():
				return nil, r.Context().Err()
			case <-time.After(time.Duration(i) * 100 * time.Millisecond):
			}
		}
		resp, err = t.base.RoundTrip(r)
		if err == nil || !neverSent(err) {
			return resp, err
		}
	}
	return resp, err
}

// neverSent reports errors raised before the request reached the server.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// ConfigureSDK points silenceper/wechat at base (a WeChat API base URL such as
// https://api.weixin.qq.com or the simulator's http://host/sim/wechat) and
// gives it client. Both settings are package-wide in the SDK: call once at
// start-up (tests: once per test binary).
func ConfigureSDK(base string, client *http.Client) {
	base = strings.TrimRight(base, "/")
	util.DefaultHTTPClient = client
	util.SetURIModifier(func(uri string) string {
		for _, host := range []string{"https://api.weixin.qq.com", "http://api.weixin.qq.com"} {
			if strings.HasPrefix(uri, host) {
				return base + strings.TrimPrefix(uri, host)
			}
		}
		return uri
	})
}
