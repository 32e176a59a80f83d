package main

import (
	"strings"
	"testing"
	"time"
)

// TestSecondProcessRefusesTheSameDataFolder: two development Banshis started
// in one folder must not each run an embedded engine over the same files
// (their conditional updates would no longer be atomic between them). The
// second one stops at start-up with a message saying what to do; the first
// keeps serving.
func TestSecondProcessRefusesTheSameDataFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	dir := t.TempDir()
	firstAddr, secondAddr := freeAddr(t), freeAddr(t)
	first := startProcess(t, dir, map[string]string{"BANSHI_ADDR": firstAddr}, "serve")
	waitUp(t, first, "http://"+firstAddr+"/readyz")

	second := startProcess(t, dir, map[string]string{"BANSHI_ADDR": secondAddr}, "serve")
	select {
	case err := <-second.done:
		second.done <- err // for the cleanup's wait
		if err == nil {
			t.Fatalf("second process exited 0:\n%s", second.Output())
		}
	case <-time.After(time.Minute):
		t.Fatalf("second process still running over the same data folder:\n%s", second.Output())
	}
	out := second.Output()
	for _, want := range []string{"in use by another process", "BANSHI_DATA_DIR", "MONGODB_URI"} {
		if !strings.Contains(out, want) {
			t.Errorf("second process's output lacks %q:\n%s", want, out)
		}
	}
	waitUp(t, first, "http://"+firstAddr+"/readyz")
}
