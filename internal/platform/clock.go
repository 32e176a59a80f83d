package platform

import (
	"sync"
	"time"
)

// Clock tells the time. Production uses SystemClock; tests move a ManualClock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// ManualClock is a clock that only moves when told. Safe for concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t.UTC()} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

// Shanghai is the time zone of hall business days and opening hours.
// time.LoadLocation needs tzdata; a fixed +08:00 zone is exact for China, which
// has no daylight saving time.
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Shanghai returns the Asia/Shanghai time zone (UTC+8, no DST).
func Shanghai() *time.Location { return shanghai }

// Local returns t in Asia/Shanghai, the offset every answer shows (RFC 3339
// with +08:00); the zero time stays zero.
func Local(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(shanghai)
}
