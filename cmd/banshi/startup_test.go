package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

const testPassword = "S3cretPass"

// TestMalformedStoreURLsNeverLeakThePassword: a malformed MONGODB_URI or
// REDIS_URL stops serve with a configuration error naming the variable,
// before anything is created, and the password is in no error text, no log
// line (including the one main writes for the error) and no output.
func TestMalformedStoreURLsNeverLeakThePassword(t *testing.T) {
	cases := []struct{ name, value string }{
		{"REDIS_URL", "redis://default:" + testPassword + "@host:6379x/0"},
		{"REDIS_URL", "redis://default:" + testPassword + "@host:99999/0"},
		{"REDIS_URL", "http://default:" + testPassword + "@host:6379/0"},
		{"REDIS_URL", "redis://default:" + testPassword + "#x@host:6379/0"},
		{"MONGODB_URI", "mongodb://admin:" + testPassword + "@h1:27017,h2:27017/db?replicaSet=rs0&connectTimeoutMS=abc"},
		{"MONGODB_URI", "mongodb://admin:" + testPassword + "@h1:27017x/db"},
		{"MONGODB_URI", "mysql://admin:" + testPassword + "@h1:3306/db"},
	}
	for _, tc := range cases {
		data := filepath.Join(t.TempDir(), "data")
		env := map[string]string{tc.name: tc.value, "BANSHI_DATA_DIR": data, "BANSHI_ADDR": "127.0.0.1:0"}
		logs, out, err := runCaptured(t, env)
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%s: err = %v, want a configuration error naming %s", tc.name, platform.RedactURL(tc.value), err, tc.name)
		}
		noPassword(t, tc.name+"="+platform.RedactURL(tc.value), err, logs, out)
		if _, serr := os.Stat(data); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s=%s: data folder created", tc.name, platform.RedactURL(tc.value))
		}
	}
}

// TestStartupPrintsEverySettingMasked: serve logs every setting at start-up
// (secrets masked, store URLs without credentials), and a store that does
// not answer fails start-up without the password in the error or the logs.
func TestStartupPrintsEverySettingMasked(t *testing.T) {
	secrets := map[string]string{
		"BANSHI_PII_KEY":            strings.Repeat("5e", 32),
		"BANSHI_PII_KEYS":           "k2:" + strings.Repeat("6f", 32),
		"BANSHI_SESSION_SECRET":     "SessionSecretValue",
		"BANSHI_CHECKIN_KEY":        strings.Repeat("c4", 32),
		"BANSHI_WECHAT_MINI_SECRET": "MiniSecretValue",
		"BANSHI_WECHAT_APP_SECRET":  "AppSecretValue",
	}
	// serve makes the WeChat SDK's process-wide settings before build: point
	// them where the shared stack's already point.
	s := getStack(t)
	env := map[string]string{
		"BANSHI_ENV": "development", "BANSHI_DATA_DIR": t.TempDir(), "BANSHI_ADDR": "127.0.0.1:0",
		"BANSHI_SIM": "false", "BANSHI_WECHAT_API_BASE": s.url + "/sim/wechat",
		// Nothing listens on port 1: build fails at the MongoDB ping.
		"MONGODB_URI": "mongodb://admin:" + testPassword + "@127.0.0.1:1/banshi?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
		"REDIS_URL":   "redis://default:" + testPassword + "@127.0.0.1:1/0",
	}
	for k, v := range secrets {
		env[k] = v
	}
	logs, out, err := runCaptured(t, env)
	if err == nil || !strings.Contains(err.Error(), "ping MongoDB at mongodb://admin:***@127.0.0.1:1/banshi") {
		t.Fatalf("err = %v, want the failed ping with the redacted URI", err)
	}
	noPassword(t, "unreachable MongoDB", err, logs, out)
	for k, v := range secrets {
		if strings.Contains(logs, v) || strings.Contains(out, v) {
			t.Errorf("%s printed", k)
		}
	}

	var start map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "starting banshi" {
			start = m
		}
	}
	if start == nil {
		t.Fatalf("no start-up line in\n%s", logs)
	}
	cfg, cerr := platform.LoadConfig(getenv(env))
	if cerr != nil {
		t.Fatal(cerr)
	}
	pairs := cfg.Printable()
	for i := 0; i < len(pairs); i += 2 {
		if _, ok := start[pairs[i].(string)]; !ok {
			t.Errorf("setting %s not printed at start-up", pairs[i])
		}
	}
	for k, want := range map[string]string{
		"mongodb_uri":    "mongodb://admin:***@127.0.0.1:1/banshi?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
		"redis_url":      "redis://default:***@127.0.0.1:1/0",
		"pii_key":        "******",
		"session_secret": "******",
	} {
		if start[k] != want {
			t.Errorf("start-up %s = %v, want %q", k, start[k], want)
		}
	}
}

// runCaptured runs serve with env, logging as main does (JSON, and main's
// line for a failure) into a buffer. It returns the log, the output and the
// error.
func runCaptured(t *testing.T, env map[string]string) (logs, out string, err error) {
	t.Helper()
	var logBuf, outBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, []string{"serve"}, getenv(env), &outBuf, log)
	if err != nil {
		log.Error("banshi stopped", "err", err.Error())
	}
	return logBuf.String(), outBuf.String(), err
}

func noPassword(t *testing.T, what string, err error, logs, out string) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testPassword) {
		t.Errorf("%s: password in the error: %v", what, err)
	}
	if strings.Contains(logs, testPassword) {
		t.Errorf("%s: password in the log:\n%s", what, logs)
	}
	if strings.Contains(out, testPassword) {
		t.Errorf("%s: password in the output:\n%s", what, out)
	}
}
