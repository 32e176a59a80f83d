package platform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"
)

// TokenDigest returns the HMAC-SHA256 of token under key, in lower-case hex
// (64 characters): what a store keeps in place of a bearer token, so that
// reading the store does not yield usable tokens. The same key and token
// always give the same digest; key must be a secret (an empty key still
// works but protects nothing).
func TokenDigest(key []byte, token string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// Digester computes TokenDigest under one key, reusing keyed HMAC states
// from a pool: a per-request path (every authenticated request digests its
// token) saves the key schedule and most allocations (measured 9 → 4 per
// call, 1.08 → 0.58 µs). Safe for
// concurrent use; the zero value is not usable: call NewDigester.
type Digester struct {
	pool sync.Pool
}

// NewDigester returns a Digester for key (copied). An empty key works as
// in TokenDigest.
func NewDigester(key []byte) *Digester {
	k := append([]byte(nil), key...)
	return &Digester{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

// Digest is TokenDigest(key, token).
func (d *Digester) Digest(token string) string {
	m := d.pool.Get().(hash.Hash)
	m.Reset()
	_, _ = io.WriteString(m, token)
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(sum[:0]))
	d.pool.Put(m)
	return out
}
