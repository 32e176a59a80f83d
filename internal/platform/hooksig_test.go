package platform_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

type keys map[string][]string

func (k keys) HookSecrets(_ context.Context, source string) ([]string, error) { return k[source], nil }

const (
	secretA   = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	secretOld = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
	hookPath  = "/api/v1/hooks/applications"
)

func newVerifier(t *testing.T, clock platform.Clock) *platform.HookVerifier {
	rdb, prefix := platformtest.Redis(t)
	return platform.NewHookVerifier(keys{"dept-a": {secretA, secretOld}, "dept-off": nil},
		platform.NewRedisNonces(rdb, prefix), clock)
}

func signed(source, secret string, at time.Time, body string) http.Header {
	h := http.Header{}
	platform.SignHook(h, source, secret, "POST", hookPath, at, []byte(body))
	return h
}

// TestHookSignatureExample pins the string and the signature of one request,
// as a department implementing the protocol would check its code against.
func TestHookSignatureExample(t *testing.T) {
	got := string(platform.HookString("POST", hookPath, "1773626400", "abcdefghijklmnop", []byte(`{"event_id":"e1"}`)))
	want := "POST\n/api/v1/hooks/applications\n1773626400\nabcdefghijklmnop\n{\"event_id\":\"e1\"}"
	if got != want {
		t.Fatalf("string %q", got)
	}
	sig := platform.HookSignature(secretA, "POST", hookPath, "1773626400", "abcdefghijklmnop", []byte(`{"event_id":"e1"}`))
	if !strings.HasPrefix(sig, "v1=") || len(sig) != 67 || strings.ToLower(sig) != sig {
		t.Fatalf("signature %q", sig)
	}
}

func TestHookVerify(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
	v := newVerifier(t, platform.NewManualClock(now))
	body := `{"event_id":"e1"}`
	tamper := func(h http.Header, k, val string) http.Header { h.Set(k, val); return h }
	cases := []struct {
		name string
		h    http.Header
		body string
		want error
	}{
		{"current secret", signed("dept-a", secretA, now, body), body, nil},
		{"previous secret during rotation", signed("dept-a", secretOld, now, body), body, nil},
		{"skew within 300 s", signed("dept-a", secretA, now.Add(-299*time.Second), body), body, nil},
		{"unknown source", signed("dept-x", secretA, now, body), body, platform.ErrSignatureInvalid},
		{"disabled source", signed("dept-off", secretA, now, body), body, platform.ErrSignatureInvalid},
		{"wrong secret", signed("dept-a", strings.Repeat("0", 64), now, body), body, platform.ErrSignatureInvalid},
		{"body changed", signed("dept-a", secretA, now, body), `{"event_id":"e2"}`, platform.ErrSignatureInvalid},
		{"no signature", tamper(signed("dept-a", secretA, now, body), platform.HeaderHookSignature, ""), body, platform.ErrSignatureInvalid},
		{"short nonce", tamper(signed("dept-a", secretA, now, body), platform.HeaderHookNonce, "abc"), body, platform.ErrSignatureInvalid},
		{"bad nonce chars", tamper(signed("dept-a", secretA, now, body), platform.HeaderHookNonce, "abcdefghijklmnop!"), body, platform.ErrSignatureInvalid},
		{"stale", signed("dept-a", secretA, now.Add(-301*time.Second), body), body, platform.ErrSignatureStale},
		{"from the future", signed("dept-a", secretA, now.Add(301*time.Second), body), body, platform.ErrSignatureStale},
	}
	for _, tc := range cases {
		src, err := v.Verify(ctx, "POST", hookPath, tc.h, []byte(tc.body))
		if !errors.Is(err, tc.want) || (tc.want == nil && src != "dept-a") {
			t.Errorf("%s: %q, %v; want %v", tc.name, src, err, tc.want)
		}
	}
	// Signed for another path or method: refused.
	h := signed("dept-a", secretA, now, body)
	if _, err := v.Verify(ctx, "POST", "/api/v1/hooks/bills", h, []byte(body)); !errors.Is(err, platform.ErrSignatureInvalid) {
		t.Errorf("another path: %v", err)
	}
	// The same signed request twice: the second is a replay.
	h = signed("dept-a", secretA, now, body)
	if _, err := v.Verify(ctx, "POST", hookPath, h, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, "POST", hookPath, h, []byte(body)); !errors.Is(err, platform.ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
}

// TestHookReplayRace: one signed request delivered by 20 goroutines at once
// is accepted exactly once.
func TestHookReplayRace(t *testing.T) {
	now := time.Now()
	v := newVerifier(t, platform.NewManualClock(now))
	h := signed("dept-a", secretA, now, "{}")
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), "POST", hookPath, h, []byte("{}")); err == nil {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if accepted != 1 {
		t.Fatalf("accepted %d times", accepted)
	}
}

// FuzzHookVerify: whatever the headers and body, Verify never panics and
// never accepts a request that was not signed with a known secret.
func FuzzHookVerify(f *testing.F) {
	now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add("dept-a", ts, "abcdefghijklmnop", platform.HookSignature(secretA, "POST", hookPath, ts, "abcdefghijklmnop", []byte("{}")), "{}")
	f.Add("dept-a", ts, "abcdefghijklmnop", "v1=", "{}")
	f.Add("", "", "", "", "")
	f.Add("dept-a", "-99999999999", "________________", "v1="+strings.Repeat("g", 64), "\x00")
	v := platform.NewHookVerifier(keys{"dept-a": {secretA}}, acceptAll{}, platform.NewManualClock(now))
	f.Fuzz(func(t *testing.T, source, timestamp, nonce, sig, body string) {
		h := http.Header{}
		h.Set(platform.HeaderHookSource, source)
		h.Set(platform.HeaderHookTimestamp, timestamp)
		h.Set(platform.HeaderHookNonce, nonce)
		h.Set(platform.HeaderHookSignature, sig)
		src, err := v.Verify(context.Background(), "POST", hookPath, h, []byte(body))
		if err == nil {
			want := platform.HookSignature(secretA, "POST", hookPath, timestamp, nonce, []byte(body))
			if src != "dept-a" || sig != want {
				t.Fatalf("accepted a request not signed by dept-a: %q %q", src, sig)
			}
		}
	})
}

type acceptAll struct{}

func (acceptAll) Seen(context.Context, string, string, time.Duration) (bool, error) {
	return false, nil
}
