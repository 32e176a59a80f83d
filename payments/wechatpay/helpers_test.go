package wechatpay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/sim"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

// Test identities. The APIv3 key is a fixed test value (the fuzz seed
// corpus holds ciphertexts made with it); RSA keys are generated per run.
const (
	testMchID    = "1900000109"
	testSerial   = "3775B6A45ACD588826D15E583A95F5DD********"
	testAPIv3Key = "banshi-test-apiv3-key-0123456789"
	testMiniApp  = "wxminiprogram0001"
	testAppApp   = "wxmobileapp000001"
	testPubKeyID = "PUB_KEY_ID_0119000001092024000000000000"
	testOpenID   = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

var (
	keysOnce     sync.Once
	merchantKey  *rsa.PrivateKey // the merchant API key
	wxPayKey     *rsa.PrivateKey // the private half of the WeChat Pay public key
	certKey      *rsa.PrivateKey // the platform certificate key
	strangerKey  *rsa.PrivateKey // a key nobody registered
	merchantPEM  string
	wxPayPubPEM  string
	keygenFailed error
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&merchantKey, &wxPayKey, &certKey, &strangerKey} {
			if *k, keygenFailed = rsa.GenerateKey(rand.Reader, 2048); keygenFailed != nil {
				return
			}
		}
		der, _ := x509.MarshalPKCS8PrivateKey(merchantKey)
		merchantPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		pub, _ := x509.MarshalPKIXPublicKey(&wxPayKey.PublicKey)
		wxPayPubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	})
	if keygenFailed != nil {
		t.Fatal(keygenFailed)
	}
}

// received is one callback the merchant's notify endpoint got.
type received struct {
	header http.Header
	body   []byte
	n      payments.Notification
	err    error
}

// stack is the sim, an adapter pointed at it, and the merchant's notify
// endpoint, on one manual clock.
type stack struct {
	t        *testing.T
	clock    *platform.ManualClock
	sim      *sim.WeChatPay
	simURL   string
	p        *wechatpay.Provider
	notify   string
	got      chan received
	mu       sync.Mutex
	failNext int // the notify endpoint answers 500 this many times first
}

type stackOptions struct {
	certMode      bool // the adapter verifies with platform certificates only; the sim signs with them
	manualRefunds bool
	wrap          func(http.RoundTripper) http.RoundTripper // the adapter's WrapTransport
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	testKeys(t)
	s := &stack{t: t, clock: platform.NewManualClock(time.Now()), got: make(chan received, 64)}
	signWith := sim.WeChatPaySignPublicKey
	if o.certMode {
		signWith = sim.WeChatPaySignCertificate
	}
	w, err := sim.NewWeChatPay(sim.WeChatPayOptions{
		Clock: s.clock,
		Merchants: []sim.WeChatPayMerchant{{
			MchID: testMchID, SerialNo: testSerial, PublicKey: &merchantKey.PublicKey,
			APIv3Key: testAPIv3Key, AppIDs: []string{testMiniApp, testAppApp},
		}},
		PublicKey: wxPayKey, PublicKeyID: testPubKeyID, CertificateKey: certKey,
		SignWith:      signWith,
		RetrySchedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		ManualRefunds: o.manualRefunds,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.sim = w
	simSrv := httptest.NewServer(w.Handler())
	t.Cleanup(simSrv.Close)
	s.simURL = simSrv.URL + "/sim/wechatpay"

	cfg := wechatpay.Config{
		MchID: testMchID, MiniProgramAppID: testMiniApp, AppAppID: testAppApp,
		SerialNo: testSerial, PrivateKeyPEM: merchantPEM, APIv3Key: testAPIv3Key,
		BaseURL: s.simURL, Clock: s.clock,
	}
	if o.certMode {
		cfg.PlatformCertificates = true
	} else {
		cfg.PublicKeyID, cfg.PublicKeyPEM = testPubKeyID, wxPayPubPEM
	}
	notifySrv := httptest.NewServer(http.HandlerFunc(s.handleNotify))
	t.Cleanup(notifySrv.Close)
	s.notify = notifySrv.URL + "/notify/wechatpay"
	cfg.NotifyURL = s.notify
	cfg.WrapTransport = o.wrap
	if s.p, err = wechatpay.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close) // runs first: stops deliveries before the servers go
	return s
}

// handleNotify is the merchant's notify endpoint: verify, then ack or refuse.
func (s *stack) handleNotify(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, wechatpay.MaxNotifyBody+1))
	n, err := s.p.ParseNotification(r.Context(), r.Header, body)
	s.got <- received{header: r.Header.Clone(), body: body, n: n, err: err}
	s.mu.Lock()
	fail := s.failNext > 0
	if fail {
		s.failNext--
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		wechatpay.RefuseNotification(w, http.StatusUnauthorized)
	case fail:
		wechatpay.RefuseNotification(w, http.StatusInternalServerError)
	default:
		s.p.AckNotification(w)
	}
}

// next waits for the next callback.
func (s *stack) next() received {
	s.t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(10 * time.Second):
		s.t.Fatal("no callback arrived")
	}
	return received{}
}

// none asserts no callback arrives within a short while.
func (s *stack) none() {
	s.t.Helper()
	select {
	case r := <-s.got:
		s.t.Fatalf("unexpected callback %s", r.body)
	case <-time.After(200 * time.Millisecond):
	}
}

// control calls a control endpoint of the sim and decodes its answer into out.
func (s *stack) control(method, path string, in, out any) int {
	s.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.simURL+"/control"+path, body)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// pay plays the payer paying orderNo.
func (s *stack) pay(orderNo string) string {
	s.t.Helper()
	var out struct {
		TransactionID string `json:"transaction_id"`
	}
	if st := s.control("POST", "/pay", map[string]string{"out_trade_no": orderNo}, &out); st != http.StatusOK {
		s.t.Fatalf("control pay %s: %d", orderNo, st)
	}
	return out.TransactionID
}

// prepay creates a JSAPI order of amount fen.
func (s *stack) prepay(orderNo string, amount int64) map[string]any {
	s.t.Helper()
	params, err := s.p.Prepay(context.Background(), payments.PrepayRequest{
		OrderNo: orderNo, Method: payments.WeChatJSAPI, AmountFen: amount, Subject: "不动产登记费",
		PayerOpenID: testOpenID, ExpiresAt: s.clock.Now().Add(30 * time.Minute), Attach: "BILL-" + orderNo,
	})
	if err != nil {
		s.t.Fatalf("prepay %s: %v", orderNo, err)
	}
	return params
}
