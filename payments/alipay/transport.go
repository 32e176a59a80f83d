package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	gopayalipay "github.com/go-pay/gopay/alipay"
)

// Alipay's hosts the adapter talks to: the gateway (production and
// sandbox) and the bill download centre.
var alipayHosts = map[string]bool{
	"openapi.alipay.com":               true,
	"openapi-sandbox.dl.alipaydev.com": true,
	"dwbillcenter.alipay.com":          true,
}

// transport keeps the exact bytes of each answer for the caller that asked
// (withCapture) and, when base is set, sends Alipay's hosts to base
// (scheme, host and path prefix), refusing any other host: in development
// nothing reaches the real Alipay.
type transport struct {
	next http.RoundTripper
	base *url.URL // nil: no rewriting
}

func newTransport(next http.RoundTripper, baseURL string) (*transport, error) {
	t := &transport{next: next}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: BaseURL is not a URL", errConfig)
		}
		t.base = u
	}
	return t, nil
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.base != nil {
		if !alipayHosts[req.URL.Host] {
			return nil, fmt.Errorf("alipay: %s is not an Alipay host", req.URL.Host)
		}
		r2 := req.Clone(req.Context())
		r2.URL.Scheme, r2.URL.Host = t.base.Scheme, t.base.Host
		r2.URL.Path = strings.TrimSuffix(t.base.Path, "/") + req.URL.Path
		r2.URL.RawPath = ""
		r2.Host = ""
		req = r2
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if c, ok := req.Context().Value(captureKey{}).(*capture); ok {
		res.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(res.Body, c), res.Body}
	}
	return res, nil
}

// capture collects the bytes of one call's answer (at most 10 MiB, as
// gopay reads no more).
type capture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

type captureKey struct{}

// withCapture returns a context under which the transport records the
// answer's bytes into the returned capture.
func withCapture(ctx context.Context) (context.Context, *capture) {
	c := &capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len()+len(p) <= 10<<20 {
		c.buf.Write(p)
	}
	return len(p), nil
}

func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// verifyAnswer checks the RSA2 signature of a gateway answer: "sign" over
// the exact bytes of its "<method with underscores>_response" (or
// "error_response") object, with the Alipay public key.
func (p *Provider) verifyAnswer(raw []byte, method string) bool {
	var env map[string]json.RawMessage
	if json.Unmarshal(raw, &env) != nil {
		return false
	}
	inner := env[strings.ReplaceAll(method, ".", "_")+"_response"]
	if len(inner) == 0 {
		inner = env["error_response"]
	}
	var sign string
	if len(inner) == 0 || json.Unmarshal(env["sign"], &sign) != nil || sign == "" {
		return false
	}
	ok, err := gopayalipay.VerifySyncSign(p.keys.publicKeyB64, string(inner), sign)
	return ok && err == nil
}
