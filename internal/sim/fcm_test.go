package sim

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	fcm "github.com/appleboy/go-fcm"

	"banshi/internal/platform"
)

const testFCMProject = "banshi-test"

// fcmFixture is an FCM simulator on a manual clock (started at the real time:
// the SDK signs its JWTs with the system clock) served by httptest, and a
// service account it trusts.
type fcmFixture struct {
	t     *testing.T
	sim   *FCM
	clock *platform.ManualClock
	url   string
	key   []byte
}

// fcmKeys are minted once per test binary: RSA key generation is slow.
var fcmKeys = map[string][]byte{}

func fcmKey(t *testing.T, name, project, tokenURI string) []byte {
	t.Helper()
	k, ok := fcmKeys[name]
	if !ok {
		var err error
		if k, err = NewServiceAccount(project, "http://placeholder/sim/fcm/token"); err != nil {
			t.Fatal(err)
		}
		fcmKeys[name] = k
	}
	k, err := platform.WithTokenURI(k, tokenURI)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newFCMFixture(t *testing.T) *fcmFixture {
	t.Helper()
	clock := platform.NewManualClock(time.Now())
	s := NewFCM(FCMOptions{Clock: clock})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	key := fcmKey(t, "trusted", testFCMProject, FCMTokenURI(srv.URL+"/sim/fcm/v1"))
	if err := s.AddServiceAccount(key); err != nil {
		t.Fatal(err)
	}
	return &fcmFixture{t: t, sim: s, clock: clock, url: srv.URL, key: key}
}

// client is the real go-fcm client pointed at the simulator.
func (f *fcmFixture) client(project string, key []byte) *fcm.Client {
	f.t.Helper()
	c, err := fcm.NewClient(context.Background(), fcm.WithEndpoint(f.url+"/sim/fcm/v1"), fcm.WithProjectID(project), fcm.WithCredentialsJSON(key))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// send sends one message and returns its outcome.
func send(t *testing.T, c *fcm.Client, m *messaging.Message) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	br, err := c.Send(ctx, m)
	if err != nil {
		return "", err
	}
	r := br.Responses[0]
	return r.MessageID, r.Error
}

const testDeviceToken = "fGx3:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"

func TestFCMSendWithTheSDK(t *testing.T) {
	f := newFCMFixture(t)
	c := f.client(testFCMProject, f.key)
	id, err := send(t, c, &messaging.Message{Token: testDeviceToken, Data: map[string]string{"kind": "application_result", "application_no": "A1"},
		Notification: &messaging.Notification{Title: "办件结果", Body: "已办结"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "projects/"+testFCMProject+"/messages/") {
		t.Fatalf("name %q", id)
	}
	got := f.sim.Messages(testDeviceToken)
	if len(got) != 1 || got[0].Data["application_no"] != "A1" || got[0].Notification.Title != "办件结果" {
		t.Fatalf("received %+v", got)
	}
	if f.sim.Calls("token") != 1 {
		t.Fatalf("token exchanges %d", f.sim.Calls("token"))
	}
}

// TestFCMUnregisteredToken: a token unregistered through the control
// endpoint answers 404 UNREGISTERED, which the SDK recognises.
func TestFCMUnregisteredToken(t *testing.T) {
	f := newFCMFixture(t)
	c := f.client(testFCMProject, f.key)
	resp, err := http.Post(f.url+"/sim/fcm/tokens/"+testDeviceToken+"/unregister", "", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unregister: %v %v", resp, err)
	}
	_, err = send(t, c, &messaging.Message{Token: testDeviceToken, Data: map[string]string{"kind": "x"}})
	if !messaging.IsUnregistered(err) || !errorutils.IsNotFound(err) {
		t.Fatalf("got %v, want UNREGISTERED", err)
	}
	if len(f.sim.Messages(testDeviceToken)) != 0 {
		t.Fatal("an unregistered token received a message")
	}
}

// TestFCMRefusesAnUnknownKey: a service account the simulator was not told
// of (same email as a trusted one, another key) gets no access token, so
// nothing is sent.
func TestFCMRefusesAnUnknownKey(t *testing.T) {
	f := newFCMFixture(t)
	other := fcmKey(t, "untrusted", testFCMProject, FCMTokenURI(f.url+"/sim/fcm/v1"))
	c := f.client(testFCMProject, other)
	// The SDK retries a failed token fetch for seconds: the short deadline
	// ends that; the refusal itself is checked in TestFCMTokenEndpointRules.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	br, err := c.Send(ctx, &messaging.Message{Token: testDeviceToken})
	if err == nil && br.Responses[0].Error == nil {
		t.Fatal("sent with an unknown key")
	}
	if f.sim.Calls("token") == 0 || f.sim.Calls("send") != 0 || len(f.sim.Messages(testDeviceToken)) != 0 {
		t.Fatal("a message went out without a token")
	}
}

// TestFCMExpiredAccessToken: an access token past its hour answers 401
// UNAUTHENTICATED (the SDK keeps it until its own clock says it expired).
func TestFCMExpiredAccessToken(t *testing.T) {
	f := newFCMFixture(t)
	c := f.client(testFCMProject, f.key)
	if _, err := send(t, c, &messaging.Message{Token: testDeviceToken}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(61 * time.Minute)
	_, err := send(t, c, &messaging.Message{Token: testDeviceToken})
	if !errorutils.IsUnauthenticated(err) {
		t.Fatalf("got %v, want UNAUTHENTICATED", err)
	}
	if n := len(f.sim.Messages(testDeviceToken)); n != 1 {
		t.Fatalf("%d messages received, want 1", n)
	}
}

// TestFCMWrongProject: a token of one project does not send for another.
func TestFCMWrongProject(t *testing.T) {
	f := newFCMFixture(t)
	c := f.client("someone-else", f.key)
	_, err := send(t, c, &messaging.Message{Token: testDeviceToken})
	if !errorutils.IsPermissionDenied(err) {
		t.Fatalf("got %v, want PERMISSION_DENIED", err)
	}
}

// TestFCMFaults: injected faults answer FCM's codes, which the SDK
// recognises; a 503 with a long Retry-After is not retried by the SDK.
func TestFCMFaults(t *testing.T) {
	f := newFCMFixture(t)
	c := f.client(testFCMProject, f.key)
	if _, err := send(t, c, &messaging.Message{Token: testDeviceToken}); err != nil { // token fetched before the fault
		t.Fatal(err)
	}
	cases := []struct {
		status int
		is     func(error) bool
	}{
		{429, messaging.IsQuotaExceeded},
		{503, messaging.IsUnavailable},
		{500, messaging.IsInternal},
	}
	for _, tc := range cases {
		f.sim.SetFault(tc.status, 300*time.Second)
		_, err := send(t, c, &messaging.Message{Token: testDeviceToken})
		if !tc.is(err) {
			t.Errorf("fault %d: got %v", tc.status, err)
		}
		if r := errorutils.HTTPResponse(err); r == nil || r.Header.Get("Retry-After") != "300" {
			t.Errorf("fault %d: no Retry-After", tc.status)
		}
	}
	f.sim.SetFault(0, 0)
	if _, err := send(t, c, &messaging.Message{Token: testDeviceToken}); err != nil {
		t.Fatal(err)
	}
}

// signJWT signs claims with the key of a service-account key file.
func signJWT(t *testing.T, jsonKey []byte, header, claims map[string]any) string {
	t.Helper()
	_, key, err := platform.ParseServiceAccount(jsonKey)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestFCMTokenEndpointRules: the JWT-bearer grant refuses what Google
// refuses, with Google's OAuth error codes, and issues nothing then.
func TestFCMTokenEndpointRules(t *testing.T) {
	f := newFCMFixture(t)
	sa, _, _ := platform.ParseServiceAccount(f.key)
	tokenURI := f.url + "/sim/fcm/token"
	now := time.Now().Unix()
	good := func() map[string]any {
		return map[string]any{"iss": sa.ClientEmail, "scope": scopeMessaging, "aud": tokenURI, "iat": now, "exp": now + 3600}
	}
	hdr := map[string]any{"alg": "RS256", "typ": "JWT", "kid": sa.PrivateKeyID}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	untrusted := fcmKey(t, "untrusted", testFCMProject, tokenURI)
	tampered := signJWT(t, f.key, hdr, good())
	tampered = tampered[:len(tampered)-4] + "AAAA"
	cases := []struct {
		name, grant, assertion string
		want                   string
	}{
		{"good", jwtBearerGrant, signJWT(t, f.key, hdr, good()), ""},
		{"cloud-platform scope", jwtBearerGrant, signJWT(t, f.key, hdr, with("scope", scopeCloud+" openid")), ""},
		{"wrong grant", "client_credentials", signJWT(t, f.key, hdr, good()), "unsupported_grant_type"},
		{"no assertion", jwtBearerGrant, "", "invalid_request"},
		{"not a JWT", jwtBearerGrant, "abc.def", "invalid_grant"},
		{"other key", jwtBearerGrant, signJWT(t, untrusted, hdr, good()), "invalid_grant"},
		{"tampered signature", jwtBearerGrant, tampered, "invalid_grant"},
		{"other kid", jwtBearerGrant, signJWT(t, f.key, map[string]any{"alg": "RS256", "kid": "nope"}, good()), "invalid_grant"},
		{"alg none", jwtBearerGrant, signJWT(t, f.key, map[string]any{"alg": "none"}, good()), "invalid_grant"},
		{"unknown issuer", jwtBearerGrant, signJWT(t, f.key, hdr, with("iss", "x@y.iam.gserviceaccount.com")), "invalid_grant"},
		{"wrong audience", jwtBearerGrant, signJWT(t, f.key, hdr, with("aud", "https://oauth2.googleapis.com/token")), "invalid_grant"},
		{"no scope", jwtBearerGrant, signJWT(t, f.key, hdr, with("scope", nil)), "invalid_scope"},
		{"other scope", jwtBearerGrant, signJWT(t, f.key, hdr, with("scope", "https://www.googleapis.com/auth/datastore")), "invalid_scope"},
		{"expired", jwtBearerGrant, signJWT(t, f.key, hdr, with("exp", now-1)), "invalid_grant"},
		{"too long-lived", jwtBearerGrant, signJWT(t, f.key, hdr, with("exp", now+3601)), "invalid_grant"},
		{"issued in the future", jwtBearerGrant, signJWT(t, f.key, hdr, map[string]any{"iss": sa.ClientEmail, "scope": scopeMessaging, "aud": tokenURI, "iat": now + 600, "exp": now + 1200}), "invalid_grant"},
		{"exp as string", jwtBearerGrant, signJWT(t, f.key, hdr, with("exp", "soon")), "invalid_grant"},
	}
	issued := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {tc.grant}}
			if tc.assertion != "" {
				form.Set("assertion", tc.assertion)
			}
			resp, err := http.PostForm(tokenURI, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var body map[string]any
			_ = json.Unmarshal(b, &body)
			if tc.want == "" {
				if resp.StatusCode != 200 || body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["access_token"] == "" {
					t.Fatalf("%d %s", resp.StatusCode, b)
				}
				issued++
				return
			}
			if resp.StatusCode != 400 || body["error"] != tc.want || body["error_description"] == "" {
				t.Fatalf("%d %s, want 400 %s", resp.StatusCode, b, tc.want)
			}
		})
	}
	f.sim.mu.Lock()
	n := len(f.sim.tokens)
	f.sim.mu.Unlock()
	if n != issued {
		t.Fatalf("%d access tokens issued, want %d", n, issued)
	}
}

// accessToken obtains an access token from the simulator by hand.
func (f *fcmFixture) accessToken() string {
	f.t.Helper()
	sa, _, _ := platform.ParseServiceAccount(f.key)
	now := time.Now().Unix()
	jwt := signJWT(f.t, f.key, map[string]any{"alg": "RS256", "kid": sa.PrivateKeyID},
		map[string]any{"iss": sa.ClientEmail, "scope": scopeMessaging, "aud": f.url + "/sim/fcm/token", "iat": now, "exp": now + 3600})
	resp, err := http.PostForm(f.url+"/sim/fcm/token", url.Values{"grant_type": {jwtBearerGrant}, "assertion": {jwt}})
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		f.t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// TestFCMSendRules: bodies FCM refuses answer 400 INVALID_ARGUMENT with the
// FcmError detail (401 without a valid bearer), and nothing is received.
func TestFCMSendRules(t *testing.T) {
	f := newFCMFixture(t)
	bearer := f.accessToken()
	big := strings.Repeat("字", 1400)
	cases := []struct {
		name, auth, body string
		status           int
	}{
		{"ok", bearer, `{"message":{"token":"tok1","data":{"kind":"k"}}}`, 200},
		{"validate only", bearer, `{"validate_only":true,"message":{"token":"tok1"}}`, 200},
		{"no bearer", "", `{"message":{"token":"tok1"}}`, 401},
		{"forged bearer", "ya29.c.forged", `{"message":{"token":"tok1"}}`, 401},
		{"not JSON", bearer, `{"message":`, 400},
		{"no message", bearer, `{}`, 400},
		{"unknown field", bearer, `{"message":{"token":"tok1","priority":"high"}}`, 400},
		{"no target", bearer, `{"message":{"data":{"a":"b"}}}`, 400},
		{"two targets", bearer, `{"message":{"token":"tok1","topic":"news"}}`, 400},
		{"bad token", bearer, `{"message":{"token":"tok 1"}}`, 400},
		{"bad topic", bearer, `{"message":{"topic":"news!"}}`, 400},
		{"number in data", bearer, `{"message":{"token":"tok1","data":{"n":1}}}`, 400},
		{"null in data", bearer, `{"message":{"token":"tok1","data":{"n":null}}}`, 400},
		{"reserved from", bearer, `{"message":{"token":"tok1","data":{"from":"x"}}}`, 400},
		{"reserved google.", bearer, `{"message":{"token":"tok1","data":{"google.c.a":"x"}}}`, 400},
		{"reserved gcm", bearer, `{"message":{"token":"tok1","data":{"gcm.n.e":"1"}}}`, 400},
		{"too big", bearer, `{"message":{"token":"tok1","notification":{"title":"t","body":"` + big + `"}}}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.url+"/sim/fcm/v1/projects/"+testFCMProject+"/messages:send", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error googleErrorBody `json:"error"`
			}
			b, _ := io.ReadAll(resp.Body)
			_ = json.Unmarshal(b, &body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.status)
			}
			if tc.status == 400 && (body.Error.Status != "INVALID_ARGUMENT" || len(body.Error.Details) != 1 || body.Error.Details[0]["errorCode"] != "INVALID_ARGUMENT") {
				t.Fatalf("body %s", b)
			}
			if tc.status == 401 && body.Error.Status != "UNAUTHENTICATED" {
				t.Fatalf("body %s", b)
			}
		})
	}
	if n := len(f.sim.Messages("tok1")); n != 1 {
		t.Fatalf("tok1 received %d messages, want 1 (validate_only and refusals deliver nothing)", n)
	}
}

// TestFCMControlErrors: control calls with bad input answer 400.
func TestFCMControlErrors(t *testing.T) {
	f := newFCMFixture(t)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/sim/fcm/messages", ""},
		{"POST", "/sim/fcm/fault", `{"status":200}`},
		{"POST", "/sim/fcm/fault", `{"status":"x"}`},
		{"POST", "/sim/fcm/tokens/a%20b/unregister", ""},
	} {
		req, _ := http.NewRequest(tc.method, f.url+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s %s %s: %d, want 400", tc.method, tc.path, tc.body, resp.StatusCode)
		}
	}
	if f.sim.fault.Load() != 0 {
		t.Fatal("a refused fault was set")
	}
}
