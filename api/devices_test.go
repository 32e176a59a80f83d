package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/notify/fcm"
)

// deviceServer serves DeviceRoutes' handlers on Echo's router (so path
// parameters decode as in production), the citizen given by X-Test-User in
// place of a session, errors answered by answerFor.
func deviceServer(t *testing.T) (*echo.Echo, *fcm.Devices) {
	t.Helper()
	devs := fcm.NewDevices(platformtest.Mongo(t), platform.NewManualClock(time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC)))
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		a, _ := answerFor(err)
		_ = c.JSON(a.status, map[string]answer{"error": a})
	}
	g := e.Group("/api/v1", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxUserID, c.Request().Header.Get("X-Test-User"))
			return next(c)
		}
	})
	d := DeviceRoutes{Devices: devs}
	g.POST("/me/devices", d.register)
	g.GET("/me/devices", d.list)
	g.DELETE("/me/devices/:token", d.delete)
	return e, devs
}

func call(e *echo.Echo, user, method, path, body string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Test-User", user)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func listedTokens(t *testing.T, e *echo.Echo, user string) string {
	t.Helper()
	code, out := call(e, user, http.MethodGet, "/api/v1/me/devices", "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, out)
	}
	var toks []string
	for _, d := range out["devices"].([]any) {
		toks = append(toks, d.(map[string]any)["token"].(string))
	}
	return strings.Join(toks, ",")
}

func TestDeviceRoutes(t *testing.T) {
	e, _ := deviceServer(t)
	code, out := call(e, "u1", http.MethodPost, "/api/v1/me/devices", `{"platform":"android","token":"fGx3:APA91bHun4"}`)
	if code != 200 || out["token"] != "fGx3:APA91bHun4" || out["platform"] != "android" || !strings.HasSuffix(out["created_at"].(string), "+08:00") {
		t.Fatalf("register: %d %v", code, out)
	}
	if got := listedTokens(t, e, "u1"); got != "fGx3:APA91bHun4" {
		t.Fatalf("list %q", got)
	}
	// The token's ':' may come percent-encoded.
	if code, out := call(e, "u1", http.MethodDelete, "/api/v1/me/devices/fGx3%3AAPA91bHun4", ""); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if got := listedTokens(t, e, "u1"); got != "" {
		t.Fatalf("list after delete %q", got)
	}
}

// TestDeviceRoutesBadInput: each bad input answers its 4xx and changes
// nothing.
func TestDeviceRoutesBadInput(t *testing.T) {
	e, _ := deviceServer(t)
	for _, u := range []struct{ user, body string }{
		{"u1", `{"platform":"ios","token":"mine"}`},
		{"u2", `{"platform":"android","token":"theirs"}`},
	} {
		if code, out := call(e, u.user, http.MethodPost, "/api/v1/me/devices", u.body); code != 200 {
			t.Fatalf("setup: %d %v", code, out)
		}
	}
	long := strings.Repeat("a", fcm.MaxTokenLen+1)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unknown platform", "POST", "/api/v1/me/devices", `{"platform":"windows","token":"x"}`, 400, "invalid_argument", "platform"},
		{"no platform", "POST", "/api/v1/me/devices", `{"token":"x"}`, 400, "invalid_argument", "platform"},
		{"empty token", "POST", "/api/v1/me/devices", `{"platform":"android","token":""}`, 400, "invalid_argument", "token"},
		{"over-long token", "POST", "/api/v1/me/devices", `{"platform":"android","token":"` + long + `"}`, 400, "invalid_argument", "token"},
		{"malformed token", "POST", "/api/v1/me/devices", `{"platform":"android","token":"a b"}`, 400, "invalid_argument", "token"},
		{"token not a string", "POST", "/api/v1/me/devices", `{"platform":"android","token":7}`, 400, "invalid_argument", "token"},
		{"unknown field", "POST", "/api/v1/me/devices", `{"platform":"android","token":"x","user_id":"u2"}`, 400, "invalid_argument", "user_id"},
		{"not JSON", "POST", "/api/v1/me/devices", `{"platform":`, 400, "invalid_argument", "body"},
		{"another's token", "DELETE", "/api/v1/me/devices/theirs", "", 404, "device_not_found", ""},
		{"unknown token", "DELETE", "/api/v1/me/devices/nobody", "", 404, "device_not_found", ""},
		{"over-long token on delete", "DELETE", "/api/v1/me/devices/" + long, "", 400, "invalid_argument", "token"},
		{"malformed token on delete", "DELETE", "/api/v1/me/devices/a%20b", "", 400, "invalid_argument", "token"},
	}
	for _, tc := range cases {
		code, out := call(e, "u1", tc.method, tc.path, tc.body)
		errBody, _ := out["error"].(map[string]any)
		if code != tc.status || errBody["code"] != tc.code || (tc.field != "" && errBody["field"] != tc.field) {
			t.Errorf("%s: %d %v, want %d %s on %q", tc.name, code, out, tc.status, tc.code, tc.field)
		}
	}
	if got := listedTokens(t, e, "u1"); got != "mine" {
		t.Fatalf("u1 has %q", got)
	}
	if got := listedTokens(t, e, "u2"); got != "theirs" {
		t.Fatalf("u2 has %q", got)
	}
}
