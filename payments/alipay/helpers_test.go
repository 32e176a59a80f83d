package alipay_test

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
	"banshi/payments/alipay"
)

// Test identities; RSA keys are generated per run.
const (
	testAppID    = "2021000000000001"
	testSellerID = "2088000000000001"
)

var ctx = context.Background()

var (
	keysOnce     sync.Once
	appKey       *rsa.PrivateKey // the app's private key
	alipayKey    *rsa.PrivateKey // the private half of the Alipay public key
	strangerKey  *rsa.PrivateKey // a key nobody registered
	appKeyPEM    string
	alipayPubPEM string
	keygenFailed error
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&appKey, &alipayKey, &strangerKey} {
			if *k, keygenFailed = rsa.GenerateKey(rand.Reader, 2048); keygenFailed != nil {
				return
			}
		}
		der, _ := x509.MarshalPKCS8PrivateKey(appKey)
		appKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		pub, _ := x509.MarshalPKIXPublicKey(&alipayKey.PublicKey)
		alipayPubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	})
	if keygenFailed != nil {
		t.Fatal(keygenFailed)
	}
}

// received is one notification the merchant's endpoint got.
type received struct {
	body []byte
	n    payments.Notification
	err  error
}

// stack is the sim, an adapter pointed at it, and the merchant's notify
// endpoint, on one manual clock.
type stack struct {
	t        *testing.T
	clock    *platform.ManualClock
	sim      *sim.Alipay
	simURL   string
	p        *alipay.Provider
	notify   string
	got      chan received
	mu       sync.Mutex
	failNext int // the endpoint answers "fail" this many times first
}

func newStack(t *testing.T) *stack {
	t.Helper()
	testKeys(t)
	s := &stack{t: t, clock: platform.NewManualClock(time.Now()), got: make(chan received, 64)}
	a, err := sim.NewAlipay(sim.AlipayOptions{
		Clock:         s.clock,
		Apps:          []sim.AlipayApp{{AppID: testAppID, PublicKey: &appKey.PublicKey, SellerID: testSellerID}},
		AlipayKey:     alipayKey,
		RetrySchedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.sim = a
	simSrv := httptest.NewServer(a.Handler())
	t.Cleanup(simSrv.Close)
	s.simURL = simSrv.URL + "/sim/alipay"
	notifySrv := httptest.NewServer(http.HandlerFunc(s.handleNotify))
	t.Cleanup(notifySrv.Close)
	s.notify = notifySrv.URL + "/notify/alipay"
	s.p, err = alipay.New(alipay.Config{
		AppID: testAppID, PrivateKey: appKeyPEM, AlipayPublicKey: alipayPubPEM, SellerID: testSellerID,
		BaseURL: s.simURL, NotifyURL: s.notify, TempDir: t.TempDir(), Clock: s.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close) // runs first: stops deliveries before the servers go
	return s
}

// handleNotify is the merchant's notify endpoint: verify, then ack or refuse.
func (s *stack) handleNotify(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, alipay.MaxNotifyBody+1))
	n, err := s.p.ParseNotification(r.Context(), r.Header, body)
	s.got <- received{body: body, n: n, err: err}
	s.mu.Lock()
	fail := s.failNext > 0
	if fail {
		s.failNext--
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		alipay.RefuseNotification(w, http.StatusBadRequest)
	case fail:
		alipay.RefuseNotification(w, http.StatusInternalServerError)
	default:
		s.p.AckNotification(w)
	}
}

func (s *stack) next() received {
	s.t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(10 * time.Second):
		s.t.Fatal("no notification arrived")
	}
	return received{}
}

func (s *stack) none() {
	s.t.Helper()
	select {
	case r := <-s.got:
		s.t.Fatalf("unexpected notification %s", r.body)
	case <-time.After(200 * time.Millisecond):
	}
}

// control calls a control endpoint of the sim and decodes its answer.
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

// prepay signs an order of amount fen and has the payer open it.
func (s *stack) prepay(orderNo string, method payments.Method, amount int64) {
	s.t.Helper()
	params, err := s.p.Prepay(ctx, payments.PrepayRequest{
		OrderNo: orderNo, Method: method, AmountFen: amount, Subject: "不动产登记费",
		ExpiresAt: s.clock.Now().Add(30 * time.Minute), Attach: "BILL-" + orderNo,
	})
	if err != nil {
		s.t.Fatalf("prepay %s: %v", orderNo, err)
	}
	in := map[string]any{}
	if method == payments.AlipayApp {
		in["order_string"] = params["order_string"]
	} else {
		in["url"] = params["url"]
	}
	if st := s.control("POST", "/open", in, nil); st != http.StatusOK {
		s.t.Fatalf("open %s: %d", orderNo, st)
	}
}

// pay plays the payer paying orderNo.
func (s *stack) pay(orderNo string) string {
	s.t.Helper()
	var out struct {
		TradeNo string `json:"trade_no"`
	}
	if st := s.control("POST", "/pay", map[string]string{"out_trade_no": orderNo}, &out); st != http.StatusOK {
		s.t.Fatalf("control pay %s: %d", orderNo, st)
	}
	return out.TradeNo
}
