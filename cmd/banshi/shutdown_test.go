package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown: cancelling serve's context (what SIGTERM does) lets
// an in-flight request finish with its real answer, then serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	s := getStack(t) // its simulator plays WeChat for this second process too
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := testEnv(t.TempDir(), "http://"+addr)
	env["BANSHI_ADDR"] = addr
	env["BANSHI_SIM"] = "false"
	env["BANSHI_WECHAT_API_BASE"] = s.url + "/sim/wechat"
	env["BANSHI_WECHAT_MINI_APPID"] = s.cfg.MiniAppID
	env["BANSHI_WECHAT_MINI_SECRET"] = string(s.cfg.MiniAppSecret)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv(env), io.Discard, testLog()) }()
	base := "http://" + addr
	up := false
	for range 200 {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			up = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !up {
		cancel()
		t.Fatalf("serve did not come up: %v", <-done)
	}

	// An in-flight login whose WeChat call hangs until Banshi's timeout.
	p := s.newPerson(t)
	code := s.code(t, p, "miniprogram")
	s.app.WeChatSim.SetDown(-1)
	defer s.app.WeChatSim.SetDown(0)
	type result struct {
		status int
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+"/api/v1/auth/miniprogram/login", "application/json", bytes.NewBufferString(`{"code":"`+code+`"}`))
		if err != nil {
			inflight <- result{err: err}
			return
		}
		resp.Body.Close()
		inflight <- result{status: resp.StatusCode}
	}()
	time.Sleep(300 * time.Millisecond) // the request is being served
	cancel()
	r := <-inflight
	if r.err != nil || r.status != http.StatusServiceUnavailable {
		t.Fatalf("in-flight request: %d %v (want its 503, not a dropped connection)", r.status, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
	_ = os.Remove(env["BANSHI_DATA_DIR"])
	cleanRedis(s.app.Redis.Client, env["BANSHI_REDIS_PREFIX"]) // the second process's keys, when Redis is shared
}

// TestWorkerDoesNotWaitTheShutdownDelay: BANSHI_SHUTDOWN_DELAY holds only
// the API (whose readiness a proxy watches); a `banshi worker` given a
// 10-minute delay still stops at once on SIGTERM, exiting 0.
func TestWorkerDoesNotWaitTheShutdownDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	addr := freeAddr(t)
	p := startProcess(t, t.TempDir(), map[string]string{"BANSHI_ADDR": addr, "BANSHI_SHUTDOWN_DELAY": "10m"}, "worker")
	waitUp(t, p, "http://"+addr+"/readyz")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for startProcess's cleanup
		if err != nil {
			t.Fatalf("worker exited with %v, want 0", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the worker waited the API's shutdown delay")
	}
}
