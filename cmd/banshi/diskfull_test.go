package main

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFullDataDisk: with the embedded MongoDB's disk full, /readyz answers
// 503 naming MongoDB read_only (it answered 200 while every write failed),
// and the staff day list — citizens' names — is refused rather than served
// without its audit record. Both recover when space is freed. The disk is a
// small tmpfs: the test is skipped where it may not mount one.
func TestFullDataDisk(t *testing.T) {
	shared := getStack(t) // the WeChat SDK's process-wide settings point at its simulator
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=48m"); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): the full-disk path is covered by api's tests with a failing store", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(disk, syscall.MNT_DETACH) })
	env := testEnv(filepath.Join(disk, "data"), shared.url)
	env["BANSHI_SIM"] = "false"
	env["BANSHI_WECHAT_API_BASE"] = shared.url + "/sim/wechat"
	app, cfg := buildApp(t, env, false)
	srv := httptest.NewServer(app.HTTP.Handler())
	t.Cleanup(func() {
		srv.Close()
		cleanRedis(app.Redis.Client, cfg.RedisPrefix)
		app.Close()
	})
	s := &stack{app: app, srv: srv, url: srv.URL, cfg: cfg}
	token := s.staffLogin(t, "demo-staff")
	list := "/api/v1/staff/halls/hall-tianhe/appointments?date=" + todayShanghai()
	s.must(t, 200, s.call(t, "GET", "/readyz", "", nil))
	s.must(t, 200, s.call(t, "GET", list, token, nil))

	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// the last bytes a partial write may have left
	for _, n := range []int{64 << 10, 4 << 10, 512, 1} {
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	f.Close()

	a := s.call(t, "GET", "/readyz", "", nil)
	if a.Status != 503 || !strings.Contains(string(a.Raw), `"mongodb":"read_only"`) {
		t.Errorf("/readyz with the disk full: %d %s", a.Status, a.Raw)
	}
	a = s.call(t, "GET", list, token, nil)
	if a.Status != 503 || strings.Contains(string(a.Raw), "items") {
		t.Errorf("day list with the disk full: %d %s, want 503 without the list", a.Status, a.Raw)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s.must(t, 200, s.call(t, "GET", "/readyz", "", nil))
	s.must(t, 200, s.call(t, "GET", list, token, nil))
}
