package platform

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
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
		c.PublicURL != "http://127.0.0.1:8080" || c.RedisPrefix != "banshi:" || c.MiniAppID != DemoMiniAppID ||
		c.OutboxLease != 2*time.Minute || c.ShutdownDelay != 0 || c.BreakerFailures != 5 || c.BreakerOpen != 10*time.Second ||
		c.PayLease != 30*time.Second || c.PaySweepEvery != 2*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfigRejectsBadValues(t *testing.T) {
	cases := map[string]map[string]string{
		"BANSHI_ENV":               {"BANSHI_ENV": "staging"},
		"BANSHI_RATE_LOGIN":        {"BANSHI_RATE_LOGIN": "many"},
		"BANSHI_RATE_API":          {"BANSHI_RATE_API": "-1"},
		"BANSHI_SESSION_MAX":       {"BANSHI_SESSION_IDLE": "3h", "BANSHI_SESSION_MAX": "1h"},
		"BANSHI_SIM":               {"BANSHI_SIM": "maybe"},
		"BANSHI_PII_KEY":           {"BANSHI_PII_KEY": "abc"},
		"BANSHI_TRUSTED_PROXIES":   {"BANSHI_TRUSTED_PROXIES": "10.0.0.0/24, lb.internal"},
		"BANSHI_RATE_STAFF_LOGIN":  {"BANSHI_RATE_STAFF_LOGIN": "0"},
		"BANSHI_SHUTDOWN_DELAY":    {"BANSHI_SHUTDOWN_DELAY": "-1s"},
		"BANSHI_OUTBOX_LEASE":      {"BANSHI_OUTBOX_LEASE": "0"},
		"BANSHI_BREAKER_FAILURES":  {"BANSHI_BREAKER_FAILURES": "0"},
		"BANSHI_BREAKER_OPEN":      {"BANSHI_BREAKER_OPEN": "soon"},
		"BANSHI_OTEL_ENDPOINT":     {"BANSHI_OTEL_ENDPOINT": "collector:4318"},
		"BANSHI_OTEL_SAMPLE_RATIO": {"BANSHI_OTEL_SAMPLE_RATIO": "1.5"},
		"BANSHI_PAY_LEASE":         {"BANSHI_PAY_LEASE": "-5s"},
		"BANSHI_PAY_SWEEP_EVERY":   {"BANSHI_PAY_SWEEP_EVERY": "often"},
	}
	for name, m := range cases {
		if _, err := LoadConfig(env(m)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestPrintableListsEveryField: every field of Config is printed (setting
// any one of them changes the printed pairs), once each. Adding a field to
// Config without printing it fails here.
func TestPrintableListsEveryField(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	base := fmt.Sprint(Config{}.Printable()...)
	if n := len(Config{}.Printable()); n != 2*typ.NumField() {
		t.Errorf("Printable has %d pairs, Config %d fields", n/2, typ.NumField())
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		var c Config
		v := reflect.ValueOf(&c).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("redis://u:p@changed-" + f.Name + ":1/0")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(4242)
		case reflect.Float64:
			v.SetFloat(0.4242)
		default:
			t.Fatalf("field %s: kind %s not covered by this test", f.Name, v.Kind())
		}
		if fmt.Sprint(c.Printable()...) == base {
			t.Errorf("Config.%s is not printed", f.Name)
		}
	}
}

// TestPrintableHidesSecrets: no secret value and no URL password is ever in
// the printed pairs; set and unset secrets are told apart; store URLs keep
// their hosts, ports, database and options.
func TestPrintableHidesSecrets(t *testing.T) {
	m := map[string]string{
		"MONGODB_URI":               "mongodb://user:M0ngoPass@h1:27017,h2:27017/db?replicaSet=rs0&tlsCertificateKeyFilePassword=KfPassValue",
		"REDIS_URL":                 "redis://default:RedisPass@cache:6380/2",
		"BANSHI_PII_KEY":            strings.Repeat("ab", 32),
		"BANSHI_SESSION_SECRET":     "SessionSecretValue",
		"BANSHI_CHECKIN_KEY":        "CheckinKeyValue",
		"BANSHI_WECHAT_MINI_SECRET": "MiniSecretValue",
		"BANSHI_WECHAT_APP_SECRET":  "AppSecretValue",
		"BANSHI_WECHAT_API_BASE":    "https://proxy:ProxyPass@api.weixin.qq.com",
		"BANSHI_ENV":                EnvDevelopment,
	}
	c, err := LoadConfig(env(m))
	if err != nil {
		t.Fatal(err)
	}
	pairs := c.Printable()
	printed := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		printed[pairs[i].(string)] = fmt.Sprint(pairs[i+1])
	}
	all := fmt.Sprint(pairs...)
	for _, leak := range []string{"M0ngoPass", "KfPassValue", "RedisPass", "abab", "SessionSecretValue", "CheckinKeyValue", "MiniSecretValue", "AppSecretValue", "ProxyPass"} {
		if strings.Contains(all, leak) {
			t.Errorf("%s printed: %s", leak, all)
		}
	}
	want := map[string]string{
		"mongodb_uri":       "mongodb://user:***@h1:27017,h2:27017/db?replicaSet=rs0&tlsCertificateKeyFilePassword=***",
		"redis_url":         "redis://default:***@cache:6380/2",
		"pii_key":           "******",
		"session_secret":    "******",
		"wechat_app_secret": "******",
		"wechat_api_base":   "https://proxy:***@api.weixin.qq.com",
	}
	for k, v := range want {
		if printed[k] != v {
			t.Errorf("%s = %q, want %q", k, printed[k], v)
		}
	}
	c, _ = LoadConfig(env(nil))
	for i := 0; i+1 < len(c.Printable()); i += 2 {
		printed[c.Printable()[i].(string)] = fmt.Sprint(c.Printable()[i+1])
	}
	for k, v := range map[string]string{"pii_key": "(not set)", "mongodb_uri": "(embedded FerretDB)", "redis_url": "(embedded miniredis)"} {
		if printed[k] != v {
			t.Errorf("unset %s = %q, want %q", k, printed[k], v)
		}
	}
}

// TestSecretsNeverFormat: fmt and log/slog (text and JSON) show secrets and
// store URLs masked, even when handed the raw field.
func TestSecretsNeverFormat(t *testing.T) {
	s, u := Secret("TopSecret"), SecretURL("redis://:UrlPass@h:6379")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "s", s, "u", u)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "s", s, "u", u, "c", Config{PIIKey: s, RedisURL: u})
	fmt.Fprintf(&buf, "%v %s %q %#v %+v %v %#v", s, s, s, s, Config{PIIKey: s, RedisURL: u}, u, u)
	if out := buf.String(); strings.Contains(out, "TopSecret") || strings.Contains(out, "UrlPass") {
		t.Fatalf("secret formatted: %s", out)
	}
}

// TestLoadConfigRejectsBadStoreURLs: a malformed MONGODB_URI or REDIS_URL is
// a configuration error naming the variable, and no error quotes the
// password.
func TestLoadConfigRejectsBadStoreURLs(t *testing.T) {
	const pass = "S3cretPass"
	cases := []struct{ name, value string }{
		{"REDIS_URL", "redis://default:" + pass + "@host:6379x/0"},                                               // bad port, quoted by net/url
		{"REDIS_URL", "redis://default:" + pass + "@host:99999/0"},                                               // port out of range
		{"REDIS_URL", "http://default:" + pass + "@host:6379/0"},                                                 // bad scheme
		{"REDIS_URL", "redis://default:" + pass + "@host:6379/zero"},                                             // bad database
		{"REDIS_URL", "redis://default:" + pass + "@host/0?bogus=1"},                                             // unknown option
		{"REDIS_URL", "redis://default:" + pass + "#1@host:6379/0"},                                              // '#' in the password
		{"REDIS_URL", "redis://default:" + pass + "%zz@host:6379/0"},                                             // bad escape in the password
		{"MONGODB_URI", "mongodb://admin:" + pass + "@h1:27017,h2:27017/db?replicaSet=rs0&connectTimeoutMS=abc"}, // bad option
		{"MONGODB_URI", "mongodb://admin:" + pass + "@h1:27017x/db"},                                             // bad port
		{"MONGODB_URI", "postgres://admin:" + pass + "@h1:5432/db"},                                              // bad scheme
		{"MONGODB_URI", "mongodb://admin:" + pass + "@h1/db?w=0&journal=true"},
		{"MONGODB_URI", "mongodb://admin:" + pass + "/x@h1/db"}, // unescaped '/' in the password
		{"MONGODB_URI", "mongodb+srv://admin:" + pass + "@c1.example.net:27017/db"},
		{"MONGODB_URI", "mongodb+srv://admin:" + pass + "@c1.example.net/db?connectTimeoutMS=abc"},
	}
	for _, tc := range cases {
		_, err := LoadConfig(env(map[string]string{tc.name: tc.value, "BANSHI_ENV": EnvDevelopment}))
		if err == nil {
			t.Errorf("%s=%s accepted", tc.name, tc.value)
			continue
		}
		if !strings.Contains(err.Error(), tc.name) || strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), "S3cret") {
			t.Errorf("%s=%s: %v", tc.name, RedactURL(tc.value), err)
		}
	}
	for _, ok := range []map[string]string{
		{"REDIS_URL": "redis://default:" + pass + "@127.0.0.1:6379/0"},
		{"REDIS_URL": "rediss://:p%23ss@cache.example.net:6380/1?dial_timeout=3s"},
		{"REDIS_URL": "unix://:pw@/run/redis.sock?db=2"},
		{"MONGODB_URI": "mongodb://admin:" + pass + "@h1:27017,h2:27017/db?replicaSet=rs0"},
		{"MONGODB_URI": "mongodb+srv://admin:" + pass + "@cluster0.example.net/db?srvMaxHosts=2&w=majority"},
	} {
		ok["BANSHI_ENV"] = EnvDevelopment
		if _, err := LoadConfig(env(ok)); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}

// TestExternalStoresNeedAnExplicitEnv: with MONGODB_URI or REDIS_URL set and
// BANSHI_ENV unset, Banshi would run in development mode (simulators, demo
// accounts with a known password) against real stores: LoadConfig refuses,
// naming BANSHI_ENV. Saying BANSHI_ENV=development (a developer's local
// MongoDB) or production is accepted.
func TestExternalStoresNeedAnExplicitEnv(t *testing.T) {
	for _, m := range []map[string]string{
		{"MONGODB_URI": "mongodb://db.internal:27017/banshi"},
		{"REDIS_URL": "redis://cache.internal:6379/0"},
		{"MONGODB_URI": "mongodb://db.internal:27017/banshi", "REDIS_URL": "redis://cache.internal:6379/0", "BANSHI_ENV": " "},
	} {
		_, err := LoadConfig(env(m))
		if err == nil || !strings.Contains(err.Error(), "BANSHI_ENV") {
			t.Errorf("%v: err = %v, want a refusal naming BANSHI_ENV", m, err)
		}
	}
	for _, e := range []string{EnvDevelopment, EnvProduction} {
		c, err := LoadConfig(env(map[string]string{"BANSHI_ENV": e, "MONGODB_URI": "mongodb://localhost:27017", "REDIS_URL": "redis://localhost:6379/0"}))
		if err != nil || c.Env != e {
			t.Errorf("BANSHI_ENV=%s with external stores: %+v, %v", e, c.Env, err)
		}
	}
	if c, err := LoadConfig(env(nil)); err != nil || c.Env != EnvDevelopment {
		t.Errorf("no configuration at all: %v, %v", c.Env, err)
	}
}

// TestRegistryBase: development defaults to the simulator under the public
// URL; a given base loses its trailing slash; a base that is not an http(s)
// URL is refused, without quoting it.
func TestRegistryBase(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{"BANSHI_PUBLIC_URL": "http://dev.local:8080/"}))
	if err != nil || c.RegistryBase != "http://dev.local:8080/sim/registry" {
		t.Fatalf("development default %q, %v", c.RegistryBase, err)
	}
	c, err = LoadConfig(env(map[string]string{"BANSHI_REGISTRY_BASE": "https://registry.example/api/"}))
	if err != nil || c.RegistryBase != "https://registry.example/api" {
		t.Fatalf("given base %q, %v", c.RegistryBase, err)
	}
	for _, bad := range []string{"registry.example", "ftp://registry.example", "https://", "http://u:Secret@%zz"} {
		_, err := LoadConfig(env(map[string]string{"BANSHI_REGISTRY_BASE": bad}))
		if err == nil || !strings.Contains(err.Error(), "BANSHI_REGISTRY_BASE") || strings.Contains(err.Error(), "Secret") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	c, _ = LoadConfig(env(map[string]string{"BANSHI_REGISTRY_BASE": "https://u:RegPass@registry.example/api"}))
	if all := fmt.Sprint(c.Printable()...); strings.Contains(all, "RegPass") || !strings.Contains(all, "registry.example/api") {
		t.Fatalf("printed: %s", all)
	}
}

func TestCheckProduction(t *testing.T) {
	c, _ := LoadConfig(env(map[string]string{"BANSHI_ENV": "production"}))
	err := c.CheckProduction()
	if err == nil {
		t.Fatal("production without settings accepted")
	}
	for _, n := range []string{"MONGODB_URI", "REDIS_URL", "BANSHI_WECHAT_API_BASE", "BANSHI_PII_KEY", "BANSHI_SESSION_SECRET", "BANSHI_CHECKIN_KEY", "BANSHI_WECHAT_MINI_SECRET", "BANSHI_REGISTRY_BASE"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("not named: %s", n)
		}
	}
	full := map[string]string{
		"BANSHI_ENV": "production", "MONGODB_URI": "mongodb://db", "REDIS_URL": "redis://r", "BANSHI_WECHAT_API_BASE": "https://api.weixin.qq.com",
		"BANSHI_WECHAT_MINI_APPID": "wx1", "BANSHI_WECHAT_MINI_SECRET": "s", "BANSHI_WECHAT_APP_APPID": "wx2", "BANSHI_WECHAT_APP_SECRET": "s",
		"BANSHI_PII_KEY": strings.Repeat("ab", 32), "BANSHI_SESSION_SECRET": "x", "BANSHI_CHECKIN_KEY": "y",
		"BANSHI_FCM_CREDENTIALS": "/etc/banshi/fcm.json", "BANSHI_REGISTRY_BASE": "https://registry.example/api",
	}
	c, err = LoadConfig(env(full))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckProduction(); err != nil {
		t.Fatalf("complete production config refused: %v", err)
	}
	// FCM on (the default) needs its credential and a real endpoint; off, neither.
	delete(full, "BANSHI_FCM_CREDENTIALS")
	c, _ = LoadConfig(env(full))
	if err := c.CheckProduction(); err == nil || !strings.Contains(err.Error(), "BANSHI_FCM_CREDENTIALS") {
		t.Fatalf("FCM without its credential accepted: %v", err)
	}
	full["BANSHI_FCM"] = "false"
	c, _ = LoadConfig(env(full))
	if err := c.CheckProduction(); err != nil {
		t.Fatalf("production without FCM refused: %v", err)
	}
	full["BANSHI_FCM"], full["BANSHI_FCM_CREDENTIALS"], full["BANSHI_FCM_ENDPOINT"] = "true", "/etc/banshi/fcm.json", "http://sim:8080/sim/fcm/v1"
	c, _ = LoadConfig(env(full))
	if err := c.CheckProduction(); err == nil || !strings.Contains(err.Error(), "BANSHI_FCM_ENDPOINT") {
		t.Fatalf("a simulated FCM accepted in production: %v", err)
	}
	delete(full, "BANSHI_FCM_ENDPOINT")
	// The enterprise registry: required, and never the simulator.
	full["BANSHI_REGISTRY_BASE"] = "http://sim:8080/sim/registry"
	c, _ = LoadConfig(env(full))
	if err := c.CheckProduction(); err == nil || !strings.Contains(err.Error(), "BANSHI_REGISTRY_BASE names a simulator") {
		t.Fatalf("a simulated registry accepted in production: %v", err)
	}
	delete(full, "BANSHI_REGISTRY_BASE")
	c, _ = LoadConfig(env(full))
	if err := c.CheckProduction(); err == nil || !strings.Contains(err.Error(), "BANSHI_REGISTRY_BASE") || c.RegistryBase != "" {
		t.Fatalf("production without a registry: %q %v", c.RegistryBase, err)
	}
	full["BANSHI_REGISTRY_BASE"] = "https://registry.example/api"
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

// TestTrustedProxies: none by default; CIDRs and single addresses, IPv4 and
// IPv6, separated by commas or spaces.
func TestTrustedProxies(t *testing.T) {
	c, err := LoadConfig(env(nil))
	if err != nil || c.TrustedProxies != "" {
		t.Fatalf("default trusted proxies %q, %v", c.TrustedProxies, err)
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Fatalf("empty: %v %v", p, err)
	}
	p, err := ParseTrustedProxies("10.0.0.0/24, 192.168.1.7 fd00::/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/24", "192.168.1.7/32", "fd00::/8", "::1/128"}
	if len(p) != len(want) {
		t.Fatalf("parsed %v", p)
	}
	for i := range want {
		if p[i].String() != want[i] {
			t.Errorf("entry %d = %s, want %s", i, p[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "lb.internal", "10.0.0.0/24,10.0.0.300"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestEvalSettings: the 好差评 settings default to 7 natural days, 5 working
// days and 440100; a region that is not a 6-digit code and a non-positive
// number of days are refused.
func TestEvalSettings(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{}))
	if err != nil || c.EvalDefaultDays != 7 || c.EvalRectifyDays != 5 || c.EvalRegion != "440100" {
		t.Fatalf("defaults %d %d %q, %v", c.EvalDefaultDays, c.EvalRectifyDays, c.EvalRegion, err)
	}
	c, err = LoadConfig(env(map[string]string{"BANSHI_EVAL_DEFAULT_DAYS": "15", "BANSHI_EVAL_RECTIFY_DAYS": "15", "BANSHI_EVAL_REGION": "310000"}))
	if err != nil || c.EvalDefaultDays != 15 || c.EvalRectifyDays != 15 || c.EvalRegion != "310000" {
		t.Fatalf("given %d %d %q, %v", c.EvalDefaultDays, c.EvalRectifyDays, c.EvalRegion, err)
	}
	for k, v := range map[string]string{"BANSHI_EVAL_DEFAULT_DAYS": "0", "BANSHI_EVAL_RECTIFY_DAYS": "five", "BANSHI_EVAL_REGION": "44010"} {
		if _, err := LoadConfig(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v", k, v, err)
		}
	}
}

// TestShutdownDelay: 5 s by default in production, none in development,
// BANSHI_SHUTDOWN_DELAY overrides both ("0" included); anything but a
// duration from 0 to 10m is refused naming the setting.
func TestShutdownDelay(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want time.Duration
	}{
		{nil, 0},
		{map[string]string{"BANSHI_ENV": "production"}, 5 * time.Second},
		{map[string]string{"BANSHI_ENV": "production", "BANSHI_SHUTDOWN_DELAY": "0"}, 0},
		{map[string]string{"BANSHI_SHUTDOWN_DELAY": "1500ms"}, 1500 * time.Millisecond},
	} {
		c, err := LoadConfig(env(tc.env))
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if c.ShutdownDelay != tc.want {
			t.Errorf("%v: delay %s, want %s", tc.env, c.ShutdownDelay, tc.want)
		}
	}
	for _, bad := range []string{"soon", "-1s", "11m", "5"} {
		if _, err := LoadConfig(env(map[string]string{"BANSHI_SHUTDOWN_DELAY": bad})); err == nil || !strings.Contains(err.Error(), "BANSHI_SHUTDOWN_DELAY") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// TestBreakerSettings: BANSHI_BREAKER_FAILURES and BANSHI_BREAKER_OPEN
// override the defaults; anything out of range is refused naming the
// setting.
func TestBreakerSettings(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{"BANSHI_BREAKER_FAILURES": "3", "BANSHI_BREAKER_OPEN": "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BreakerFailures != 3 || c.BreakerOpen != 30*time.Second {
		t.Fatalf("failures %d open %s", c.BreakerFailures, c.BreakerOpen)
	}
	for name, bad := range map[string][]string{
		"BANSHI_BREAKER_FAILURES": {"0", "-2", "many", "1001", "2.5"},
		"BANSHI_BREAKER_OPEN":     {"0", "-1s", "500ms", "11m", "10"},
	} {
		for _, v := range bad {
			if _, err := LoadConfig(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: err = %v", name, v, err)
			}
		}
	}
}

// TestLoadConfigPayTimings: BANSHI_PAY_LEASE and BANSHI_PAY_SWEEP_EVERY are
// read as given; without the simulators the sweeper runs every 15 s.
func TestLoadConfigPayTimings(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{"BANSHI_SIM": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PayLease != 30*time.Second || c.PaySweepEvery != 15*time.Second {
		t.Fatalf("defaults without simulators: lease %s, sweep every %s", c.PayLease, c.PaySweepEvery)
	}
	c, err = LoadConfig(env(map[string]string{"BANSHI_PAY_LEASE": "2s", "BANSHI_PAY_SWEEP_EVERY": "500ms"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PayLease != 2*time.Second || c.PaySweepEvery != 500*time.Millisecond {
		t.Fatalf("set: lease %s, sweep every %s", c.PayLease, c.PaySweepEvery)
	}
}
