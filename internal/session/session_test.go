package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

func newStore(t *testing.T) (*Store, *platform.ManualClock) {
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Now())
	return NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, clock), clock
}

func TestCreateTouchRevoke(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	tok, sess, err := s.Create(ctx, "u1", "miniprogram", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 43 {
		t.Fatalf("token %q shorter than 32 bytes", tok)
	}
	got, err := s.Touch(ctx, tok)
	if err != nil || got.UserID != "u1" || got.Channel != "miniprogram" || !got.CreatedAt.Equal(sess.CreatedAt.Truncate(time.Millisecond)) {
		t.Fatalf("touch = %+v, %v", got, err)
	}
	if err := s.Revoke(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after revoke: %v", err)
	}
}

func TestUnknownTokens(t *testing.T) {
	s, _ := newStore(t)
	for _, tok := range []string{"", "nope", strings.Repeat("a", 500)} {
		if _, err := s.Touch(context.Background(), tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Touch(%q) = %v", tok, err)
		}
	}
}

// TestTokenNotStoredInClear proves Redis holds only the digest.
func TestTokenNotStoredInClear(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 2 * time.Hour}, platform.SystemClock{})
	tok, _, err := s.Create(context.Background(), "u1", "app", 1)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, tok) {
			t.Fatalf("key %q contains the token", k)
		}
	}
}

func TestAbsoluteCap(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	tok, _, _ := s.Create(ctx, "u1", "app", 1)
	// Keep using it every 50 minutes: idle never runs out, the cap does.
	for range 3 {
		clock.Advance(50 * time.Minute)
		if _, err := s.Touch(ctx, tok); err != nil {
			t.Fatalf("touch within cap: %v", err)
		}
	}
	clock.Advance(31 * time.Minute) // 3h01m after creation
	if _, err := s.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("past the cap: %v", err)
	}
}

func TestRevokeAll(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	t1, _, _ := s.Create(ctx, "u1", "app", 1)
	t2, _, _ := s.Create(ctx, "u1", "miniprogram", 1)
	t3, _, _ := s.Create(ctx, "u2", "app", 1)
	n, err := s.RevokeAll(ctx, "u1")
	if err != nil || n != 2 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	for _, tok := range []string{t1, t2} {
		if _, err := s.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("revoked token still valid: %v", err)
		}
	}
	if _, err := s.Touch(ctx, t3); err != nil {
		t.Errorf("other user's session lost: %v", err)
	}
}

func TestViewCache(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	tok, _, _ := s.Create(ctx, "u1", "app", 1)
	other, _, _ := s.Create(ctx, "u1", "miniprogram", 1)
	if got, _ := s.Touch(ctx, tok); got.View != nil {
		t.Fatalf("fresh session has a view: %q", got.View)
	}
	for _, tk := range []string{tok, other} {
		if err := s.SetView(ctx, tk, []byte(`{"v":1}`), clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Touch(ctx, tok); string(got.View) != `{"v":1}` {
		t.Fatalf("view = %q", got.View)
	}
	// Stale after the view TTL.
	clock.Advance(31 * time.Second)
	if got, _ := s.Touch(ctx, tok); got.View != nil {
		t.Fatalf("stale view returned: %q", got.View)
	}
	// Dropped for every session of the user.
	s.SetView(ctx, tok, []byte(`{"v":2}`), clock.Now())
	s.SetView(ctx, other, []byte(`{"v":2}`), clock.Now())
	if err := s.DropViews(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok, other} {
		if got, _ := s.Touch(ctx, tk); got.View != nil {
			t.Fatalf("view survived DropViews: %q", got.View)
		}
	}
	// A view is never served more than the TTL after the reads it was
	// rendered from began, however late it was stored.
	rendered := mustTouch(t, s, tok).TouchedAt
	clock.Advance(25 * time.Second) // a slow rendering
	s.SetView(ctx, tok, []byte(`{"v":9}`), rendered)
	if got := mustTouch(t, s, tok); string(got.View) != `{"v":9}` {
		t.Fatalf("view = %q", got.View)
	}
	clock.Advance(6 * time.Second) // 31 s after the rendering began, 6 s after it was stored
	if got := mustTouch(t, s, tok); got.View != nil {
		t.Fatalf("a view was served 31 s after its rendering began: %q", got.View)
	}
	// A revoked session is not resurrected by SetView.
	s.Revoke(ctx, tok)
	s.SetView(ctx, tok, []byte(`{"v":3}`), clock.Now())
	if _, err := s.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked session came back: %v", err)
	}
}

func TestLevelOnlyRises(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	tok, _, _ := s.Create(ctx, "u1", "app", 1)
	other, _, _ := s.Create(ctx, "u1", "miniprogram", 1)
	if err := s.RaiseLevel(ctx, "u1", 3); err != nil {
		t.Fatal(err)
	}
	s.SetView(ctx, tok, []byte(`{"v":1}`), clock.Now())
	_ = s.RaiseLevel(ctx, "u1", 2) // a late, lower update changes nothing but the cached view
	for _, tk := range []string{tok, other} {
		if got, _ := s.Touch(ctx, tk); got.Level != 3 || got.View != nil {
			t.Fatalf("level = %d, view %q; want 3 and no view", got.Level, got.View)
		}
	}
	s.Revoke(ctx, tok)
	_ = s.RaiseLevel(ctx, "u1", 4)
	if _, err := s.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("RaiseLevel resurrected a revoked session")
	}
}

// TestSessionKeysKeepTheirFormat: a session stored under
// prefix+"sess:"+hex(HMAC-SHA256(secret, token)), as every release so far
// wrote them, is still found: changing the digest would log everyone out.
func TestSessionKeysKeepTheirFormat(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Now())
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, clock)
	const digest = "379c06c0b4f5e00247626d0a627fee4877d73bcbbf4bb2b0b399a7f638f470d7" // secret "k", token "tok"
	ctx := context.Background()
	if err := rdb.HSet(ctx, prefix+"sess:"+digest, "uid", "u1", "ch", "app", "created", clock.Now().UnixMilli(), "lvl", 2).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Touch(ctx, "tok"); err != nil || got.UserID != "u1" || got.Level != 2 {
		t.Fatalf("touch = %+v, %v", got, err)
	}
	if err := rdb.SAdd(ctx, prefix+"usess:u1", digest).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeAll(ctx, "u1"); err != nil || n != 1 {
		t.Fatalf("revoke all = %d, %v", n, err)
	}
}

func mustTouch(t *testing.T, s *Store, tok string) Session {
	t.Helper()
	got, err := s.Touch(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
