package sim

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// wxpAuthScheme is the scheme of WeChat Pay v3's Authorization header.
const wxpAuthScheme = "WECHATPAY2-SHA256-RSA2048"

// wxpSigner is a key WeChat Pay signs with: the public key's private half
// (serial "PUB_KEY_ID_…") or a platform certificate's key (certificate
// serial).
type wxpSigner struct {
	serial    string
	key       *rsa.PrivateKey
	certPEM   []byte // certificates only
	effective time.Time
	expires   time.Time
}

// newPublicKeySigner wraps (or generates) the WeChat Pay public key pair.
func newPublicKeySigner(key *rsa.PrivateKey, id string) (*wxpSigner, error) {
	if key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("sim wechatpay: generate public key: %w", err)
		}
		key = k
	}
	if id == "" {
		id = "PUB_KEY_ID_01" + randomDigits(30)
	}
	if !strings.HasPrefix(id, "PUB_KEY_ID_") {
		return nil, fmt.Errorf("sim wechatpay: a public key id starts with PUB_KEY_ID_")
	}
	return &wxpSigner{serial: id, key: key}, nil
}

// newCertSigner mints a self-signed platform certificate for key (generated
// when nil), valid five years from now, with a random 40-hex-digit serial.
func newCertSigner(key *rsa.PrivateKey, now time.Time) (*wxpSigner, error) {
	if key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("sim wechatpay: generate certificate key: %w", err)
		}
		key = k
	}
	serialBytes := make([]byte, 20)
	_, _ = rand.Read(serialBytes)
	serialBytes[0] &= 0x7f // a positive serial
	serialBytes[0] |= 0x10 // of exactly 40 hex digits
	serial := new(big.Int).SetBytes(serialBytes)
	effective := now.Add(-time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Tenpay.com sim platform certificate", Organization: []string{"Tenpay.com (Banshi simulator)"}, Country: []string{"CN"}},
		NotBefore:    effective,
		NotAfter:     effective.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sim wechatpay: mint certificate: %w", err)
	}
	return &wxpSigner{
		serial:    strings.ToUpper(hex.EncodeToString(serial.Bytes())),
		key:       key,
		certPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		effective: effective,
		expires:   tmpl.NotAfter,
	}, nil
}

// publicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block.
func publicKeyPEM(pub *rsa.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub) // an RSA key always marshals
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// rsaSign is base64(RSA-SHA256 PKCS#1 v1.5) of msg.
func rsaSign(key *rsa.PrivateKey, msg string) string {
	sum := sha256.Sum256([]byte(msg))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]) // cannot fail for an RSA-2048 key
	return base64.StdEncoding.EncodeToString(sig)
}

// wxpAuth is a parsed Authorization header.
type wxpAuth struct {
	mchID, nonce, timestamp, serial, signature string
}

// parseWxpAuth parses `WECHATPAY2-SHA256-RSA2048 k="v",k="v",…`.
func parseWxpAuth(h string) (wxpAuth, bool) {
	rest, ok := strings.CutPrefix(h, wxpAuthScheme+" ")
	if !ok {
		return wxpAuth{}, false
	}
	var a wxpAuth
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return wxpAuth{}, false
		}
		v, err := strconv.Unquote(v)
		if err != nil {
			return wxpAuth{}, false
		}
		switch k {
		case "mchid":
			a.mchID = v
		case "nonce_str":
			a.nonce = v
		case "timestamp":
			a.timestamp = v
		case "serial_no":
			a.serial = v
		case "signature":
			a.signature = v
		}
	}
	if a.mchID == "" || a.nonce == "" || a.timestamp == "" || a.serial == "" || a.signature == "" {
		return wxpAuth{}, false
	}
	if _, err := strconv.ParseInt(a.timestamp, 10, 64); err != nil {
		return wxpAuth{}, false
	}
	return a, true
}

// verifyRequest checks r's Authorization against the registered merchant:
// the signature over "METHOD\nURI\ntimestamp\nnonce\nbody\n", where URI is
// the request target after the simulator's prefix. It returns the merchant
// or a message for the 401 SIGN_ERROR answer.
func (w *WeChatPay) verifyRequest(r *http.Request, body []byte) (*wxpMerchant, string) {
	a, ok := parseWxpAuth(r.Header.Get("Authorization"))
	if !ok {
		return nil, "Authorization 头缺失或格式错误"
	}
	w.mu.Lock()
	m := w.merchants[a.mchID]
	w.mu.Unlock()
	if m == nil {
		return nil, "商户号不存在或签名错误"
	}
	if a.serial != m.SerialNo {
		return nil, "商户证书序列号有误"
	}
	uri := strings.TrimPrefix(r.RequestURI, wxpPrefix)
	msg := r.Method + "\n" + uri + "\n" + a.timestamp + "\n" + a.nonce + "\n" + string(body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return nil, "签名错误"
	}
	sum := sha256.Sum256([]byte(msg))
	if rsa.VerifyPKCS1v15(m.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, "签名错误"
	}
	return m, ""
}

// signerFor picks the key that signs an answer to a request naming serial
// in Wechatpay-Serial (or a callback, serial ""): the public key when named,
// the newest certificate when a certificate is named, else the sim's mode.
func (w *WeChatPay) signerFor(serial string) *wxpSigner {
	w.keysMu.Lock()
	defer w.keysMu.Unlock()
	newest := w.certs[len(w.certs)-1]
	switch {
	case serial == w.publicKey.serial:
		return w.publicKey
	case serial != "" && !strings.HasPrefix(serial, "PUB_KEY_ID_"):
		for _, c := range w.certs {
			if c.serial == serial {
				return newest
			}
		}
	}
	if w.signWith == WeChatPaySignCertificate {
		return newest
	}
	return w.publicKey
}

// signHeaders sets the Wechatpay-* headers of body signed by s.
func (w *WeChatPay) signHeaders(h http.Header, s *wxpSigner, body []byte) {
	ts := strconv.FormatInt(w.now().Unix(), 10)
	nonce := randomAlnum(32)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", s.serial)
	h.Set("Wechatpay-Signature", rsaSign(s.key, ts+"\n"+nonce+"\n"+string(body)+"\n"))
	h.Set("Wechatpay-Signature-Type", wxpAuthScheme)
}

// wxpEncrypted is the encrypted resource of callbacks and certificates.
type wxpEncrypted struct {
	Algorithm      string `json:"algorithm"`
	OriginalType   string `json:"original_type,omitempty"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// sealAPIv3 encrypts plain with AEAD_AES_256_GCM under the APIv3 key, a
// 12-character nonce and the associated data.
func sealAPIv3(apiV3Key string, plain []byte, associated, originalType string) wxpEncrypted {
	block, _ := aes.NewCipher([]byte(apiV3Key)) // the key is checked to be 32 bytes
	gcm, _ := cipher.NewGCM(block)
	nonce := randomAlnum(12)
	ct := gcm.Seal(nil, []byte(nonce), plain, []byte(associated))
	return wxpEncrypted{
		Algorithm:      "AEAD_AES_256_GCM",
		OriginalType:   originalType,
		Ciphertext:     base64.StdEncoding.EncodeToString(ct),
		AssociatedData: associated,
		Nonce:          nonce,
	}
}

// randomAlnum returns n random letters and digits.
func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
