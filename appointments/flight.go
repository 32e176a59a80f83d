package appointments

import "sync"

// flightGroup runs one call per key at a time inside this process; callers
// arriving meanwhile wait for it and share its error (a minimal singleflight,
// used so a crowd meeting an empty Redis rebuilds a slot once, not once per
// request).
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	err  error
}

func newFlightGroup() *flightGroup { return &flightGroup{calls: map[string]*flightCall{}} }

func (g *flightGroup) do(key string, fn func() error) error {
	g.mu.Lock()
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		<-c.done
		return c.err
	}
	c := &flightCall{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()
	c.err = fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(c.done)
	return c.err
}
