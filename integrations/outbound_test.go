package integrations

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/notify"
)

type memNonces struct{ seen map[string]bool }

func (m *memNonces) Seen(_ context.Context, source, nonce string, _ time.Duration) (bool, error) {
	k := source + "|" + nonce
	if m.seen[k] {
		return true, nil
	}
	m.seen[k] = true
	return false, nil
}

// TestOutboundSignsAndClassifies: the department's end verifies Banshi's
// signature with the protocol's own verifier; 2xx is sent, 409 a refusal,
// 5xx retried; a disabled integration is never called.
func TestOutboundSignsAndClassifies(t *testing.T) {
	f := newFixture(t)
	var status atomic.Int32
	status.Store(200)
	var calls atomic.Int32
	verifier := platform.NewHookVerifier(f.reg, &memNonces{seen: map[string]bool{}}, f.clock)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if _, err := verifier.Verify(r.Context(), r.Method, r.URL.Path, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	if _, err := f.reg.Create(f.ctx, New{ID: "dept-a", Name: "a", Scopes: []string{ScopeBills}, CallbackURL: srv.URL + "/banshi/events?t=secret-token"}); err != nil {
		t.Fatal(err)
	}
	out := NewOutbound(f.reg, nil, f.clock)
	d := notify.Delivery{ID: "e1|department", Message: notify.Message{ID: "e1", UserID: "dept-a", Kind: "payment.succeeded", Title: "payment.succeeded", Body: `{"event_id":"e1"}`}, Attempt: 1}
	if err := out.Deliver(f.ctx, d); err != nil {
		t.Fatalf("2xx: %v", err)
	}
	for _, tc := range []struct {
		status int
		code   string
	}{{409, "refused"}, {422, "refused"}, {503, "503"}, {401, "401"}} {
		status.Store(int32(tc.status))
		err := out.Deliver(f.ctx, d)
		var o *notify.Outcome
		if !errors.As(err, &o) || o.Code != tc.code {
			t.Errorf("HTTP %d: %v, want code %s", tc.status, err, tc.code)
		}
	}
	if _, err := f.reg.SetDisabled(f.ctx, "dept-a", true); err != nil {
		t.Fatal(err)
	}
	before := calls.Load()
	var o *notify.Outcome
	if err := out.Deliver(f.ctx, d); !errors.As(err, &o) || o.Code != "no_callback" || calls.Load() != before {
		t.Fatalf("disabled: %v (calls %d → %d)", err, before, calls.Load())
	}
	if out.Backoff(1) != 15*time.Second || out.Backoff(6) != time.Hour || out.Backoff(20) != time.Hour {
		t.Fatal("schedule")
	}
}
