package session

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRevokeAllRacingLogins: logins racing a "log out everywhere" either end
// with it or stay within reach of the next one. Before, RevokeAll read the
// user's set and then deleted the whole set, so a session created in between
// dropped out of the set while staying alive: it survived every later revoke
// and level change until its absolute cap.
func TestRevokeAllRacingLogins(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	const creators, perCreator = 8, 60
	var (
		mu     sync.Mutex
		tokens []string
		wg     sync.WaitGroup
		done   atomic.Bool
	)
	for range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perCreator {
				tok, _, err := s.Create(ctx, "u1", "miniprogram", 1)
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
			}
		}()
	}
	revokes := make(chan int, 1)
	go func() {
		n := 0
		for !done.Load() {
			if _, err := s.RevokeAll(ctx, "u1"); err != nil {
				t.Errorf("revoke all: %v", err)
				break
			}
			n++
		}
		revokes <- n
	}()
	wg.Wait()
	done.Store(true)
	if n := <-revokes; n == 0 {
		t.Fatal("no revoke ran during the logins")
	}

	// Whatever survived the race is still the user's: a level change reaches
	// it, and the next revoke-all ends it.
	if err := s.RaiseLevel(ctx, "u1", 3); err != nil {
		t.Fatal(err)
	}
	alive := 0
	for _, tok := range tokens {
		sess, err := s.Touch(ctx, tok)
		if err == nil {
			alive++
			if sess.Level != 3 {
				t.Errorf("a session left by the race did not get the new level: %d", sess.Level)
			}
		}
	}
	if _, err := s.RevokeAll(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	survivors := 0
	for _, tok := range tokens {
		if _, err := s.Touch(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			survivors++
		}
	}
	if survivors > 0 {
		t.Fatalf("%d of %d sessions (%d alive after the race) survived a revoke-all", survivors, len(tokens), alive)
	}
}
