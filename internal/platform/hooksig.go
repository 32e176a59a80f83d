package platform

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// The signed protocol between department systems and Banshi (reference
// integrations.md), in both directions:
//
//	X-Banshi-Source:    <integration id>
//	X-Banshi-Timestamp: <Unix seconds>
//	X-Banshi-Nonce:     <16–64 characters of [A-Za-z0-9_-]>
//	X-Banshi-Signature: v1=<lower-case hex HMAC-SHA256(secret, STRING)>
//
//	STRING = METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" BODY
//
// PATH is the request path without the query, BODY the exact bytes, and the
// HMAC key the secret's text exactly as shown (64 hex characters as ASCII).
const (
	HeaderHookSource    = "X-Banshi-Source"
	HeaderHookTimestamp = "X-Banshi-Timestamp"
	HeaderHookNonce     = "X-Banshi-Nonce"
	HeaderHookSignature = "X-Banshi-Signature"
)

// Errors of signed-hook verification. Nothing about a refused request is
// stored.
var (
	ErrSignatureInvalid = NewError("signature_invalid", "签名无效或来源未登记")
	ErrSignatureStale   = NewError("signature_stale", "请求时间戳与服务器时间相差过大")
	ErrReplayed         = NewError("replayed", "该请求已处理过（随机串重复）")
)

// HookMaxSkew is how far a request's timestamp may be from Banshi's clock.
const HookMaxSkew = 300 * time.Second

// HookNonceTTL is how long a nonce is remembered per source.
const HookNonceTTL = 10 * time.Minute

// HookString is the string a hook signature covers.
func HookString(method, path, timestamp, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(method)+len(path)+len(timestamp)+len(nonce)+len(body)+4)
	b = append(b, method...)
	b = append(b, '\n')
	b = append(b, path...)
	b = append(b, '\n')
	b = append(b, timestamp...)
	b = append(b, '\n')
	b = append(b, nonce...)
	b = append(b, '\n')
	return append(b, body...)
}

// HookSignature is "v1=" and the hex HMAC-SHA256 of the hook string under
// secret (its text as the key).
func HookSignature(secret, method, path, timestamp, nonce string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(HookString(method, path, timestamp, nonce, body))
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// SignHook sets the four headers on h for a request from source, signed with
// secret at now with a fresh random nonce.
func SignHook(h http.Header, source, secret, method, path string, now time.Time, body []byte) {
	n := make([]byte, 16)
	_, _ = rand.Read(n)
	nonce := hex.EncodeToString(n)
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderHookSource, source)
	h.Set(HeaderHookTimestamp, ts)
	h.Set(HeaderHookNonce, nonce)
	h.Set(HeaderHookSignature, HookSignature(secret, method, path, ts, nonce, body))
}

// HookKeys gives the secrets a source may sign with now: the current one and,
// during a rotation's overlap, the previous one. An unknown or disabled
// source answers no secret (and no error).
type HookKeys interface {
	HookSecrets(ctx context.Context, source string) ([]string, error)
}

// NonceStore remembers nonces: Seen records (source, nonce) for ttl and
// reports whether it was already recorded.
type NonceStore interface {
	Seen(ctx context.Context, source, nonce string, ttl time.Duration) (bool, error)
}

// HookVerifier checks signed requests before anything parses them.
type HookVerifier struct {
	keys   HookKeys
	nonces NonceStore
	clock  Clock
}

// NewHookVerifier returns a verifier of the sources keys knows.
func NewHookVerifier(keys HookKeys, nonces NonceStore, clock Clock) *HookVerifier {
	return &HookVerifier{keys: keys, nonces: nonces, clock: clock}
}

// Verify checks the signature headers of a request to path (without its
// query) with method and the exact body, and returns its source. Errors:
// ErrSignatureInvalid (missing or malformed headers, unknown or disabled
// source, a signature that matches no current secret), ErrSignatureStale
// (timestamp more than HookMaxSkew from the clock), ErrReplayed (the nonce was
// used by that source within HookNonceTTL), or a storage error. The signature
// is compared in constant time, and checked before the timestamp and the
// nonce, so an unsigned request learns nothing and spends no nonce.
func (v *HookVerifier) Verify(ctx context.Context, method, path string, h http.Header, body []byte) (string, error) {
	source := h.Get(HeaderHookSource)
	ts := h.Get(HeaderHookTimestamp)
	nonce := h.Get(HeaderHookNonce)
	sig := h.Get(HeaderHookSignature)
	if !validHookSource(source) || !validNonce(nonce) || len(ts) == 0 || len(ts) > 12 || len(sig) != 3+64 {
		return "", ErrSignatureInvalid
	}
	secrets, err := v.keys.HookSecrets(ctx, source)
	if err != nil {
		return "", err
	}
	ok := false
	for _, s := range secrets {
		if hmac.Equal([]byte(HookSignature(s, method, path, ts, nonce, body)), []byte(sig)) {
			ok = true
		}
	}
	if !ok {
		return "", ErrSignatureInvalid
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", ErrSignatureInvalid
	}
	if d := v.clock.Now().Sub(time.Unix(unix, 0)); d > HookMaxSkew || d < -HookMaxSkew {
		return "", ErrSignatureStale
	}
	seen, err := v.nonces.Seen(ctx, source, nonce, HookNonceTTL)
	if err != nil {
		return "", err
	}
	if seen {
		return "", ErrReplayed
	}
	return source, nil
}

func validHookSource(s string) bool { return ValidCatalogID(s) }

// validNonce: 16–64 characters of [A-Za-z0-9_-].
func validNonce(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
