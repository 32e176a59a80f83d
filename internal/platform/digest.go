package platform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
