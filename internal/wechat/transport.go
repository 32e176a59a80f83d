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
	util.DefaultHTTPClient = client
	util.SetURIModifier(rewriteURI(base))
}

// rewriteURI returns silenceper's URI modifier: it moves WeChat's host to
// base and escapes the query's values, which the SDK formats into its URLs
// raw (an access token or secret holding '#', '%', '+' or a space would
// otherwise rewrite the query). Valid %XX escapes are kept, so a value the
// SDK did escape is not escaped twice; a raw '&' or '=' inside a value cannot
// be told from a separator and is left alone.
func rewriteURI(base string) func(string) string {
	base = strings.TrimRight(base, "/")
	return func(uri string) string {
		for _, host := range []string{"https://api.weixin.qq.com", "http://api.weixin.qq.com"} {
			if strings.HasPrefix(uri, host) {
				uri = base + strings.TrimPrefix(uri, host)
				break
			}
		}
		head, query, ok := strings.Cut(uri, "?")
		if !ok {
			return uri
		}
		parts := strings.Split(query, "&")
		for i, p := range parts {
			k, v, hasValue := strings.Cut(p, "=")
			parts[i] = escapeRaw(k)
			if hasValue {
				parts[i] += "=" + escapeRaw(v)
			}
		}
		return head + "?" + strings.Join(parts, "&")
	}
}

// escapeRaw percent-encodes every byte of s but the unreserved characters
// (letters, digits, "-._~") and well-formed %XX escapes.
func escapeRaw(s string) string {
	const hexDigits = "0123456789ABCDEF"
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
