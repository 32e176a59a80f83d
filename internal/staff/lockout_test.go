package staff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// limitedFixture is a fixture whose service has the given login limits and
// counts (and optionally slows) its password comparisons.
func limitedFixture(t *testing.T, d Deps, slow time.Duration) (*fixture, *atomic.Int64, *atomic.Int64) {
	t.Helper()
	f := newFixture(t, 0, 0)
	d.DB, d.Redis, d.RedisPrefix, d.Clock, d.Log = f.db, f.rdb, f.prefix, f.clock, platformtest.Logger()
	d.SessionSecret, d.BcryptCost = []byte("session-secret-0123456789"), bcrypt.MinCost
	svc, err := NewService(d)
	if err != nil {
		t.Fatal(err)
	}
	var calls, inFlight, maxInFlight atomic.Int64
	svc.compare = func(hash, pw []byte) error {
		calls.Add(1)
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(slow)
		defer inFlight.Add(-1)
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	f.svc = svc
	if err := svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	return f, &calls, &maxInFlight
}

// TestLoginFloodSpendsNoBcryptBeyondTheLimit: a flood of guesses at one
// account (from as many IPs as the attacker likes) reaches bcrypt at most
// the per-account limit; the rest are refused before any comparison, with a
// time to retry, and then even the right password waits out the lock.
func TestLoginFloodSpendsNoBcryptBeyondTheLimit(t *testing.T) {
	f, calls, _ := limitedFixture(t, Deps{LoginPerAccount: 5}, 0)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Login(f.ctx, DemoStaff, fmt.Sprintf("guess-%d", i), fmt.Sprintf("198.51.100.%d", i))
			pe, _ := platform.AsError(err)
			switch {
			case errors.Is(err, ErrBadCredentials):
			case pe != nil && (pe.Code == "rate_limited" || pe.Code == "login_locked") && pe.Until.After(f.clock.Now()):
				refused.Add(1)
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n > 5 {
		t.Fatalf("%d password comparisons for 60 guesses, want at most the limit of 5", n)
	}
	if refused.Load() < 55 {
		t.Fatalf("only %d guesses refused before bcrypt", refused.Load())
	}
	before := calls.Load()
	if _, err := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "198.51.100.200"); err == nil || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("right password during the flood: %v, want a refusal with a time to retry", err)
	}
	if calls.Load() != before {
		t.Fatal("a refused login compared a password")
	}
}

// TestLoginLockoutBacksOff: five wrong passwords in a row lock the account
// for a minute, each further failure doubles the lock, and a successful
// login clears the count. Locked logins compare no password.
func TestLoginLockoutBacksOff(t *testing.T) {
	f, calls, _ := limitedFixture(t, Deps{LoginPerAccount: 1000}, 0)
	ctx := context.Background()
	for i := range 5 {
		if _, err := f.svc.Login(ctx, DemoAdmin, "wrong-password", "203.0.113.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	locked := func(want time.Duration) {
		t.Helper()
		before := calls.Load()
		_, err := f.svc.Login(ctx, DemoAdmin, DemoPassword, "203.0.113.1")
		pe, _ := platform.AsError(err)
		if pe == nil || pe.Code != "login_locked" || !pe.Until.Equal(f.clock.Now().Add(want).Truncate(time.Millisecond)) {
			t.Fatalf("locked login: %v (until %v), want login_locked until now+%s", err, pe, want)
		}
		if calls.Load() != before {
			t.Fatal("a locked login compared a password")
		}
	}
	locked(time.Minute)
	f.clock.Advance(time.Minute + time.Second)
	if _, err := f.svc.Login(ctx, DemoAdmin, "wrong-again", "203.0.113.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("sixth failure: %v", err)
	}
	locked(2 * time.Minute)
	f.clock.Advance(2*time.Minute + time.Second)
	if _, err := f.svc.Login(ctx, DemoAdmin, DemoPassword, "203.0.113.1"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// The count starts again.
	for i := range 4 {
		if _, err := f.svc.Login(ctx, DemoAdmin, "wrong-password", "203.0.113.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d after a success: %v", i+1, err)
		}
	}
	if _, err := f.svc.Login(ctx, DemoAdmin, DemoPassword, "203.0.113.1"); err != nil {
		t.Fatalf("four failures locked the account: %v", err)
	}
	// Locks are audited once, when they start.
	entries, _ := f.svc.ListAudit(ctx, AuditQuery{Action: "login"})
	n := 0
	for _, e := range entries {
		if e.Outcome == "login_locked" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d lock entries in the audit log, want 2", n)
	}
}

// TestLoginBcryptIsBounded: logins over many usernames (each under its own
// limit) never run more password comparisons at once than BcryptSlots, and a
// username that cannot exist compares none.
func TestLoginBcryptIsBounded(t *testing.T) {
	f, calls, maxInFlight := limitedFixture(t, Deps{LoginPerAccount: 1000, BcryptSlots: 2}, 20*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Login(f.ctx, fmt.Sprintf("user-%d", i), "whatever-password", "203.0.113.5")
			if pe, _ := platform.AsError(err); pe == nil || (pe.Code != "bad_credentials" && pe.Code != "login_busy") {
				t.Errorf("login %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if m := maxInFlight.Load(); m > 2 {
		t.Fatalf("%d comparisons at once, want at most 2", m)
	}
	before := calls.Load()
	for _, u := range []string{"", "x", "has space", string(make([]byte, 200))} {
		if _, err := f.svc.Login(f.ctx, u, "whatever", "203.0.113.5"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("username %q: %v", u, err)
		}
	}
	if calls.Load() != before {
		t.Fatal("an impossible username compared a password")
	}
}
