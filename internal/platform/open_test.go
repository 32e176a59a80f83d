package platform

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestOpenStoresNeverQuotePasswords: OpenRedis and OpenMongo errors (a
// malformed URL, a store that does not answer) and their logs carry no
// password, and still say which store and where.
func TestOpenStoresNeverQuotePasswords(t *testing.T) {
	const pass = "S3cretPass"
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		if strings.Contains(err.Error(), pass) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v (want it to name %q and not the password)", what, err, want)
		}
	}
	for u, want := range map[string]string{
		"redis://default:" + pass + "@host:6379x/0":  "REDIS_URL",
		"redis://default:" + pass + "@127.0.0.1:1/0": "ping Redis at redis://default:***@127.0.0.1:1/0",
	} {
		r, err := OpenRedis(ctx, u, log)
		if r != nil {
			r.Close()
		}
		check(RedactURL(u), err, want)
	}
	for u, want := range map[string]string{
		"mongodb://admin:" + pass + "@h1:27017/db?connectTimeoutMS=abc":                                 "MONGODB_URI",
		"mongodb://admin:" + pass + "@127.0.0.1:1/db?serverSelectionTimeoutMS=300&connectTimeoutMS=300": "ping MongoDB at mongodb://admin:***@127.0.0.1:1/db",
	} {
		m, err := OpenMongo(ctx, u, "db", t.TempDir(), log)
		if m != nil {
			_ = m.Close(ctx)
		}
		check(RedactURL(u), err, want)
	}
	if strings.Contains(logs.String(), pass) {
		t.Fatalf("password logged: %s", logs.String())
	}
}
