package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// TestExternalStoresWithoutEnvRefuseToStart: MONGODB_URI or REDIS_URL set and
// BANSHI_ENV unset would run development mode (simulators, demo accounts
// with a published password) against those stores: serve refuses before it
// creates or seeds anything, and says why.
func TestExternalStoresWithoutEnvRefuseToStart(t *testing.T) {
	for _, stores := range []map[string]string{
		{"MONGODB_URI": "mongodb://127.0.0.1:1/banshi?serverSelectionTimeoutMS=300"},
		{"REDIS_URL": "redis://127.0.0.1:1/0"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		env := map[string]string{"BANSHI_DATA_DIR": data, "BANSHI_ADDR": "127.0.0.1:0"}
		for k, v := range stores {
			env[k] = v
		}
		_, _, err := runCaptured(t, env)
		if err == nil || !strings.Contains(err.Error(), "BANSHI_ENV") || strings.Contains(err.Error(), "ping") {
			t.Errorf("%v: err = %v, want a refusal naming BANSHI_ENV before any store is reached", stores, err)
		}
		if _, serr := os.Stat(data); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%v: data folder created", stores)
		}
	}
}

// TestProductionRefusesDemoStaff: a production Banshi whose database holds
// the demo staff accounts (seeded by an accidental development start) warns
// at start-up and refuses their logins with the demo password.
func TestProductionRefusesDemoStaff(t *testing.T) {
	s := getStack(t) // the WeChat SDK's process-wide settings point at its simulator
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := platform.LoadConfig(getenv(map[string]string{
		"BANSHI_ENV": "production", "BANSHI_DATA_DIR": t.TempDir(),
		// production refuses embedded stores and demo seeding in serve
		// (CheckProduction); build is called directly to get a production
		// Banshi on a database that has the demo accounts.
		"BANSHI_SEED_DEMO": "true", "BANSHI_SIM": "false", "BANSHI_WECHAT_API_BASE": s.url + "/sim/wechat",
		"BANSHI_WECHAT_MINI_APPID": "wxprod0000mini", "BANSHI_WECHAT_MINI_SECRET": "s1", "BANSHI_WECHAT_APP_APPID": "wxprod00000app",
		"BANSHI_WECHAT_APP_SECRET": "s2", "BANSHI_PII_KEY": strings.Repeat("ab", 32), "BANSHI_SESSION_SECRET": strings.Repeat("cd", 32),
		"BANSHI_CHECKIN_KEY": strings.Repeat("ef", 32), "BANSHI_REDIS_PREFIX": testRedisPrefix + platformtest.RandomID() + ":",
		"BANSHI_TRUSTED_PROXIES": "127.0.0.1/32", "BANSHI_FCM": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	app, err := build(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cleanRedis(app.Redis.Client, cfg.RedisPrefix)
		app.Close()
	}()
	if !strings.Contains(logBuf.String(), "demo staff accounts") || !strings.Contains(logBuf.String(), staff.DemoAdmin) {
		t.Errorf("no start-up warning about the demo accounts in\n%s", logBuf.String())
	}
	srv := httptest.NewServer(app.HTTP.Handler())
	defer srv.Close()
	p := &stack{app: app, url: srv.URL, cfg: cfg}
	for _, u := range []string{staff.DemoAdmin, staff.DemoStaff} {
		a := p.call(t, "POST", "/api/v1/staff/login", "", map[string]string{"username": u, "password": staff.DemoPassword}, "X-Forwarded-For", nextClientIP())
		if a.Status != 401 || a.errCode() != "bad_credentials" {
			t.Errorf("production login of %s: %d %s", u, a.Status, a.Raw)
		}
	}
}
