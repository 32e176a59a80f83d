package api

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// microCache keeps rendered answers of hot public reads (availability) for a
// short time in this process, and lets only one caller compute a missing
// answer while the others wait for it (singleflight). Booking stays exact
// regardless: the seat arbiters decide; the cache only bounds how stale a
// displayed count may be (ttl), and this process drops it on its own bookings
// and cancellations.
type microCache struct {
	ttl     time.Duration
	flights singleflight.Group
	mu      sync.Mutex
	gen     uint64 // bumped by clear: an answer computed across a clear is not kept
	entries map[string]cacheEntry
}

type cacheEntry struct {
	body  []byte
	until time.Time
}

func newMicroCache(ttl time.Duration) *microCache {
	return &microCache{ttl: ttl, entries: map[string]cacheEntry{}}
}

// fillTimeout bounds one fill: it runs apart from the request that started
// it (see get), so a request's own deadline no longer bounds it.
const fillTimeout = 10 * time.Second

// get returns the cached answer of key, or computes it with fill (once for
// all concurrent callers). Errors are fill's, and are not cached, or ctx's
// when the caller's request ends first.
//
// fill runs under a context detached from the caller's cancellation (its
// values, such as the trace, are kept) and bounded by fillTimeout: the
// first caller's request being cancelled, by a client that gave up or its
// own deadline, must not fail every other caller waiting on the same
// flight. Each caller waits only as long as its own ctx allows. A panic in
// fill becomes an error for every waiter (singleflight would otherwise
// re-raise it where no middleware recovers it).
func (m *microCache) get(ctx context.Context, key string, fill func(context.Context) ([]byte, error)) ([]byte, error) {
	if body, ok := m.lookup(key); ok {
		return body, nil
	}
	ch := m.flights.DoChan(key, func() (v any, err error) {
		// A flight that ended between our lookup and DoChan may have stored it.
		if body, ok := m.lookup(key); ok {
			return body, nil
		}
		m.mu.Lock()
		gen := m.gen
		m.mu.Unlock()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fillTimeout)
		defer cancel()
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, fmt.Errorf("availability fill panicked: %v\n%s", r, debug.Stack())
			}
		}()
		body, err := fill(fctx)
		if err == nil {
			m.store(key, body, gen)
		}
		return body, err
	})
	select {
	case r := <-ch:
		body, _ := r.Val.([]byte)
		return body, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lookup returns the fresh cached answer of key.
func (m *microCache) lookup(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok || !time.Now().Before(e.until) {
		return nil, false
	}
	return e.body, true
}

// store keeps body for key unless clear ran since gen was read.
func (m *microCache) store(key string, body []byte, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen {
		return
	}
	if len(m.entries) > 10000 { // bounded: drop everything rather than grow
		m.entries = map[string]cacheEntry{}
	}
	m.entries[key] = cacheEntry{body: body, until: time.Now().Add(m.ttl)}
}

// clear drops every cached answer.
func (m *microCache) clear() {
	m.mu.Lock()
	m.entries = map[string]cacheEntry{}
	m.gen++
	m.mu.Unlock()
}
