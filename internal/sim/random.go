package sim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// randomURLSafe returns n random characters from the URL-safe base64 alphabet.
func randomURLSafe(n int) string {
	b := make([]byte, (n*3+3)/4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// randomBase64 returns the standard base64 form of n random bytes.
func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newRID returns a request id shaped like WeChat's ("5f2b1b5e-2c9f0d1e-3a7f6b2c").
func newRID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:16] + "-" + h[16:24]
}

// appOpenID derives the stable openid a user has in the Open Platform app appid.
// WeChat gives each user one openid per appid; deriving it keeps it stable
// without storing it.
func appOpenID(miniOpenID, appid string) string {
	sum := sha256.Sum256([]byte("sim-app-openid\x00" + appid + "\x00" + miniOpenID))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}

// certHash is the cert_hash queryverifyinfo expects for the cert_info given
// to getverifyid, as WeChat's face-verification page defines it: each field
// in standard base64, joined as "cert_type=…&cert_name=…&cert_no=…",
// SHA-256, lower-case hex. (Banshi has its own, wechat.CertHash: both are
// checked against the page's worked example.)
func certHash(certType, certName, certNo string) string {
	b64 := base64.StdEncoding.EncodeToString
	sum := sha256.Sum256([]byte("cert_type=" + b64([]byte(certType)) + "&cert_name=" + b64([]byte(certName)) + "&cert_no=" + b64([]byte(certNo))))
	return hex.EncodeToString(sum[:])
}
