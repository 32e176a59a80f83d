package platform

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != EnvDevelopment || c.Addr != ":8080" || c.DataDir != "./.banshi" || c.MongoDatabase != "banshi" ||
		!c.Sim || !c.SeedDemo || c.RateLogin != 30 || c.RateAPI != 600 || c.SessionIdle != 2*time.Hour ||
		c.PublicURL != "http://127.0.0.1:8080" || c.RedisPrefix != "banshi:" || c.MiniAppID != DemoMiniAppID {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfigRejectsBadValues(t *testing.T) {
	cases := map[string]map[string]string{
		"BANSHI_ENV":         {"BANSHI_ENV": "staging"},
		"BANSHI_RATE_LOGIN":  {"BANSHI_RATE_LOGIN": "many"},
		"BANSHI_RATE_API":    {"BANSHI_RATE_API": "-1"},
		"BANSHI_SESSION_MAX": {"BANSHI_SESSION_IDLE": "3h", "BANSHI_SESSION_MAX": "1h"},
		"BANSHI_SIM":         {"BANSHI_SIM": "maybe"},
		"BANSHI_PII_KEY":     {"BANSHI_PII_KEY": "abc"},
	}
	for name, m := range cases {
		if _, err := LoadConfig(env(m)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSecretsPrintMasked(t *testing.T) {
	c, _ := LoadConfig(env(map[string]string{"REDIS_URL": "redis://:hunter2@db:6379", "BANSHI_PII_KEY": strings.Repeat("ab", 32)}))
	for _, v := range c.Printable() {
		if s, ok := v.(string); ok && (strings.Contains(s, "hunter2") || strings.Contains(s, "abab")) {
			t.Fatalf("secret printed: %q", s)
		}
	}
}

func TestCheckProduction(t *testing.T) {
	c, _ := LoadConfig(env(map[string]string{"BANSHI_ENV": "production"}))
	err := c.CheckProduction()
	if err == nil {
		t.Fatal("production without settings accepted")
	}
	for _, n := range []string{"MONGODB_URI", "REDIS_URL", "BANSHI_WECHAT_API_BASE", "BANSHI_PII_KEY", "BANSHI_SESSION_SECRET", "BANSHI_CHECKIN_KEY", "BANSHI_WECHAT_MINI_SECRET"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("not named: %s", n)
		}
	}
	full := map[string]string{
		"BANSHI_ENV": "production", "MONGODB_URI": "mongodb://db", "REDIS_URL": "redis://r", "BANSHI_WECHAT_API_BASE": "https://api.weixin.qq.com",
		"BANSHI_WECHAT_MINI_APPID": "wx1", "BANSHI_WECHAT_MINI_SECRET": "s", "BANSHI_WECHAT_APP_APPID": "wx2", "BANSHI_WECHAT_APP_SECRET": "s",
		"BANSHI_PII_KEY": strings.Repeat("ab", 32), "BANSHI_SESSION_SECRET": "x", "BANSHI_CHECKIN_KEY": "y",
	}
	c, err = LoadConfig(env(full))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckProduction(); err != nil {
		t.Fatalf("complete production config refused: %v", err)
	}
	full["BANSHI_SIM"] = "true"
	c, _ = LoadConfig(env(full))
	if err := c.CheckProduction(); err == nil || !strings.Contains(err.Error(), "BANSHI_SIM") {
		t.Fatalf("simulators accepted in production: %v", err)
	}
}

// TestDevSecretsAgreeAcrossProcesses: several starts racing on one data
// folder end with the same secrets, and a restart keeps them.
func TestDevSecretsAgreeAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	keys := make([]Secret, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := LoadConfig(env(map[string]string{"BANSHI_DATA_DIR": dir}))
			if err := c.FillDevSecrets(); err != nil {
				t.Error(err)
				return
			}
			keys[i] = c.PIIKey
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k == "" || k != keys[0] {
			t.Fatalf("secrets differ: %v", keys)
		}
	}
	c, _ := LoadConfig(env(map[string]string{"BANSHI_DATA_DIR": dir}))
	_ = c.FillDevSecrets()
	if c.PIIKey != keys[0] {
		t.Fatal("restart changed the PII key")
	}
	if _, err := c.PIIKey.Key32(); err != nil {
		t.Fatal(err)
	}
}
