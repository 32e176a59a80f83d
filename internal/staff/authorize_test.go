package staff

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform/platformtest"
)

// TestAuthorizeIsOneRedisRoundTrip: a staff token names its account, and the
// session read, its sliding and the per-staff limit are one Redis round
// trip (the account itself is read from MongoDB).
func TestAuthorizeIsOneRedisRoundTrip(t *testing.T) {
	f := newFixture(t, time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	s, err := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Token, tokenPrefix+DemoStaff+".") {
		t.Fatalf("token %q does not name its account", s.Token)
	}
	if _, _, err := f.svc.Authorize(f.ctx, s.Token, 600); err != nil { // loads the script
		t.Fatal(err)
	}
	var h platformtest.RedisCounter
	f.rdb.AddHook(&h)
	for range 10 {
		a, dec, err := f.svc.Authorize(f.ctx, s.Token, 600)
		if err != nil || a.Username != DemoStaff || !dec.Allowed {
			t.Fatalf("authorize = %+v %+v %v", a, dec, err)
		}
	}
	if got := h.RoundTrips.Load(); got != 10 {
		t.Fatalf("10 requests took %d Redis round trips, want 10", got)
	}
}

// TestAuthorizeLimitAndExpiry: the budget is applied (refusals cost
// nothing), the idle expiry slides only when asked (Check does not), a
// session past its idle expiry ends, and revoking the account's sessions
// (generation) or disabling it ends a slot session too.
func TestAuthorizeLimitAndExpiry(t *testing.T) {
	f := newFixture(t, time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	s, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	for i := range 2 {
		if _, dec, err := f.svc.Authorize(f.ctx, s.Token, 2); err != nil || !dec.Allowed {
			t.Fatalf("request %d: %+v %v", i+1, dec, err)
		}
	}
	if a, dec, err := f.svc.Authorize(f.ctx, s.Token, 2); err != nil || dec.Allowed || dec.RetryAfter <= 0 || a.Username != DemoStaff {
		t.Fatalf("3rd request: %+v %+v %v, want refused with a wait", a, dec, err)
	}
	f.clock.Advance(50 * time.Minute)
	if _, err := f.svc.Check(f.ctx, s.Token); err != nil { // does not slide
		t.Fatal(err)
	}
	f.clock.Advance(15 * time.Minute) // 65 min after the last sliding use
	if _, err := f.svc.Authenticate(f.ctx, s.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("past the idle expiry: %v", err)
	}

	s2, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	f.clock.Advance(50 * time.Minute)
	if _, err := f.svc.Authenticate(f.ctx, s2.Token); err != nil { // slides
		t.Fatal(err)
	}
	f.clock.Advance(50 * time.Minute)
	if _, err := f.svc.Authenticate(f.ctx, s2.Token); err != nil {
		t.Fatalf("a slid session ended: %v", err)
	}
	if err := f.svc.RevokeAll(f.ctx, DemoStaff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s2.Token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after revoke-all: %v", err)
	}
	if n, _ := f.rdb.Exists(f.ctx, f.svc.sessionKey(s2.Token)).Result(); n != 0 {
		t.Fatal("a revoked session was left in Redis")
	}
}

// TestAlteredStaffTokens: a token whose username was changed, or a made-up
// one naming a real account, is refused and spends nothing of that
// account's budget.
func TestAlteredStaffTokens(t *testing.T) {
	f := newFixture(t, time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	mine, _ := f.svc.Login(f.ctx, DemoStaff, DemoPassword, "203.0.113.7")
	random := mine.Token[len(mine.Token)-tokenRandLen:]
	for _, tok := range []string{
		tokenPrefix + DemoAdmin + "." + random,
		tokenPrefix + DemoAdmin + "." + strings.Repeat("A", tokenRandLen),
		tokenPrefix + "{s:" + DemoAdmin + "}." + random,
		tokenPrefix + DemoAdmin + "." + random[1:],
	} {
		if _, _, err := f.svc.Authorize(f.ctx, tok, 1); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Authorize(%q) = %v", tok, err)
		}
	}
	if n, _ := f.rdb.Exists(f.ctx, f.svc.rateKey(DemoAdmin)).Result(); n != 0 {
		t.Fatal("refused tokens spent the account's budget")
	}
}

// TestLegacyStaffSessionLimited: a session of an earlier release (JSON under
// staff:sess:<digest>, token "bss_<random>") is still found, slid, limited
// and ended by logout.
func TestLegacyStaffSessionLimited(t *testing.T) {
	f := newFixture(t, 2*time.Hour, 5*time.Hour)
	if err := f.svc.SeedDemo(f.ctx, "hall-tianhe"); err != nil {
		t.Fatal(err)
	}
	const digest = "242a32f5412b71f6835e525bfa1c7561e9c0a35c0f327db2536c8f49a819a7c8" // token "bss_pinned"
	now := f.clock.Now().UnixMilli()
	rec := fmt.Sprintf(`{"u":%q,"g":0,"c":%d,"s":%d}`, DemoStaff, now, now)
	if err := f.rdb.Set(f.ctx, f.prefix+"staff:sess:"+digest, rec, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if _, dec, err := f.svc.Authorize(f.ctx, "bss_pinned", 1); err != nil || !dec.Allowed {
		t.Fatalf("1st: %+v %v", dec, err)
	}
	if _, dec, err := f.svc.Authorize(f.ctx, "bss_pinned", 1); err != nil || dec.Allowed {
		t.Fatalf("2nd: %+v %v, want refused", dec, err)
	}
	if err := f.svc.Logout(f.ctx, "bss_pinned", "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, "bss_pinned"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after logout: %v", err)
	}
}
