package wechatpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"banshi/internal/platform"
)

// DefaultBaseURL is WeChat Pay's API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Config is what the adapter needs to act for one merchant (直连商户).
type Config struct {
	MchID            string // 商户号
	MiniProgramAppID string // appid of wechat_jsapi payments (the mini-program); "" disables the method
	AppAppID         string // appid of wechat_app payments (the Open Platform mobile app); "" disables it
	SerialNo         string // the merchant API certificate's serial (商户API证书序列号)
	PrivateKeyPEM    string // the merchant API private key (apiclient_key.pem), PKCS#1 or PKCS#8
	APIv3Key         string // the 32-byte APIv3 key
	// PublicKeyID ("PUB_KEY_ID_…") and PublicKeyPEM are the WeChat Pay
	// public key (微信支付公钥), mandatory for merchants onboarded since 2024.
	PublicKeyID  string
	PublicKeyPEM string
	// PlatformCertificates also (or instead) verifies with the platform
	// certificates of /v3/certificates, fetched at the first call.
	PlatformCertificates bool
	// BaseURL is the API host: "" for DefaultBaseURL, the simulator's
	// "http://host:port/sim/wechatpay" in development and tests.
	BaseURL string
	// NotifyURL is the notify_url of orders and refunds whose request names
	// none.
	NotifyURL string
	// Timeout bounds each API call (0: 10 s); DownloadTimeout a bill
	// download (0: 5 min).
	Timeout         time.Duration
	DownloadTimeout time.Duration
	Clock           platform.Clock // judges callback timestamps; nil: platform.SystemClock{}
	Log             *slog.Logger   // nil: discard
	// Breaker guards every call to WeChat Pay (nil: none); Ready reports
	// it open.
	Breaker *platform.Breaker
	// WrapTransport, when set, wraps the transport of every call to the
	// API and of bill downloads (tracing: cmd/banshi); nil: none.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Errors of New. None of them quotes a key.
var (
	errConfig = errors.New("wechatpay: invalid configuration")
)

// parsed holds what check derives from a Config.
type parsed struct {
	privateKey *rsa.PrivateKey
	publicKey  *rsa.PublicKey // nil without PublicKeyID
}

// check validates c and parses its keys; its errors name the setting, never
// the value.
func (c *Config) check() (parsed, error) {
	var p parsed
	var problems []string
	if c.MchID == "" {
		problems = append(problems, "MchID is required")
	}
	if c.SerialNo == "" {
		problems = append(problems, "SerialNo is required")
	}
	if len(c.APIv3Key) != 32 {
		problems = append(problems, "APIv3Key must be 32 bytes")
	}
	if c.MiniProgramAppID == "" && c.AppAppID == "" {
		problems = append(problems, "MiniProgramAppID or AppAppID is required")
	}
	key, err := parsePrivateKey(c.PrivateKeyPEM)
	if err != nil {
		problems = append(problems, "PrivateKeyPEM: "+err.Error())
	}
	p.privateKey = key
	switch {
	case c.PublicKeyID != "" || c.PublicKeyPEM != "":
		if !strings.HasPrefix(c.PublicKeyID, "PUB_KEY_ID_") {
			problems = append(problems, "PublicKeyID must start with PUB_KEY_ID_")
		}
		pub, err := parsePublicKey(c.PublicKeyPEM)
		if err != nil {
			problems = append(problems, "PublicKeyPEM: "+err.Error())
		}
		p.publicKey = pub
	case !c.PlatformCertificates:
		problems = append(problems, "set PublicKeyID and PublicKeyPEM, or PlatformCertificates")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		problems = append(problems, "BaseURL must be an http(s) URL")
	}
	if len(problems) > 0 {
		return parsed{}, fmt.Errorf("%w: %s", errConfig, strings.Join(problems, "; "))
	}
	return p, nil
}

// parsePrivateKey reads an RSA private key (PKCS#1 or PKCS#8 PEM); its
// errors never quote the PEM.
func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not a PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}

// parsePublicKey reads an RSA public key from a PUBLIC KEY, RSA PUBLIC KEY
// or CERTIFICATE PEM block.
func parsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not a PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, errors.New("not a public key or certificate PEM block")
	}
	if err != nil {
		return nil, errors.New("cannot be parsed")
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}
