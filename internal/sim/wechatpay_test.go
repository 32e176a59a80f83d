package sim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// newWxpSim serves a simulator whose one merchant uses the development keys
// minted into a temporary folder (which also tests that minting).
func newWxpSim(t *testing.T) (*WeChatPay, *httptest.Server, WeChatPayDevKeys) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wechatpay")
	keys, err := LoadOrCreateWeChatPayKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateWeChatPayKeys(dir)
	if err != nil || again.MerchantSerial != keys.MerchantSerial || !again.MerchantKey.Equal(keys.MerchantKey) || again.APIv3Key != keys.APIv3Key {
		t.Fatalf("keys not kept: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "merchant_key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("merchant key file mode: %v %v", fi.Mode(), err)
	}
	w, err := NewWeChatPay(WeChatPayOptions{
		Merchants: []WeChatPayMerchant{{MchID: "1900000109", SerialNo: keys.MerchantSerial, PublicKey: &keys.MerchantKey.PublicKey, APIv3Key: keys.APIv3Key, AppIDs: []string{"wxapp"}}},
		PublicKey: keys.PublicKey, PublicKeyID: keys.PublicKeyID, CertificateKey: keys.CertificateKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(w.Close)
	return w, srv, keys
}

// wxpCall makes a protocol call signed by key under serial.
func wxpCall(t *testing.T, srv *httptest.Server, key *rsa.PrivateKey, serial, method, uri string, body []byte) (*http.Response, wxpErrorBody) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+wxpPrefix+uri, bytes.NewReader(body))
	if key != nil {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sum := sha256.Sum256([]byte(method + "\n" + uri + "\n" + ts + "\nNONCE\n" + string(body) + "\n"))
		sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		req.Header.Set("Authorization", wxpAuthScheme+` mchid="1900000109",nonce_str="NONCE",timestamp="`+ts+`",serial_no="`+serial+`",signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e wxpErrorBody
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res, e
}

// Requests that do not prove the merchant are 401 SIGN_ERROR, and change
// nothing; the refusal is signed like every answer.
func TestWeChatPayRefusesUnsignedRequests(t *testing.T) {
	w, srv, keys := newWxpSim(t)
	body := []byte(`{"appid":"wxapp","mchid":"1900000109","description":"x","out_trade_no":"ORD000001","notify_url":"https://example.com/n","amount":{"total":1}}`)
	other, err := rsa.GenerateKey(rand.Reader, 2048) // a stranger's key
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		key    *rsa.PrivateKey
		serial string
	}{
		"no authorization": {nil, ""},
		"wrong key":        {other, keys.MerchantSerial},
		"wrong serial":     {keys.MerchantKey, "0000"},
	} {
		res, e := wxpCall(t, srv, c.key, c.serial, "POST", "/v3/pay/transactions/app", body)
		if res.StatusCode != http.StatusUnauthorized || e.Code != wxpSignError || res.Header.Get("Wechatpay-Signature") == "" || res.Header.Get("Wechatpay-Serial") != keys.PublicKeyID {
			t.Errorf("%s: %d %+v", name, res.StatusCode, e)
		}
	}
	if len(w.orders) != 0 {
		t.Fatal("a refused request created an order")
	}
	res, e := wxpCall(t, srv, keys.MerchantKey, keys.MerchantSerial, "POST", "/v3/pay/transactions/app", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("signed request: %d %+v", res.StatusCode, e)
	}
}

func TestWeChatPayFaultValidation(t *testing.T) {
	_, srv, _ := newWxpSim(t)
	for _, body := range []string{`{"api_status":404}`, `{"callback":"explode"}`, `{"callback":"delay"}`, `{"api_count":-1}`, `nope`} {
		req, _ := http.NewRequest("PUT", srv.URL+wxpControl+"/faults", bytes.NewReader([]byte(body)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", body, res.StatusCode)
		}
	}
}
