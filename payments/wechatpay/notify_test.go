package wechatpay_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"banshi/payments"
)

func pubPEM(k *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// signedHeaders signs body as WeChat Pay does, with key under serial, at ts.
func signedHeaders(key *rsa.PrivateKey, serial string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	t := strconv.FormatInt(ts.Unix(), 10)
	nonce := "n0nce" + strconv.FormatInt(ts.UnixNano(), 36)
	sum := sha256.Sum256([]byte(t + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	h.Set("Wechatpay-Timestamp", t)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	return h
}

// envelope builds a callback body whose resource is plain sealed with key.
func envelope(t testing.TB, event string, plain any, apiV3Key string) []byte {
	t.Helper()
	pb, _ := json.Marshal(plain)
	block, _ := aes.NewCipher([]byte(apiV3Key))
	gcm, _ := cipher.NewGCM(block)
	nonce := "abcdefghijkl"
	ct := gcm.Seal(nil, []byte(nonce), pb, []byte("transaction"))
	b, _ := json.Marshal(map[string]any{
		"id": "EV-2026031600001", "create_time": "2026-03-16T10:00:00+08:00", "resource_type": "encrypt-resource",
		"event_type": event, "summary": "支付成功",
		"resource": map[string]string{
			"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": "transaction", "nonce": nonce,
		},
	})
	return b
}

// paidTransaction is a decrypted TRANSACTION.SUCCESS resource.
func paidTransaction(mchID string) map[string]any {
	return map[string]any{
		"mchid": mchID, "appid": testMiniApp, "out_trade_no": "ORD0000100", "transaction_id": "4200000000202603160000000001",
		"trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": "2026-03-16T10:00:00+08:00", "payer": map[string]string{"openid": testOpenID},
		"amount": map[string]any{"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
	}
}

// Every way a callback can fail to prove itself is refused with
// ErrNotVerified; verified nonsense is ErrMalformed; nothing is parsed
// first.
func TestCallbackVerification(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.prepay("ORD0000100", 100)
	s.pay("ORD0000100")
	real := s.next()
	if real.err != nil {
		t.Fatalf("the real callback was refused: %v", real.err)
	}
	now := s.clock.Now()
	good := envelope(t, "TRANSACTION.SUCCESS", paidTransaction(testMchID), testAPIv3Key)
	tampered := []byte(strings.Replace(string(real.body), `"ciphertext":"`, `"ciphertext":"A`, 1))
	cases := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"well signed", signedHeaders(wxPayKey, testPubKeyID, now, good), good, nil},
		{"4 minutes old", signedHeaders(wxPayKey, testPubKeyID, now.Add(-4*time.Minute), good), good, nil},
		{"forged signature", signedHeaders(strangerKey, testPubKeyID, now, good), good, payments.ErrNotVerified},
		{"stale timestamp", signedHeaders(wxPayKey, testPubKeyID, now.Add(-6*time.Minute), good), good, payments.ErrNotVerified},
		{"future timestamp", signedHeaders(wxPayKey, testPubKeyID, now.Add(6*time.Minute), good), good, payments.ErrNotVerified},
		{"wrong serial", signedHeaders(wxPayKey, "PUB_KEY_ID_0000000000000000000000000000", now, good), good, payments.ErrNotVerified},
		{"certificate serial in public key mode", signedHeaders(wxPayKey, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", now, good), good, payments.ErrNotVerified},
		{"tampered ciphertext", real.header, tampered, payments.ErrNotVerified},
		{"replayed real callback, body changed", real.header, append([]byte(" "), real.body...), payments.ErrNotVerified},
		{"other APIv3 key", signedHeaders(wxPayKey, testPubKeyID, now, envelope(t, "TRANSACTION.SUCCESS", paidTransaction(testMchID), "another-apiv3-key-0123456789abcd")), envelope(t, "TRANSACTION.SUCCESS", paidTransaction(testMchID), "another-apiv3-key-0123456789abcd"), payments.ErrNotVerified},
		{"no headers", http.Header{}, good, payments.ErrNotVerified},
		{"signed but not JSON", signedHeaders(wxPayKey, testPubKeyID, now, []byte("{not json")), []byte("{not json"), payments.ErrMalformed},
		{"another merchant", signedHeaders(wxPayKey, testPubKeyID, now, envelope(t, "TRANSACTION.SUCCESS", paidTransaction("1900000999"), testAPIv3Key)), envelope(t, "TRANSACTION.SUCCESS", paidTransaction("1900000999"), testAPIv3Key), payments.ErrMalformed},
		{"unknown event", signedHeaders(wxPayKey, testPubKeyID, now, envelope(t, "TRANSACTION.WHATEVER", paidTransaction(testMchID), testAPIv3Key)), envelope(t, "TRANSACTION.WHATEVER", paidTransaction(testMchID), testAPIv3Key), payments.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The header of a case is computed once; the real one may be reused.
			n, err := s.p.ParseNotification(ctx, c.header, c.body)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == nil && (n.Kind != payments.NotifyPayment || n.Trade.OrderNo != "ORD0000100" || n.Trade.AmountFen != 100):
				t.Fatalf("parsed %+v", n)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("got %v, want %v", err, c.want)
			case c.want != nil && n != (payments.Notification{}):
				t.Fatalf("a refused callback returned %+v", n)
			}
			if err != nil && strings.Contains(err.Error(), c.header.Get("Wechatpay-Signature")) && c.header.Get("Wechatpay-Signature") != "" {
				t.Fatalf("the error quotes the signature: %v", err)
			}
		})
	}
	// The real callback again, 6 minutes later: stale.
	s.clock.Advance(6 * time.Minute)
	if _, err := s.p.ParseNotification(ctx, real.header, real.body); !errors.Is(err, payments.ErrNotVerified) {
		t.Fatalf("stale real callback: %v", err)
	}
}

// WeChat's deliberately mis-signed probes are refused by the endpoint.
func TestProbeRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	var out struct {
		Status int `json:"status"`
	}
	s.control("POST", "/probe", map[string]string{"notify_url": s.notify}, &out)
	if out.Status != http.StatusUnauthorized {
		t.Fatalf("probe answered %d", out.Status)
	}
	if got := s.next(); !errors.Is(got.err, payments.ErrNotVerified) {
		t.Fatalf("probe parsed: %v", got.err)
	}
}

// A rotated platform certificate: the adapter downloads the certificates
// again when a callback names the new serial; answers signed by it verify.
func TestCertificateRotation(t *testing.T) {
	s := newStack(t, stackOptions{certMode: true})
	s.prepay("ORD0000200", 100)
	if err := s.sim.RotateCertificate(); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(2 * time.Minute) // past the refresh gap of the first download
	s.pay("ORD0000200")
	got := s.next()
	serials := s.sim.CertificateSerials()
	if got.header.Get("Wechatpay-Serial") != serials[1] {
		t.Fatalf("callback signed by %s, want the new %s", got.header.Get("Wechatpay-Serial"), serials[1])
	}
	if got.err != nil {
		t.Fatalf("callback under the new certificate refused: %v", got.err)
	}
	if tr, err := s.p.Query(ctx, "ORD0000200"); err != nil || tr.State != payments.TradePaid {
		t.Fatalf("query under the new certificate: %+v, %v", tr, err)
	}
	// A serial that is no certificate at all, right after a download: refused
	// without another download.
	body := envelope(t, "TRANSACTION.SUCCESS", paidTransaction(testMchID), testAPIv3Key)
	if _, err := s.p.ParseNotification(ctx, signedHeaders(certKey, "0000000000000000000000000000000000000000", s.clock.Now(), body), body); !errors.Is(err, payments.ErrNotVerified) {
		t.Fatalf("unknown certificate serial: %v", err)
	}
}

// Callback faults of the simulator reach the endpoint as WeChat would send
// them: duplicates, retries after a failure, none when dropped, newest
// first when reordered.
func TestCallbackFaults(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, no := range []string{"FLT0000001", "FLT0000002", "FLT0000003", "FLT0000004", "FLT0000005", "FLT0000006"} {
		s.prepay(no, 100)
	}

	s.control("PUT", "/faults", map[string]any{"callback": "duplicate", "callback_count": 1}, nil)
	s.pay("FLT0000001")
	a, b := s.next(), s.next()
	if a.err != nil || b.err != nil || a.n.Trade.OrderNo != "FLT0000001" || b.n.Trade.OrderNo != "FLT0000001" {
		t.Fatalf("duplicate: %+v / %+v", a, b)
	}

	s.control("PUT", "/faults", map[string]any{"callback": "drop", "callback_count": 1}, nil)
	s.pay("FLT0000002")
	s.none()
	if tr, _ := s.p.Query(ctx, "FLT0000002"); tr.State != payments.TradePaid {
		t.Fatalf("a dropped callback's order is not paid at the channel: %+v", tr)
	}

	s.mu.Lock()
	s.failNext = 2
	s.mu.Unlock()
	s.pay("FLT0000003")
	for i := 0; i < 3; i++ {
		if got := s.next(); got.n.Trade.OrderNo != "FLT0000003" {
			t.Fatalf("retry %d: %+v", i, got)
		}
	}
	s.none() // acknowledged on the third attempt

	s.control("PUT", "/faults", map[string]any{"callback": "reorder", "callback_count": 2}, nil)
	s.pay("FLT0000004")
	s.none()
	s.pay("FLT0000005")
	first, second := s.next(), s.next()
	if first.n.Trade.OrderNo != "FLT0000005" || second.n.Trade.OrderNo != "FLT0000004" {
		t.Fatalf("reorder: %s then %s", first.n.Trade.OrderNo, second.n.Trade.OrderNo)
	}

	s.control("PUT", "/faults", map[string]any{"callback": "delay", "callback_delay": "300ms", "callback_count": 1}, nil)
	s.pay("FLT0000006")
	s.none() // 200 ms
	if got := s.next(); got.n.Trade.OrderNo != "FLT0000006" {
		t.Fatalf("delayed: %+v", got)
	}

	var list struct {
		Callbacks []struct {
			OutTradeNo string `json:"out_trade_no"`
			Fault      string `json:"fault"`
			Delivered  bool   `json:"delivered"`
			Attempts   int    `json:"attempts"`
		} `json:"callbacks"`
	}
	s.control("GET", "/callbacks", nil, &list)
	if len(list.Callbacks) != 6 || list.Callbacks[1].Fault != "drop" || list.Callbacks[1].Delivered || list.Callbacks[2].Attempts != 3 {
		t.Fatalf("callback records %+v", list.Callbacks)
	}
}
