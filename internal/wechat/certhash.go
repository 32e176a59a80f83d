package wechat

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// CertTypeIDCard is the cert_type of a resident identity card, the only kind
// Banshi verifies.
const CertTypeIDCard = "IDENTITY_CARD"

// CertHash is the cert_hash queryverifyinfo expects for the cert_info given to
// getverifyid, as WeChat's face-verification page defines it: each of
// cert_type, cert_name and cert_no encoded in standard base64, joined as
// "cert_type=<b64>&cert_name=<b64>&cert_no=<b64>", hashed with SHA-256 and
// written as lower-case hex. The values are hashed exactly as they were sent
// to getverifyid (no trimming, no case folding).
func CertHash(certType, certName, certNo string) string {
	b64 := base64.StdEncoding.EncodeToString
	s := "cert_type=" + b64([]byte(certType)) + "&cert_name=" + b64([]byte(certName)) + "&cert_no=" + b64([]byte(certNo))
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
