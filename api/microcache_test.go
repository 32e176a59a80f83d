package api

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMicroCacheFillsOnce: concurrent callers of a missing key share one fill.
func TestMicroCacheFillsOnce(t *testing.T) {
	m := newMicroCache(time.Minute)
	var fills atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := m.get("k", func() ([]byte, error) {
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
	m := newMicroCache(20 * time.Millisecond)
	n := 0
	fill := func() ([]byte, error) { n++; return []byte{byte(n)}, nil }
	m.get("k", fill)
	m.get("k", fill)
	if n != 1 {
		t.Fatalf("fills = %d", n)
	}
	time.Sleep(30 * time.Millisecond)
	m.get("k", fill)
	m.clear()
	m.get("k", fill)
	if n != 3 {
		t.Fatalf("fills = %d, want 3 (expiry and clear refill)", n)
	}
	boom := errors.New("boom")
	if _, err := m.get("e", func() ([]byte, error) { return nil, boom }); err != boom {
		t.Fatal(err)
	}
	if b, _ := m.get("e", func() ([]byte, error) { return []byte("ok"), nil }); string(b) != "ok" {
		t.Fatal("an error was cached")
	}
}

// TestMicroCacheClearDuringFill: an answer computed while clear ran is
// returned to its callers but not kept.
func TestMicroCacheClearDuringFill(t *testing.T) {
	m := newMicroCache(time.Minute)
	m.get("k", func() ([]byte, error) {
		m.clear()
		return []byte("old"), nil
	})
	if b, _ := m.get("k", func() ([]byte, error) { return []byte("new"), nil }); string(b) != "new" {
		t.Fatalf("got %q: an answer from before the clear was kept", b)
	}
}
