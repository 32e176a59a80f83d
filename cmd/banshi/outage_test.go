package main

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// outageStack is a Banshi of its own whose MongoDB (a private embedded
// FerretDB) and Redis (a private miniredis) are reached through proxies the
// test controls, so the stores can be paused or killed without touching the
// shared stack.
type outageStack struct {
	*stack
	mini   *miniredis.Miniredis
	rproxy *platformtest.Proxy
	mproxy *platformtest.Proxy
}

func newOutageStack(t *testing.T) *outageStack {
	t.Helper()
	shared := getStack(t) // the WeChat SDK's process-wide settings point at its simulator
	mini, _ := platformtest.MiniRedis(t)
	o := &outageStack{mini: mini, rproxy: platformtest.NewProxy(t, mini.Addr()), mproxy: platformtest.NewProxy(t, platformtest.FerretDB(t))}
	env := testEnv(t.TempDir(), shared.url)
	env["MONGODB_URI"] = "mongodb://" + o.mproxy.Addr() + "/"
	env["MONGODB_DATABASE"] = "outage"
	env["REDIS_URL"] = "redis://" + o.rproxy.Addr() + "/0"
	env["BANSHI_SIM"] = "false"
	env["BANSHI_WECHAT_API_BASE"] = shared.url + "/sim/wechat"
	app, cfg := buildApp(t, env, false)
	srv := httptest.NewServer(app.HTTP.Handler())
	t.Cleanup(func() {
		srv.Close()
		o.rproxy.Resume()
		o.mproxy.Resume()
		app.Close()
	})
	o.stack = &stack{app: app, srv: srv, url: srv.URL, cfg: cfg}
	return o
}

// unavailable sends a request and checks it is answered 503
// store_unavailable with Retry-After within two seconds.
func (o *outageStack) unavailable(t *testing.T, what, method, path, token string, body any) {
	t.Helper()
	start := time.Now()
	a := o.call(t, method, path, token, body, "X-Forwarded-For", nextClientIP())
	took := time.Since(start)
	if a.Status != 503 || a.errCode() != "store_unavailable" || a.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %d %s (Retry-After %q), want 503 store_unavailable with Retry-After", what, a.Status, a.Raw, a.Header.Get("Retry-After"))
	}
	if took > 2*time.Second {
		t.Errorf("%s answered after %s, want within about a second", what, took)
	}
}

// eventually retries a request until it answers want (the store is back).
func (o *outageStack) eventually(t *testing.T, what string, want int, method, path, token string, body any) answer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := o.call(t, method, path, token, body, "X-Forwarded-For", nextClientIP())
		if a.Status == want {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d %s after the store came back", what, a.Status, a.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var staffCreds = map[string]string{"username": staff.DemoStaff, "password": staff.DemoPassword}

// TestRedisOutage: with Redis killed or paused, the routes that need it
// answer 503 store_unavailable with Retry-After within about a second
// (not 500 internal, not a hang), logins fail closed, and everything works
// again when Redis is back.
func TestRedisOutage(t *testing.T) {
	o := newOutageStack(t)
	citizenRoutes := func(state string) {
		t.Helper()
		o.unavailable(t, "GET /me, Redis "+state, "GET", "/api/v1/me", "some-token", nil)
		o.unavailable(t, "cancel, Redis "+state, "POST", "/api/v1/appointments/ap-none/cancel", "some-token", nil)
		o.unavailable(t, "citizen login, Redis "+state, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": "any"})
		o.unavailable(t, "staff login, Redis "+state, "POST", "/api/v1/staff/login", "", staffCreds)
	}
	o.mini.Close()
	citizenRoutes("killed")
	if err := o.mini.Restart(); err != nil {
		t.Fatal(err)
	}
	o.eventually(t, "GET /me after Redis came back", 401, "GET", "/api/v1/me", "some-token", nil)
	o.eventually(t, "staff login after Redis came back", 200, "POST", "/api/v1/staff/login", "", staffCreds)

	o.rproxy.Pause()
	citizenRoutes("paused")
	start := time.Now()
	a := o.call(t, "GET", "/api/v1/halls/"+"hall-tianhe"+"/availability?service_id="+thGAJ, "", nil)
	if took := time.Since(start); took > 2*time.Second || a.Status == 500 {
		t.Errorf("availability with Redis paused: %d after %s", a.Status, took)
	}
	o.rproxy.Resume()
	o.eventually(t, "GET /me after the pause", 401, "GET", "/api/v1/me", "some-token", nil)
}

// TestMongoOutage: with MongoDB stalled (answering nothing) or gone, staff
// routes answer 503 store_unavailable with Retry-After within about a
// second, and work again when it is back.
func TestMongoOutage(t *testing.T) {
	o := newOutageStack(t)
	token := o.must(t, 200, o.call(t, "POST", "/api/v1/staff/login", "", staffCreds, "X-Forwarded-For", nextClientIP())).str("token")
	list := "/api/v1/staff/halls/hall-tianhe/appointments?date=" + todayShanghai()
	o.must(t, 200, o.call(t, "GET", list, token, nil))

	o.mproxy.Pause()
	o.unavailable(t, "staff login, MongoDB paused", "POST", "/api/v1/staff/login", "", staffCreds)
	o.unavailable(t, "staff list, MongoDB paused", "GET", list, token, nil)
	o.mproxy.Resume()
	o.eventually(t, "staff list after the pause", 200, "GET", list, token, nil)

	o.mproxy.Kill()
	o.unavailable(t, "staff list, MongoDB gone", "GET", list, token, nil)
	o.mproxy.Resume()
	o.eventually(t, "staff list after MongoDB came back", 200, "GET", list, token, nil)
	o.eventually(t, "staff login after MongoDB came back", 200, "POST", "/api/v1/staff/login", "", staffCreds)
}
