package alipay_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"

	"banshi/payments"
	"banshi/payments/alipay"
)

func publicPEM(k *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func privatePEM(k *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// pemBody is the bare base64 of a PEM block.
func pemBody(p string) string {
	var b strings.Builder
	for _, l := range strings.Split(p, "\n") {
		if !strings.HasPrefix(l, "-----") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// paidForm is a TRADE_SUCCESS notification's fields, unsigned.
func paidForm() url.Values {
	return url.Values{
		"notify_time": {"2026-03-16 10:00:05"}, "notify_type": {"trade_status_sync"}, "notify_id": {"ac05099524730693a8b330c5ecf72da9786"},
		"app_id": {testAppID}, "charset": {"utf-8"}, "version": {"1.0"}, "trade_no": {"2026031622001400001234567890"},
		"out_trade_no": {"ORD0000100"}, "trade_status": {"TRADE_SUCCESS"}, "seller_id": {testSellerID}, "buyer_id": {"2088102122524333"},
		"total_amount": {"0.99"}, "receipt_amount": {"0.99"}, "buyer_pay_amount": {"0.99"}, "point_amount": {"0.00"},
		"subject": {"不动产登记费"}, "gmt_create": {"2026-03-16 10:00:00"}, "gmt_payment": {"2026-03-16 10:00:04"},
		"fund_bill_list": {`[{"amount":"0.99","fundChannel":"ALIPAYACCOUNT"}]`},
	}
}

// refundForm is the notification of a refund.
func refundForm() url.Values {
	v := paidForm()
	v.Set("out_biz_no", "RF00000100")
	v.Set("refund_fee", "0.40")
	v.Set("gmt_refund", "2026-03-16 11:00:00.123")
	return v
}

// signForm signs v as Alipay signs notifications (every field but sign and
// sign_type, non-empty, sorted) with key and returns the form body.
func signForm(key *rsa.PrivateKey, v url.Values) []byte {
	v = cloneValues(v)
	v.Del("sign")
	v.Del("sign_type")
	keys := make([]string, 0, len(v))
	for k := range v {
		if v.Get(k) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v.Get(k)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	v.Set("sign_type", "RSA2")
	return []byte(v.Encode())
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func fuzzProvider(t testing.TB) *alipay.Provider {
	t.Helper()
	testKeys(t)
	p, err := alipay.New(alipay.Config{
		AppID: testAppID, PrivateKey: appKeyPEM, AlipayPublicKey: alipayPubPEM, SellerID: testSellerID, BaseURL: "http://127.0.0.1:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNotificationRefused: forged, tampered, foreign, repeated-parameter
// and non-RSA2 notifications are ErrNotVerified; a verified one with an
// amount that is not exact yuan is ErrMalformed.
func TestNotificationRefused(t *testing.T) {
	p := fuzzProvider(t)
	good := signForm(alipayKey, paidForm())
	if n, err := p.ParseNotification(ctx, nil, good); err != nil || n.Trade.AmountFen != 99 || n.Kind != payments.NotifyPayment {
		t.Fatalf("genuine: %+v %v", n, err)
	}
	tampered := []byte(strings.Replace(string(good), "total_amount=0.99", "total_amount=0.01", 1))
	other := paidForm()
	other.Set("app_id", "2021999999999999")
	seller := paidForm()
	seller.Set("seller_id", "2088999999999999")
	rsa1 := strings.Replace(string(good), "sign_type=RSA2", "sign_type=RSA", 1)
	for name, body := range map[string][]byte{
		"stranger":       signForm(strangerKey, paidForm()),
		"tampered":       tampered,
		"added field":    append(append([]byte(nil), good...), "&refund_fee=0.99&out_biz_no=X"...),
		"repeated":       append(append([]byte(nil), good...), "&total_amount=0.01"...),
		"another app":    signForm(alipayKey, other),
		"another seller": signForm(alipayKey, seller),
		"sign_type RSA":  []byte(rsa1),
		"unsigned":       []byte(paidForm().Encode()),
		"not a form":     []byte("%zz"),
	} {
		if n, err := p.ParseNotification(ctx, nil, body); !errors.Is(err, payments.ErrNotVerified) || n != (payments.Notification{}) {
			t.Errorf("%s: %+v %v", name, n, err)
		}
	}
	for _, amount := range []string{"0.999", "1e2", "-1.00", " 1.00", "0x10", "1.", ".5", "", "1,00"} {
		v := paidForm()
		v.Set("total_amount", amount)
		if _, err := p.ParseNotification(ctx, nil, signForm(alipayKey, v)); !errors.Is(err, payments.ErrMalformed) {
			t.Errorf("total_amount %q: %v", amount, err)
		}
	}
	n, err := p.ParseNotification(ctx, nil, signForm(alipayKey, refundForm()))
	if err != nil || n.Kind != payments.NotifyRefund || n.Refund.RefundNo != "RF00000100" || n.Refund.AmountFen != 40 || n.Refund.SucceededAt.IsZero() {
		t.Fatalf("refund: %+v %v", n, err)
	}
}
