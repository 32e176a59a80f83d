package api

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMicroCacheFillsOnce: concurrent callers of a missing key share one fill.
func TestMicroCacheFillsOnce(t *testing.T) {
	ctx := t.Context()
	m := newMicroCache(time.Minute)
	var fills atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := m.get(ctx, "k", func(context.Context) ([]byte, error) {
				fills.Add(1)
				<-release
				return []byte("v"), nil
			})
			if err != nil || string(b) != "v" {
				t.Errorf("get = %q, %v", b, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if fills.Load() != 1 {
		t.Fatalf("%d fills, want 1", fills.Load())
	}
}

func TestMicroCacheExpiresClearsAndSkipsErrors(t *testing.T) {
	ctx := t.Context()
	m := newMicroCache(20 * time.Millisecond)
	n := 0
	fill := func(context.Context) ([]byte, error) { n++; return []byte{byte(n)}, nil }
	m.get(ctx, "k", fill)
	m.get(ctx, "k", fill)
	if n != 1 {
		t.Fatalf("fills = %d", n)
	}
	time.Sleep(30 * time.Millisecond)
	m.get(ctx, "k", fill)
	m.clear()
	m.get(ctx, "k", fill)
	if n != 3 {
		t.Fatalf("fills = %d, want 3 (expiry and clear refill)", n)
	}
	boom := errors.New("boom")
	if _, err := m.get(ctx, "e", func(context.Context) ([]byte, error) { return nil, boom }); err != boom {
		t.Fatal(err)
	}
	if b, _ := m.get(ctx, "e", func(context.Context) ([]byte, error) { return []byte("ok"), nil }); string(b) != "ok" {
		t.Fatal("an error was cached")
	}
}

// TestMicroCacheClearDuringFill: an answer computed while clear ran is
// returned to its callers but not kept.
func TestMicroCacheClearDuringFill(t *testing.T) {
	ctx := t.Context()
	m := newMicroCache(time.Minute)
	m.get(ctx, "k", func(context.Context) ([]byte, error) {
		m.clear()
		return []byte("old"), nil
	})
	if b, _ := m.get(ctx, "k", func(context.Context) ([]byte, error) { return []byte("new"), nil }); string(b) != "new" {
		t.Fatalf("got %q: an answer from before the clear was kept", b)
	}
}

// TestMicroCacheLeaderCancelledOthersServed: the request that started a
// fill goes away (its client gave up); the fill goes on, every other waiter
// gets the answer, and the one that left gets its own context's error at
// once. Before, the fill ran under the first request's context, and its
// cancellation failed every waiter with a 500.
func TestMicroCacheLeaderCancelledOthersServed(t *testing.T) {
	m := newMicroCache(time.Minute)
	started, release := make(chan struct{}), make(chan struct{})
	var fillErr atomic.Value
	fill := func(ctx context.Context) ([]byte, error) {
		close(started)
		<-release
		if err := ctx.Err(); err != nil {
			fillErr.Store(err)
			return nil, err
		}
		return []byte("v"), nil
	}
	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := m.get(leaderCtx, "k", fill)
		leaderDone <- err
	}()
	<-started
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := m.get(t.Context(), "k", func(context.Context) ([]byte, error) {
				t.Error("a second fill ran while the first was in flight")
				return nil, nil
			})
			if err != nil || string(b) != "v" {
				t.Errorf("waiter got %q, %v; want the answer", b, err)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // the waiters join the flight
	cancel()
	select {
	case err := <-leaderDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("leader: %v, want its own context's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled leader kept waiting for the fill")
	}
	close(release)
	wg.Wait()
	if err := fillErr.Load(); err != nil {
		t.Fatalf("the fill saw %v: the leader's cancellation reached it", err)
	}
	if b, err := m.get(t.Context(), "k", nil); err != nil || string(b) != "v" {
		t.Fatalf("after the flight: %q, %v; want the kept answer", b, err)
	}
}

// TestMicroCachePanicIsAnError: a panicking fill fails its waiters with an
// error (answered 500 by the error handler) instead of crashing the process,
// and is not cached.
func TestMicroCachePanicIsAnError(t *testing.T) {
	m := newMicroCache(time.Minute)
	_, err := m.get(t.Context(), "k", func(context.Context) ([]byte, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
	if b, err := m.get(t.Context(), "k", func(context.Context) ([]byte, error) { return []byte("ok"), nil }); err != nil || string(b) != "ok" {
		t.Fatalf("after a panic: %q, %v", b, err)
	}
}
