package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestAuthorizeIsOneRoundTrip: with a token of this release, reading the
// session, sliding it and taking a request from the user's rate-limit budget
// reach Redis once: one pipeline, no script.
func TestAuthorizeIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, platform.SystemClock{})
	tok, _, err := s.Create(ctx, "u_roundtrip", "app", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "u_roundtrip.") {
		t.Fatalf("token %q does not name its user", tok)
	}
	var h platformtest.RedisCounter
	rdb.AddHook(&h)
	for range 10 {
		sess, dec, err := s.Authorize(ctx, tok, 600)
		if err != nil || sess.UserID != "u_roundtrip" || sess.Level != 2 || !dec.Allowed {
			t.Fatalf("authorize = %+v %+v %v", sess, dec, err)
		}
	}
	if got := h.RoundTrips.Load(); got != 10 {
		t.Fatalf("10 authorizations took %d round trips, want 10", got)
	}
}

// TestAuthorizeRateLimit: the per-user budget is applied, refused requests
// cost nothing, and the session is still valid (and slid) when refused.
func TestAuthorizeRateLimit(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	tok, _, _ := s.Create(ctx, "u_limited", "app", 1)
	other, _, _ := s.Create(ctx, "u_other", "app", 1)
	for i := range 3 {
		if _, dec, err := s.Authorize(ctx, tok, 3); err != nil || !dec.Allowed {
			t.Fatalf("request %d: %+v %v", i+1, dec, err)
		}
	}
	key := s.key("u_limited", s.digest(tok))
	if err := s.rdb.PExpire(ctx, key, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	sess, dec, err := s.Authorize(ctx, tok, 3)
	if err != nil || dec.Allowed || dec.RetryAfter < time.Second || dec.RetryAfter > time.Minute {
		t.Fatalf("4th request: %+v %+v %v, want refused with a wait of 1 s to a minute", sess, dec, err)
	}
	if sess.UserID != "u_limited" {
		t.Fatalf("refused request lost the session: %+v", sess)
	}
	if ttl, err := s.rdb.PTTL(ctx, key).Result(); err != nil || ttl < 59*time.Minute {
		t.Fatalf("the refused request did not slide the session: ttl %s, %v", ttl, err)
	}
	if _, dec, err := s.Authorize(ctx, other, 3); err != nil || !dec.Allowed {
		t.Fatalf("another user's budget was used: %+v %v", dec, err)
	}
	clock.Advance(3 * time.Hour) // past the absolute cap
	if _, _, err := s.Authorize(ctx, tok, 3); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("past the cap: %v", err)
	}
	if n, _ := s.rdb.Exists(ctx, key).Result(); n != 0 {
		t.Fatal("a session past its cap was left in Redis")
	}
}

// TestAuthorizeRefusesAlteredTokens: a token whose user id was changed, or
// a made-up one naming a real user, finds no session and takes nothing
// from that user's budget (an attacker cannot exhaust it).
func TestAuthorizeRefusesAlteredTokens(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, platform.SystemClock{})
	victim, _, _ := s.Create(ctx, "u_victim", "app", 1)
	mine, _, _ := s.Create(ctx, "u_attacker", "app", 1)
	random := mine[strings.IndexByte(mine, '.')+1:]
	for _, tok := range []string{
		"u_victim." + random,            // my secret, their id
		"u_victim.AAAAAAAAAAAAAAAAAAAA", // made up
		"u_victim." + random + "x",
		"u_vic}tim." + random, // not a slot name: an earlier release's form, unknown
		"{u:u_victim}." + random,
		".",
		"u_victim.",
	} {
		for range 5 {
			if _, _, err := s.Authorize(ctx, tok, 2); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Authorize(%q) = %v, want unauthenticated", tok, err)
			}
		}
	}
	if n := spent(t, rdb, s.rateKey("u_victim")); n != 0 {
		t.Fatalf("refused tokens spent %d of the victim's budget", n)
	}
	for i := range 2 {
		if _, dec, err := s.Authorize(ctx, victim, 2); err != nil || !dec.Allowed {
			t.Fatalf("victim request %d: %+v %v", i+1, dec, err)
		}
	}
}

// spent sums the counters of the rate-limit key base (its minutes).
func spent(t *testing.T, rdb redis.UniversalClient, base string) int64 {
	t.Helper()
	now := time.Now().UnixMilli() / 60000
	var n int64
	for _, m := range []int64{now - 1, now, now + 1} {
		v, err := rdb.Get(context.Background(), base+":"+strconv.FormatInt(m, 10)).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		n += v
	}
	return n
}

// TestAuthorizeRaceKeepsTheBudget: 200 requests of one user racing from 16
// goroutines with a budget of 50 a minute: exactly the budget passes (the
// refused ones give their count back; a minute's edge during the test lets
// the previous minute's 50 slide out, so at most a few more).
func TestAuthorizeRaceKeepsTheBudget(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, platform.SystemClock{})
	tok, _, _ := s.Create(ctx, "u_racer", "miniprogram", 1)
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for range 200 / 16 {
				_, dec, err := s.Authorize(ctx, tok, 50)
				switch {
				case err != nil:
					t.Error(err)
				case dec.Allowed:
					allowed.Add(1)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	refill := int64(time.Since(start)/(60*time.Second/50)) + 2
	if a := allowed.Load(); a < 50 || a > 50+refill {
		t.Fatalf("%d allowed of %d, want 50 (+%d refilled)", a, allowed.Load()+refused.Load(), refill-1)
	}
}

// TestLegacyTokenAuthorize: a session opened by an earlier release (bare
// token, key sess:<digest>) is still read, slid and limited.
func TestLegacyTokenAuthorize(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Now())
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, clock)
	token := "legacy-token-with-no-user-id-in-it-at-all-0123"
	d := platform.TokenDigest([]byte("k"), token)
	if err := rdb.HSet(ctx, prefix+"sess:"+d, "uid", "u_old", "ch", "app", "created", clock.Now().UnixMilli(), "lvl", 3).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ZAdd(ctx, prefix+"{u:u_old}:sessions", redis.Z{Score: float64(clock.Now().Add(3 * time.Hour).UnixMilli()), Member: d}).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		sess, dec, err := s.Authorize(ctx, token, 2)
		if err != nil || sess.UserID != "u_old" || sess.Level != 3 || !dec.Allowed {
			t.Fatalf("request %d: %+v %+v %v", i+1, sess, dec, err)
		}
	}
	if _, dec, err := s.Authorize(ctx, token, 2); err != nil || dec.Allowed {
		t.Fatalf("3rd request: %+v %v, want refused", dec, err)
	}
	if n, err := s.RevokeAll(ctx, "u_old"); err != nil || n != 1 {
		t.Fatalf("revoke all = %d, %v", n, err)
	}
	if _, _, err := s.Authorize(ctx, token, 2); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after revoke all: %v", err)
	}
}
