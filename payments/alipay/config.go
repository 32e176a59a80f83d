package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"banshi/internal/platform"
)

// DefaultGateway is Alipay's OpenAPI gateway.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

// Config is what the adapter needs to act for one Alipay app (public-key
// mode).
type Config struct {
	AppID string // the app's APPID (2021…)
	// PrivateKey is the app's private key (应用私钥), PKCS#1 or PKCS#8, as a
	// PEM block or as the bare base64 Alipay's key tool prints.
	PrivateKey string
	// AlipayPublicKey is the Alipay public key (支付宝公钥) of the app, as a
	// PEM block or bare base64: it verifies answers and notifications.
	AlipayPublicKey string
	// SellerID is the merchant's PID (2088…); when set, notifications of
	// another seller are refused.
	SellerID string
	// BaseURL is where gateway calls and bill downloads go: "" for Alipay
	// itself, the simulator's "http://host:port/sim/alipay" in development
	// and tests (its gateway is BaseURL+"/gateway.do").
	BaseURL string
	// NotifyURL is the notify_url of orders whose request names none.
	NotifyURL string
	// ReturnURL is where the WAP cashier sends the payer back ("": none).
	ReturnURL string
	// Timeout bounds each gateway call (0: 10 s); DownloadTimeout a bill
	// download (0: 5 min).
	Timeout         time.Duration
	DownloadTimeout time.Duration
	// WrapTransport, when set, wraps the transport of every call to the
	// API and of bill downloads (tracing: cmd/banshi); nil: none.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// TempDir holds bill downloads while they are read ("": os.TempDir()).
	TempDir string
	Clock   platform.Clock // nil: platform.SystemClock{}
	Log     *slog.Logger   // nil: discard
	// Breaker guards every call to Alipay (nil: none). Prepay makes no
	// call, so orders are still signed while Alipay is down.
	Breaker *platform.Breaker
}

var errConfig = errors.New("alipay: invalid configuration")

// parsed holds what check derives from a Config.
type parsed struct {
	privateKeyB64 string // PKCS#1 or PKCS#8 DER, base64, as gopay takes it
	publicKeyB64  string // PKIX DER, base64, as gopay's VerifySign takes it
	publicKey     *rsa.PublicKey
}

// check validates c and parses its keys; its errors name the setting, never
// the value.
func (c *Config) check() (parsed, error) {
	var p parsed
	var problems []string
	if c.AppID == "" {
		problems = append(problems, "AppID is required")
	}
	der, err := keyDER(c.PrivateKey, "PRIVATE KEY", "RSA PRIVATE KEY")
	if err == nil {
		if _, e1 := x509.ParsePKCS1PrivateKey(der); e1 != nil {
			k, e8 := x509.ParsePKCS8PrivateKey(der)
			if _, ok := k.(*rsa.PrivateKey); e8 != nil || !ok {
				err = errors.New("not an RSA private key")
			}
		}
	}
	if err != nil {
		problems = append(problems, "PrivateKey: "+err.Error())
	}
	p.privateKeyB64 = base64.StdEncoding.EncodeToString(der)
	der, err = keyDER(c.AlipayPublicKey, "PUBLIC KEY")
	if err == nil {
		pub, e := x509.ParsePKIXPublicKey(der)
		rk, ok := pub.(*rsa.PublicKey)
		if e != nil || !ok {
			err = errors.New("not an RSA public key")
		}
		p.publicKey = rk
	}
	if err != nil {
		problems = append(problems, "AlipayPublicKey: "+err.Error())
	}
	p.publicKeyB64 = base64.StdEncoding.EncodeToString(der)
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		problems = append(problems, "BaseURL must be an http(s) URL")
	}
	if len(problems) > 0 {
		return parsed{}, fmt.Errorf("%w: %s", errConfig, strings.Join(problems, "; "))
	}
	return p, nil
}

// keyDER reads a key given as a PEM block of one of types or as bare
// base64; its errors never quote the key.
func keyDER(text string, types ...string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("is required")
	}
	if strings.HasPrefix(text, "-----") {
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			return nil, errors.New("not a PEM block")
		}
		for _, t := range types {
			if block.Type == t {
				return block.Bytes, nil
			}
		}
		return nil, fmt.Errorf("a %s PEM block was expected", strings.Join(types, " or "))
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, errors.New("neither PEM nor base64")
	}
	return der, nil
}
