package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

// newAliSim serves a simulator whose one app uses the development keys
// minted into a temporary folder (which also tests that minting).
func newAliSim(t *testing.T) (*Alipay, *httptest.Server, AlipayDevKeys) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "alipay")
	keys, err := LoadOrCreateAlipayKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateAlipayKeys(dir)
	if err != nil || again.AppID != keys.AppID || !again.AppKey.Equal(keys.AppKey) || !again.AlipayKey.Equal(keys.AlipayKey) {
		t.Fatalf("keys not kept: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "app_private_key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v", err)
	}
	a, err := NewAlipay(AlipayOptions{
		Apps:      []AlipayApp{{AppID: keys.AppID, PublicKey: &keys.AppKey.PublicKey, SellerID: keys.SellerID}},
		AlipayKey: keys.AlipayKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(a.Close)
	return a, srv, keys
}

// aliParams are a call's public parameters signed by keys' app key (sign
// over every non-empty parameter but sign).
func aliParams(keys AlipayDevKeys, method, biz string) url.Values {
	p := map[string]string{
		"app_id": keys.AppID, "method": method, "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
		"timestamp": time.Now().In(platform.Shanghai()).Format(time.DateTime), "biz_content": biz,
	}
	p["sign"] = rsaSign(keys.AppKey, aliSignContent(p, "sign"))
	v := url.Values{}
	for k, x := range p {
		v.Set(k, x)
	}
	return v
}

// aliPost calls the gateway and returns the inner answer.
func aliPost(t *testing.T, srv *httptest.Server, v url.Values, respKey string) aliStatus {
	t.Helper()
	res, err := http.PostForm(srv.URL+aliPrefix+"/gateway.do?charset=utf-8", v)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	var s aliStatus
	_ = json.Unmarshal(env[respKey], &s)
	return s
}

// TestAlipayGatewayRefusals: the gateway's public-parameter and signature
// checks, each with Alipay's code and sub_code, and answers signed with the
// Alipay key over the inner object's bytes.
func TestAlipayGatewayRefusals(t *testing.T) {
	a, srv, keys := newAliSim(t)
	const rk = "alipay_trade_query_response"
	good := aliParams(keys, aliMethodQuery, `{"out_trade_no":"ORD1"}`)
	if s := aliPost(t, srv, good, rk); s.Code != aliCodeBusiness || s.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("good call: %+v", s)
	}
	cases := map[string]struct {
		edit    func(v url.Values)
		code    string
		subCode string
	}{
		"tampered biz":  {func(v url.Values) { v.Set("biz_content", `{"out_trade_no":"ORD2"}`) }, aliCodeInvalid, "isv.invalid-signature"},
		"no app_id":     {func(v url.Values) { v.Del("app_id") }, aliCodeMissing, "isv.missing-app-id"},
		"unknown app":   {func(v url.Values) { v.Set("app_id", "2021999999999999") }, aliCodeInvalid, "isv.invalid-app-id"},
		"RSA":           {func(v url.Values) { v.Set("sign_type", "RSA") }, aliCodeInvalid, "isv.invalid-signature-type"},
		"no sign":       {func(v url.Values) { v.Del("sign") }, aliCodeMissing, "isv.missing-signature"},
		"bad timestamp": {func(v url.Values) { v.Set("timestamp", "yesterday") }, aliCodeInvalid, "isv.invalid-timestamp"},
	}
	for name, c := range cases {
		v := url.Values{}
		for k, x := range good {
			v[k] = append([]string(nil), x...)
		}
		c.edit(v)
		if s := aliPost(t, srv, v, rk); s.Code != c.code || s.SubCode != c.subCode {
			t.Errorf("%s: %+v", name, s)
		}
	}
	// The answer's signature is over the inner object's exact bytes.
	res, _ := http.PostForm(srv.URL+aliPrefix+"/gateway.do", good)
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	res.Body.Close()
	var env struct {
		Inner json.RawMessage `json:"alipay_trade_query_response"`
		Sign  string          `json:"sign"`
	}
	if err := json.Unmarshal(body.Bytes(), &env); err != nil || !aliVerify(&a.key.PublicKey, string(env.Inner), env.Sign) {
		t.Fatalf("answer signature: %v %s", err, body.Bytes())
	}
}

// TestAlipayControlValidation: bad control input is 4xx and changes
// nothing; an order opened twice with another amount is a conflict.
func TestAlipayControlValidation(t *testing.T) {
	a, srv, keys := newAliSim(t)
	post := func(path, body string) int {
		res, err := http.Post(srv.URL+aliControl+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	order := aliParams(keys, aliMethodAppPay, `{"out_trade_no":"ORD1","total_amount":"0.99","subject":"工本费"}`).Encode()
	for body, want := range map[string]int{
		`{}`:                               http.StatusBadRequest,
		`{"order_string":"%zz"}`:           http.StatusBadRequest,
		`{"order_string":"a=1"}`:           http.StatusBadRequest,
		`{"callback":"explode"}`:           http.StatusBadRequest,
		`{"order_string":"` + order + `"}`: http.StatusOK,
	} {
		if st := post("/open", body); st != want {
			t.Errorf("open %s: %d, want %d", body, st, want)
		}
	}
	other := aliParams(keys, aliMethodAppPay, `{"out_trade_no":"ORD1","total_amount":"0.98","subject":"工本费"}`).Encode()
	if st := post("/open", `{"order_string":"`+other+`"}`); st != http.StatusConflict {
		t.Errorf("other amount: %d", st)
	}
	if st := post("/pay", `{"out_trade_no":"NOPE"}`); st != http.StatusNotFound {
		t.Errorf("pay unknown: %d", st)
	}
	for _, f := range []string{`{"callback":"explode"}`, `{"api_status":404}`, `{"callback":"delay","callback_delay":"soon"}`, `{"api_count":-1}`} {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+aliControl+"/faults", strings.NewReader(f))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("faults %s: %d", f, res.StatusCode)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.orders) != 1 || a.orders[aliOrderKey(keys.AppID, "ORD1")].totalFen != 99 || a.faults != (aliFaults{}) {
		t.Fatalf("state changed: %d orders, faults %+v", len(a.orders), a.faults)
	}
}
