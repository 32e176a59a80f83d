package api

import (
	"sync"
	"time"
)

// microCache keeps rendered answers of hot public reads (availability) for a
// short time in this process, and lets only one caller compute a missing
// answer while the others wait for it. Booking stays exact regardless: the
// seat arbiters decide; the cache only bounds how stale a displayed count may
// be (ttl), and this process drops it on its own bookings and cancellations.
type microCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	gen     uint64 // bumped by clear: an answer computed across a clear is not kept
	entries map[string]cacheEntry
	flights map[string]*cacheFlight
}

type cacheEntry struct {
	body  []byte
	until time.Time
}

type cacheFlight struct {
	done chan struct{}
	body []byte
	err  error
}

func newMicroCache(ttl time.Duration) *microCache {
	return &microCache{ttl: ttl, entries: map[string]cacheEntry{}, flights: map[string]*cacheFlight{}}
}

// get returns the cached answer of key, or computes it with fill (once for
// all concurrent callers). Errors are fill's, and are not cached.
func (m *microCache) get(key string, fill func() ([]byte, error)) ([]byte, error) {
	now := time.Now()
	m.mu.Lock()
	if e, ok := m.entries[key]; ok && now.Before(e.until) {
		m.mu.Unlock()
		return e.body, nil
	}
	if f, ok := m.flights[key]; ok {
		m.mu.Unlock()
		<-f.done
		return f.body, f.err
	}
	f := &cacheFlight{done: make(chan struct{})}
	m.flights[key] = f
	gen := m.gen
	if len(m.entries) > 10000 { // bounded: drop everything rather than grow
		m.entries = map[string]cacheEntry{}
	}
	m.mu.Unlock()

	f.body, f.err = fill()
	m.mu.Lock()
	delete(m.flights, key)
	if f.err == nil && gen == m.gen {
		m.entries[key] = cacheEntry{body: f.body, until: time.Now().Add(m.ttl)}
	}
	m.mu.Unlock()
	close(f.done)
	return f.body, f.err
}

// clear drops every cached answer.
func (m *microCache) clear() {
	m.mu.Lock()
	m.entries = map[string]cacheEntry{}
	m.gen++
	m.mu.Unlock()
}
