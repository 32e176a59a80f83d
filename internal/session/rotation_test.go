package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestSecretRotationOverlap: after the session secret is rotated (the old
// one configured as PreviousSecret), sessions opened before still work —
// touched, their page view cached, their level raised, revoked one by one
// or all at once — and new sessions use the new secret; once the previous
// secret is dropped, the old sessions are no longer found.
func TestSecretRotationOverlap(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	ctx := context.Background()
	clock := platform.NewManualClock(time.Now())
	cfg := Config{Prefix: prefix, Secret: []byte("old-secret"), Idle: time.Hour, Max: 3 * time.Hour}
	before := NewStore(rdb, cfg, clock)
	old1, _, err := before.Create(ctx, "u1", "miniprogram", 1)
	if err != nil {
		t.Fatal(err)
	}
	old2, _, _ := before.Create(ctx, "u1", "app", 1)
	old3, _, _ := before.Create(ctx, "u2", "app", 1)

	cfg.Secret, cfg.PreviousSecret = []byte("new-secret"), []byte("old-secret")
	during := NewStore(rdb, cfg, clock)
	fresh, _, _ := during.Create(ctx, "u1", "miniprogram", 1)
	for _, tok := range []string{old1, old2, old3, fresh} {
		if s, err := during.Touch(ctx, tok); err != nil || s.UserID == "" {
			t.Fatalf("touch during the overlap: %+v %v", s, err)
		}
	}
	if err := during.SetView(ctx, old1, []byte(`{"v":1}`), clock.Now()); err != nil {
		t.Fatal(err)
	}
	if s, _ := during.Touch(ctx, old1); string(s.View) != `{"v":1}` {
		t.Fatalf("view of an old session not cached: %q", s.View)
	}
	if err := during.Revoke(ctx, old2); err != nil {
		t.Fatal(err)
	}
	if _, err := during.Touch(ctx, old2); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked old session: %v", err)
	}
	if n, err := during.RevokeAll(ctx, "u1"); err != nil || n != 2 {
		t.Fatalf("revoke all of u1 (one old, one new session left): %d %v", n, err)
	}
	for _, tok := range []string{old1, fresh} {
		if _, err := during.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("after revoke-all: %v", err)
		}
	}

	cfg.PreviousSecret = nil
	after := NewStore(rdb, cfg, clock)
	if _, err := after.Touch(ctx, old3); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an old session after the overlap: %v", err)
	}
	fresh2, _, _ := after.Create(ctx, "u3", "app", 1)
	if _, err := after.Touch(ctx, fresh2); err != nil {
		t.Fatal(err)
	}
}
