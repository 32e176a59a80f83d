package sim

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const (
	testPushToken  = "pushtoken123"
	testPushAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// receiver is a mini-program server: it checks every push's signatures,
// decrypts safe mode, and records the messages.
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	messages []string
	fail     int // answer 500 to this many pushes first
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("signature") != pushSignature(testPushToken, q.Get("timestamp"), q.Get("nonce")) {
		rc.t.Errorf("push with a bad signature: %s", r.URL.RawQuery)
		w.WriteHeader(401)
		return
	}
	if r.Method == http.MethodGet {
		io.WriteString(w, q.Get("echostr"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	msg := string(body)
	if q.Get("encrypt_type") == "aes" {
		var env struct {
			Encrypt string `json:"Encrypt" xml:"Encrypt"`
		}
		if strings.HasPrefix(msg, "<") {
			_ = xml.Unmarshal(body, &env)
		} else {
			_ = json.Unmarshal(body, &env)
		}
		if q.Get("msg_signature") != pushSignature(testPushToken, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
			rc.t.Errorf("safe push with a bad msg_signature")
		}
		var appID string
		msg, appID = decryptForTest(rc.t, env.Encrypt)
		if appID != testMiniApp {
			rc.t.Errorf("decrypted appid %q", appID)
		}
		if q.Get("openid") == "" || !strings.Contains(msg, q.Get("openid")) {
			rc.t.Errorf("safe push openid %q not the message's", q.Get("openid"))
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	rc.messages = append(rc.messages, msg)
	io.WriteString(w, "success")
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.messages...)
}

// decryptForTest opens a safe-mode Encrypt field: message and appid.
func decryptForTest(t *testing.T, enc string) (string, string) {
	key := aesKey(testPushAESKey)
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(data)%32 != 0 {
		t.Fatalf("Encrypt %q: %v (len %d)", enc, err, len(data))
	}
	block, _ := aes.NewCipher(key)
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	plain = plain[:len(plain)-pad]
	n := binary.BigEndian.Uint32(plain[16:20])
	return string(plain[20 : 20+n]), string(plain[20+n:])
}

func TestPushSettingsNeedTheURLCheck(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	path := "/apps/" + testMiniApp + "/push"
	status, body := f.do(http.MethodPut, path, PushConfig{URL: rc.srv.URL, Token: testPushToken, EncodingAESKey: testPushAESKey, Safe: true})
	if status != http.StatusOK || body["pushes_active"] != true || body["safe"] != true || !strings.HasPrefix(body["original_id"].(string), "gh_") {
		t.Fatalf("settings: %d %v", status, body)
	}
	if _, has := body["token"]; has {
		t.Fatal("the settings answer shows the token")
	}
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "success") }))
	defer wrong.Close()
	for name, tc := range map[string]struct {
		body any
		want int
	}{
		"URL check fails": {PushConfig{URL: wrong.URL, Token: testPushToken}, http.StatusUnprocessableEntity},
		"no token":        {map[string]any{"url": rc.srv.URL, "token": ""}, http.StatusBadRequest},
		"bad token":       {PushConfig{URL: rc.srv.URL, Token: "a-b"}, http.StatusBadRequest},
		"safe, no key":    {PushConfig{URL: rc.srv.URL, Token: testPushToken, Safe: true}, http.StatusBadRequest},
		"bad format":      {PushConfig{URL: rc.srv.URL, Token: testPushToken, Format: "yaml"}, http.StatusBadRequest},
	} {
		if status, body := f.do(http.MethodPut, path, tc.body); status != tc.want {
			t.Errorf("%s: %d %v, want %d", name, status, body, tc.want)
		}
	}
	if status, _ := f.do(http.MethodPut, "/apps/wxnope/push", PushConfig{URL: rc.srv.URL, Token: testPushToken}); status != http.StatusNotFound {
		t.Errorf("unknown app: %d", status)
	}
	// A URL set alone (banshi sim --push-url), completed later.
	g := newFixture(t)
	if err := g.wc.SetPush(testMiniApp, PushConfig{URL: rc.srv.URL}); err != nil {
		t.Fatal(err)
	}
	if status, body := g.do(http.MethodGet, path, nil); status != http.StatusOK || body["pushes_active"] != false || body["url"] != rc.srv.URL {
		t.Fatalf("URL only: %d %v", status, body)
	}
	if status, body := g.do(http.MethodPut, path, map[string]any{"token": testPushToken}); status != http.StatusOK || body["pushes_active"] != true || body["url"] != rc.srv.URL {
		t.Fatalf("completed with the token: %d %v", status, body)
	}
}

func TestPushesOfSubscribeEvents(t *testing.T) {
	for _, mode := range []PushConfig{
		{Token: testPushToken, Format: "json"},
		{Token: testPushToken, Format: "xml"},
		{Token: testPushToken, Format: "json", Safe: true, EncodingAESKey: testPushAESKey},
		{Token: testPushToken, Format: "xml", Safe: true, EncodingAESKey: testPushAESKey},
	} {
		name := mode.Format
		if mode.Safe {
			name += ", safe mode"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			rc := newReceiver(t)
			mode.URL = rc.srv.URL
			if err := f.wc.SetPush(testMiniApp, mode); err != nil {
				t.Fatal(err)
			}
			f.wc.AddTemplate(testMiniApp, "tmpl-b", []string{"thing1"}, nil)
			f.wc.AddTemplate(testMiniApp, "tmpl-c", []string{"thing1"}, nil)
			openID, _ := f.user(createUserRequest{})
			// One template accepted, then three in one popup rejected.
			acceptTemplate(f, openID, testTemplate, 1)
			if status, body := f.do(http.MethodPost, "/subscriptions", map[string]any{"openid": openID, "template_ids": []string{testTemplate, "tmpl-b", "tmpl-c"}, "status": "reject"}); status != http.StatusNoContent {
				t.Fatalf("reject: %d %v", status, body)
			}
			// A delivered message, then the user turns the template off.
			if got := errcode(f.wxPost("/cgi-bin/message/subscribe/send", f.token(), map[string]any{"touser": openID, "template_id": testTemplate,
				"data": map[string]any{"thing1": map[string]string{"value": "进度更新"}, "time2": map[string]string{"value": "10:00"}}})); got != 0 {
				t.Fatalf("send: errcode %d", got)
			}
			if status, _ := f.do(http.MethodPost, "/subscriptions/off", map[string]string{"openid": openID, "template_id": testTemplate}); status != http.StatusNoContent {
				t.Fatalf("off: %d", status)
			}
			f.wc.FlushPushes()
			msgs := rc.got()
			if len(msgs) != 4 {
				t.Fatalf("%d pushes arrived, want 4: %v", len(msgs), msgs)
			}
			// Pushes are concurrent, as WeChat's: find them by content.
			find := func(parts ...string) string {
				for _, m := range msgs {
					ok := strings.Contains(m, openID)
					for _, p := range parts {
						ok = ok && strings.Contains(m, p)
					}
					if ok {
						return m
					}
				}
				t.Fatalf("no push with %v among %v", parts, msgs)
				return ""
			}
			accept := find(eventSubscribePopup, "accept")
			reject := find(eventSubscribePopup, "reject", "tmpl-b", "tmpl-c")
			find(eventSubscribeSent, "2000000001", "success")
			find(eventSubscribeChange, "reject", testTemplate)
			if mode.Format == "json" {
				if !strings.Contains(accept, `"List":{`) || !strings.Contains(reject, `"List":[{`) {
					t.Errorf("JSON List: an object for one item, an array for several: %s / %s", accept, reject)
				}
			} else if strings.Count(reject, "<List>") != 3 || !strings.Contains(reject, "<SubscribeMsgPopupEvent><List>") {
				t.Errorf("XML Lists wrapped: %s", reject)
			}
			// Turned off: no credit left.
			if got := errcode(f.wxPost("/cgi-bin/message/subscribe/send", f.token(), map[string]any{"touser": openID, "template_id": testTemplate,
				"data": map[string]any{"thing1": map[string]string{"value": "x"}, "time2": map[string]string{"value": "10:00"}}})); got != errUserRefused {
				t.Fatalf("send after turning off: errcode %d", got)
			}
			for _, p := range f.wc.Pushes(openID) {
				if p.Status != "delivered" || p.Attempts != 1 {
					t.Errorf("push record %+v", p)
				}
			}
		})
	}
}

func TestPushRetriesAndDuplicates(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	rc.fail = 2
	if err := f.wc.SetPush(testMiniApp, PushConfig{URL: rc.srv.URL, Token: testPushToken, Duplicates: 1}); err != nil {
		t.Fatal(err)
	}
	openID, _ := f.user(createUserRequest{})
	acceptTemplate(f, openID, testTemplate, 1)
	f.wc.FlushPushes()
	if got := rc.got(); len(got) != 2 || got[0] != got[1] {
		t.Fatalf("want the push delivered after two failures, then once more: %v", got)
	}
	p := f.wc.Pushes(openID)
	if len(p) != 1 || p[0].Status != "delivered" || p[0].Attempts != 4 {
		t.Fatalf("push records %+v", p)
	}

	// A server that never accepts: tried 1+3 times, then failed.
	rc.fail = 100
	acceptTemplate(f, openID, testTemplate, 1)
	f.wc.FlushPushes()
	if p := f.wc.Pushes(openID); p[1].Status != "failed" || p[1].Attempts != 1+pushRetries || !strings.HasPrefix(p[1].Answer, "500") {
		t.Fatalf("failing push %+v", p[1])
	}

	// No settings: recorded, not pushed.
	g := newFixture(t)
	other, _ := g.user(createUserRequest{})
	acceptTemplate(g, other, testTemplate, 1)
	g.wc.FlushPushes()
	if p := g.wc.Pushes(other); len(p) != 1 || p[0].Status != "not_configured" {
		t.Fatalf("unconfigured push %+v", p)
	}
	status, body := g.do(http.MethodGet, "/pushes?openid="+other, nil)
	if list, _ := body["pushes"].([]any); status != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET /pushes: %d %v", status, body)
	}
}
