package main

import (
	"net/http"
	"testing"
)

// TestWorkerServesOnlyOperatorsRoutes: `banshi worker` answers health,
// readiness and metrics, and no API.
func TestWorkerServesOnlyOperatorsRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	addr := freeAddr(t)
	p := startProcess(t, t.TempDir(), map[string]string{"BANSHI_ADDR": addr}, "worker")
	base := "http://" + addr
	waitUp(t, p, base+"/readyz")
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/api/v1/halls": 404, "/sim/clock": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
