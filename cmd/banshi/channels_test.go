package main

import (
	"net/url"
	"strings"
	"testing"

	"banshi/internal/platform/platformtest"
)

// TestDevicesAndSubscriptionsOverHTTP: through real sessions, a citizen
// registers a phone and records subscribe answers; every bad request
// answers 4xx and changes nothing, and one citizen cannot remove another's
// phone.
func TestDevicesAndSubscriptionsOverHTTP(t *testing.T) {
	s := getStack(t)
	a, _ := s.login(t, s.newPerson(t))
	b, _ := s.login(t, s.newPerson(t))
	phone := "chan-test-" + platformtest.RandomID()
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/devices", a, map[string]string{"platform": "ios", "token": phone}))
	devices := func(tok string) string {
		return string(s.must(t, 200, s.call(t, "GET", apiV1+"/me/devices", tok, nil)).Raw)
	}
	beforeA, beforeB := devices(a), devices(b)
	if !strings.Contains(beforeA, phone) || strings.Contains(beforeB, phone) {
		t.Fatalf("devices: %s / %s", beforeA, beforeB)
	}
	credits := func() int64 { return s.count(t, "subscribe_credits") }
	beforeCredits := credits()
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"unknown platform", "POST", "/me/devices", a, map[string]string{"platform": "harmony", "token": "x1"}, 400, "invalid_argument"},
		{"empty token", "POST", "/me/devices", a, map[string]string{"platform": "android", "token": ""}, 400, "invalid_argument"},
		{"over-long token", "POST", "/me/devices", a, map[string]string{"platform": "android", "token": strings.Repeat("t", 5000)}, 400, "invalid_argument"},
		{"token with spaces", "POST", "/me/devices", a, map[string]string{"platform": "android", "token": "a b"}, 400, "invalid_argument"},
		{"unknown field", "POST", "/me/devices", a, map[string]string{"platform": "android", "token": "x2", "imei": "1"}, 400, "invalid_argument"},
		{"anonymous", "POST", "/me/devices", "", map[string]string{"platform": "android", "token": "x3"}, 401, "unauthenticated"},
		{"another citizen's phone", "DELETE", "/me/devices/" + url.PathEscape(phone), b, nil, 404, "device_not_found"},
		{"unknown template", "POST", "/me/subscriptions", a, map[string]string{"NO-SUCH-TEMPLATE": "accept", "errMsg": "requestSubscribeMessage:ok"}, 400, "invalid_argument"},
		{"unknown result", "POST", "/me/subscriptions", a, map[string]string{"DEMO-APPLICATION-PROGRESS": "maybe", "errMsg": "requestSubscribeMessage:ok"}, 400, "invalid_argument"},
		{"failed call", "POST", "/me/subscriptions", a, map[string]string{"DEMO-APPLICATION-PROGRESS": "accept", "errMsg": "requestSubscribeMessage:fail"}, 400, "invalid_argument"},
		{"nothing", "POST", "/me/subscriptions", a, map[string]string{"errMsg": "requestSubscribeMessage:ok"}, 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(t, tc.method, apiV1+tc.path, tc.token, tc.body)
			if r.Status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, tc.status, tc.code)
			}
			if devices(a) != beforeA || devices(b) != beforeB || credits() != beforeCredits {
				t.Fatal("a refused request changed the devices or the credits")
			}
		})
	}
	// The owner removes it; the list is empty again.
	if r := s.call(t, "DELETE", apiV1+"/me/devices/"+url.PathEscape(phone), a, nil); r.Status != 204 {
		t.Fatalf("remove own phone: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(devices(a), phone) {
		t.Fatal("removed phone still listed")
	}
	// A good answer records a send.
	got := s.must(t, 200, s.call(t, "POST", apiV1+"/me/subscriptions", a,
		map[string]string{"DEMO-APPLICATION-PROGRESS": "accept", "errMsg": "requestSubscribeMessage:ok"}))
	if !strings.Contains(string(got.Raw), `"credits":1`) {
		t.Fatalf("recorded: %s", got.Raw)
	}
}
