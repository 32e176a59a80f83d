package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server with args in its own folder and returns
// its process; the test's end kills it.
func startRedis(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); log.Close() })
	return cmd
}

// waitFor polls cond every 100 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSentinelFailover runs a master, a replica and three Sentinels, opens
// Banshi's client through a redis-sentinel:// REDIS_URL, and SIGKILLs the
// master mid-run: commands fail at most for the failover's duration, then
// succeed against the promoted replica without any reconfiguration, and
// every write acknowledged by the replica before the kill (WAIT) is there.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	dir := t.TempDir()
	mport, rport := freePort(t), freePort(t)
	master := startRedis(t, filepath.Join(dir, "master"), "--bind", "127.0.0.1", "--port", strconv.Itoa(mport), "--save", "", "--appendonly", "no")
	startRedis(t, filepath.Join(dir, "replica"), "--bind", "127.0.0.1", "--port", strconv.Itoa(rport), "--save", "", "--appendonly", "no",
		"--replicaof", "127.0.0.1", strconv.Itoa(mport))
	var sentinels []string
	for i := range 3 {
		port := freePort(t)
		sdir := filepath.Join(dir, fmt.Sprintf("sentinel%d", i))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(sdir, "sentinel.conf")
		text := fmt.Sprintf("bind 127.0.0.1\nport %d\nsentinel monitor banshi 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds banshi 1000\nsentinel failover-timeout banshi 5000\nsentinel parallel-syncs banshi 1\n", port, mport)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		startRedis(t, sdir, conf, "--sentinel")
		sentinels = append(sentinels, "127.0.0.1:"+strconv.Itoa(port))
	}
	ctx := context.Background()
	// Every Sentinel knows the replica before the test relies on them.
	for _, s := range sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s})
		waitFor(t, 30*time.Second, "sentinel "+s+" to see the replica", func() bool {
			r, err := sc.Replicas(ctx, "banshi").Result()
			return err == nil && len(r) == 1 && !strings.Contains(fmt.Sprint(r), "disconnected")
		})
		sc.Close()
	}

	r, err := OpenRedis(ctx, "redis-sentinel://"+strings.Join(sentinels, ",")+"?master=banshi", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := r.Client
	const before = 50
	for i := range before {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The replica acknowledges them (WAIT blocks at most 500 ms a call: less
	// than the client's read deadline; the first sync may take longer).
	waitFor(t, 20*time.Second, "the replica to acknowledge the writes", func() bool {
		n, err := c.Do(ctx, "WAIT", 1, 500).Int()
		return err == nil && n == 1
	})

	if err := master.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var firstFailure, recovered time.Time
	for time.Since(killed) < 60*time.Second {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Set(cctx, "after", time.Now().UnixNano(), 0).Err()
		cancel()
		if err != nil {
			if firstFailure.IsZero() {
				firstFailure = time.Now()
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if !firstFailure.IsZero() {
			recovered = time.Now()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if recovered.IsZero() {
		t.Fatal("commands never succeeded again after the master was killed")
	}
	t.Logf("master killed: commands failed for %v, recovered %v after the kill", recovered.Sub(firstFailure).Round(time.Millisecond),
		recovered.Sub(killed).Round(time.Millisecond))
	if d := recovered.Sub(killed); d > 30*time.Second {
		t.Errorf("recovery took %v, more than the failover should (down-after 1 s, failover-timeout 5 s)", d)
	}
	for i := range before {
		v, err := c.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		if err != nil || v != i {
			t.Fatalf("k%d after failover: %d, %v (a replicated write was lost)", i, v, err)
		}
	}
	role, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 || role[0] != "master" {
		t.Fatalf("the client talks to %v (%v), want the promoted master", role, err)
	}
}
