package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestRunStartsBanshiWithTheLoadConfig: Run refuses bad options before
// starting anything, and hands the Starter a development configuration on
// a throw-away folder with the asked Redis, a run-unique key prefix and
// rate limits that never refuse; a start-up failure is Run's error.
func TestRunStartsBanshiWithTheLoadConfig(t *testing.T) {
	ctx := context.Background()
	var got []platform.Config
	failing := func(_ context.Context, cfg platform.Config, _ *slog.Logger) (*Stack, error) {
		got = append(got, cfg)
		return nil, errors.New("no Banshi here")
	}
	bad := DefaultOptions()
	bad.Rounds = 0
	if err := Run(ctx, bad, failing, &bytes.Buffer{}, platformtest.Logger()); err == nil || len(got) != 0 {
		t.Fatalf("bad options: %v, started %d times", err, len(got))
	}
	o := DefaultOptions()
	o.RedisURL = "redis://127.0.0.1:6379/3"
	if err := Run(ctx, o, failing, &bytes.Buffer{}, platformtest.Logger()); err == nil || err.Error() != "no Banshi here" {
		t.Fatalf("start-up failure: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("started %d times", len(got))
	}
	c := got[0]
	if c.Production() || string(c.RedisURL) != o.RedisURL || c.RateAPI < 1e9 || c.RateLogin < 1e9 ||
		c.RedisPrefix == "banshi:" || c.DataDir == "./.banshi" || c.PIIKey == "" || !c.Sim || !c.SeedDemo {
		t.Fatalf("config %+v", c)
	}
}

// TestDeleteKeysKeepsOthers: the run's keys (its prefix, and redis_rate's
// "rate:" copy of it) go; nothing else does. With BANSHI_TEST_REDIS_URL of
// a Redis Cluster (.ci/redis-cluster) the keys lie on every master.
func TestDeleteKeysKeepsOthers(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	run := prefix + "run:"
	keys := []string{run + "a", run + "sess:b", "rate:" + run + "c", prefix + "other"}
	for i := range 30 { // spread over the hash slots, so over a cluster's masters
		keys = append(keys, fmt.Sprintf("%sk%d", run, i))
	}
	for _, k := range keys {
		if err := rdb.Set(ctx, k, "x", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deleteKeys(rdb, run)
	for _, k := range keys {
		want := int64(0)
		if k == prefix+"other" {
			want = 1
		}
		if n := rdb.Exists(ctx, k).Val(); n != want {
			t.Errorf("%s exists %d, want %d", k, n, want)
		}
	}
}
