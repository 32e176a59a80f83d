package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
)

type deptKeys map[string][]string

func (k deptKeys) HookSecrets(_ context.Context, source string) ([]string, error) {
	return k[source], nil
}

type deptNonces struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (n *deptNonces) Seen(_ context.Context, source, nonce string, _ time.Duration) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := source + "|" + nonce
	s := n.seen[k]
	n.seen[k] = true
	return s, nil
}

// fakeBanshi verifies what the simulator posts with Banshi's verifier and
// answers 200 with the body it got, or 401.
func fakeBanshi(t *testing.T, clock platform.Clock, secret string) (*httptest.Server, *[][]byte) {
	v := platform.NewHookVerifier(deptKeys{"dept-a": {secret}}, &deptNonces{seen: map[string]bool{}}, clock)
	var mu sync.Mutex
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != ApplicationsHookPath {
			rw.WriteHeader(http.StatusNotFound)
			return
		}
		if _, err := v.Verify(r.Context(), r.Method, r.URL.Path, r.Header, body); err != nil {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusUnauthorized)
			_, _ = rw.Write([]byte(`{"error":{"code":"` + platform.CodeOf(err) + `"}}`))
			return
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestDepartmentSignsAndForwards(t *testing.T) {
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC))
	secret := strings.Repeat("ab", 32)
	banshi, got := fakeBanshi(t, clock, secret)
	d := NewDepartment(DepartmentOptions{BanshiURL: banshi.URL + "/", Clock: clock})
	sim := httptest.NewServer(d.Handler())
	defer sim.Close()
	do := func(method, path, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, sim.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	if resp, body := do("POST", "/sim/department/dept-a/applications", `{}`); resp.StatusCode != 404 || !strings.Contains(body, "unknown_integration") {
		t.Fatalf("before the secret: %d %s", resp.StatusCode, body)
	}
	for _, bad := range []struct{ path, body string }{
		{"/sim/department/Dept_A", `{"secret":"x"}`},
		{"/sim/department/dept-a", `{"secret":""}`},
		{"/sim/department/dept-a", `nope`},
	} {
		if resp, _ := do("PUT", bad.path, bad.body); resp.StatusCode != 400 {
			t.Errorf("PUT %s %s: %d", bad.path, bad.body, resp.StatusCode)
		}
	}
	if resp, _ := do("PUT", "/sim/department/dept-a", `{"secret":"`+secret+`"}`); resp.StatusCode != 204 {
		t.Fatalf("put secret: %d", resp.StatusCode)
	}
	if resp, _ := do("POST", "/sim/department/dept-a/applications", `[1]`); resp.StatusCode != 400 {
		t.Fatalf("not an object: %d", resp.StatusCode)
	}

	// event_id and occurred_at are filled; everything else passes as it came.
	resp, body := do("POST", "/sim/department/dept-a/applications", `{"application_no":"A1","status":"accepted","priority":1.50}`)
	if resp.StatusCode != 200 || len(*got) != 1 {
		t.Fatalf("forward: %d %s", resp.StatusCode, body)
	}
	var sent map[string]any
	if err := json.Unmarshal((*got)[0], &sent); err != nil {
		t.Fatal(err)
	}
	id, _ := sent["event_id"].(string)
	if !strings.HasPrefix(id, "sim-") || resp.Header.Get("X-Sim-Event-Id") != id || sent["occurred_at"] != "2026-03-16T10:00:00+08:00" ||
		!strings.Contains(string((*got)[0]), `"priority":1.50`) || sent["application_no"] != "A1" {
		t.Fatalf("sent %s (event id header %q)", (*got)[0], resp.Header.Get("X-Sim-Event-Id"))
	}
	// Each call gets a fresh event id; a given one is kept.
	do("POST", "/sim/department/dept-a/applications", `{"status":"accepted"}`)
	do("POST", "/sim/department/dept-a/applications", `{"event_id":"mine-1","occurred_at":"2026-03-16T09:00:00+08:00"}`)
	var second, third map[string]any
	_ = json.Unmarshal((*got)[1], &second)
	_ = json.Unmarshal((*got)[2], &third)
	if second["event_id"] == id || third["event_id"] != "mine-1" || third["occurred_at"] != "2026-03-16T09:00:00+08:00" {
		t.Fatalf("event ids: %v %v %v", id, second["event_id"], third["event_id"])
	}

	// Banshi's refusal is relayed: a wrong secret gets Banshi's 401.
	d.SetSecret("dept-a", strings.Repeat("cd", 32))
	if resp, body := do("POST", "/sim/department/dept-a/applications", `{}`); resp.StatusCode != 401 || !strings.Contains(body, "signature_invalid") {
		t.Fatalf("wrong secret: %d %s", resp.StatusCode, body)
	}

	// Banshi down: 502.
	banshi.Close()
	d.SetSecret("dept-a", secret)
	if resp, body := do("POST", "/sim/department/dept-a/applications", `{}`); resp.StatusCode != 502 || !strings.Contains(body, "banshi_unreachable") {
		t.Fatalf("banshi down: %d %s", resp.StatusCode, body)
	}
}
