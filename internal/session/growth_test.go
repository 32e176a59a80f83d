package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// commands returns how many commands f sent through counter.
func commands(counter *platformtest.RedisCounter, f func()) int64 {
	before := counter.Commands.Load()
	f()
	return counter.Commands.Load() - before
}

// TestPerUserCostStaysFlat: thousands of past logins must not make a user's
// later session operations slower. Before, every login added to the user's
// set for good (expired sessions were never removed, and each login pushed
// the set's expiry further), so one page-view drop cost one command per past
// login: 3,001 commands after 3,000 logins.
func TestPerUserCostStaysFlat(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	counter := &platformtest.RedisCounter{}
	rdb.AddHook(counter)
	clock := platform.NewManualClock(time.Now())
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, clock)

	// 3,000 past logins, one every ten minutes: all but the last 18 are past
	// their absolute cap (3 h).
	const logins = 3000
	var last string
	for range logins {
		tok, _, err := s.Create(ctx, "u1", "miniprogram", 1)
		if err != nil {
			t.Fatal(err)
		}
		last = tok
		clock.Advance(10 * time.Minute)
	}
	const bound = 40 // a handful of commands plus one per live session
	ops := map[string]func() error{
		"DropViews":  func() error { return s.DropViews(ctx, "u1") },
		"RaiseLevel": func() error { return s.RaiseLevel(ctx, "u1", 2) },
		"Create": func() error {
			var err error
			last, _, err = s.Create(ctx, "u1", "app", 1)
			return err
		},
		"RevokeAll": func() error { _, err := s.RevokeAll(ctx, "u1"); return err },
	}
	for _, name := range []string{"DropViews", "RaiseLevel", "Create", "RevokeAll"} {
		var err error
		n := commands(counter, func() { err = ops[name]() })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n > bound {
			t.Errorf("%s after %d logins sent %d Redis commands, want at most %d", name, logins, n, bound)
		}
	}
	if _, err := s.Touch(ctx, last); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("session survived RevokeAll: %v", err)
	}
}

// TestLiveSessionsPerUserAreCapped: a user keeps at most MaxPerUser live
// sessions; a login beyond that ends the oldest ones.
func TestLiveSessionsPerUserAreCapped(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Now())
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour, MaxPerUser: 5}, clock)
	var toks []string
	for range 8 {
		tok, _, err := s.Create(ctx, "u1", "app", 1)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
		clock.Advance(time.Second)
	}
	other, _, _ := s.Create(ctx, "u2", "app", 1)
	for i, tok := range toks {
		_, err := s.Touch(ctx, tok)
		if i < 3 && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("session %d of 8 still valid beyond the cap of 5: %v", i, err)
		}
		if i >= 3 && err != nil {
			t.Errorf("session %d of 8 (among the newest 5) ended: %v", i, err)
		}
	}
	if _, err := s.Touch(ctx, other); err != nil {
		t.Fatalf("another user's session ended: %v", err)
	}
	if n, err := s.RevokeAll(ctx, "u1"); err != nil || n != 5 {
		t.Fatalf("RevokeAll = %d, %v; want the 5 live sessions", n, err)
	}
}

// TestDefaultCap: without MaxPerUser a user keeps DefaultMaxPerUser sessions.
func TestDefaultCap(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	var first string
	for i := range DefaultMaxPerUser + 1 {
		tok, _, err := s.Create(ctx, "u1", "app", 1)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = tok
		}
		clock.Advance(time.Millisecond) // "oldest" is by creation time, to the millisecond
	}
	if _, err := s.Touch(ctx, first); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("oldest session still valid past the default cap: %v", err)
	}
	if n, _ := s.RevokeAll(ctx, "u1"); n != DefaultMaxPerUser {
		t.Fatalf("RevokeAll ended %d, want %d", n, DefaultMaxPerUser)
	}
}

// TestEarlierReleasesIndexIsAbsorbed: sessions an earlier release listed in
// the set usess:<user id> stay within reach of level changes and
// revoke-all; the first per-user operation moves the live ones into the
// sorted set and empties the old set.
func TestEarlierReleasesIndexIsAbsorbed(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	clock := platform.NewManualClock(time.Now())
	s := NewStore(rdb, Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, clock)
	// What the earlier release wrote for one live session, plus an entry
	// whose session expired.
	const token = "legacy-token"
	d := s.digest(token)
	if err := rdb.HSet(ctx, prefix+"sess:"+d, "uid", "u1", "ch", "app", "created", clock.Now().UnixMilli(), "lvl", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.SAdd(ctx, prefix+"usess:u1", d, "gone-digest").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RaiseLevel(ctx, "u1", 3); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Touch(ctx, token); err != nil || got.Level != 3 {
		t.Fatalf("legacy session after RaiseLevel: %+v, %v", got, err)
	}
	if n, err := rdb.Exists(ctx, prefix+"usess:u1").Result(); err != nil || n != 0 {
		t.Fatalf("old set still there: %d, %v", n, err)
	}
	if members, _ := rdb.ZRange(ctx, prefix+"{u:u1}:sessions", 0, -1).Result(); len(members) != 1 || members[0] != d {
		t.Fatalf("index = %v, want only the live legacy session", members)
	}
	if n, err := s.RevokeAll(ctx, "u1"); err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	if _, err := s.Touch(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("legacy session survived RevokeAll: %v", err)
	}
}
