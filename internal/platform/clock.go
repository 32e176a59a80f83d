package platform

import (
	"errors"
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

// OffsetClock is the wall clock moved forward by an offset that only grows:
// development's clock, which the simulators' clock control advances so a
// walkthrough can reach tomorrow's appointment, a reminder or a no-show.
// Safe for concurrent use.
type OffsetClock struct {
	mu     sync.Mutex
	offset time.Duration
	now    func() time.Time
}

// NewOffsetClock returns a clock standing at the wall clock.
func NewOffsetClock() *OffsetClock { return &OffsetClock{now: time.Now} }

// Now returns the wall clock plus the offset, in UTC.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Add(c.offset).UTC()
}

// Offset returns how far the clock is ahead of the wall clock.
func (c *OffsetClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Advance moves the clock forward by d; a negative d is refused (time never
// runs backwards: expiries, no-shows and bookings depend on it).
func (c *OffsetClock) Advance(d time.Duration) error {
	if d < 0 {
		return errors.New("the clock only moves forward")
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return nil
}

// AdvanceTo moves the clock forward to t; a t in the clock's past is refused.
func (c *OffsetClock) AdvanceTo(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := t.Sub(c.now().Add(c.offset))
	if d < 0 {
		return errors.New("the clock only moves forward")
	}
	c.offset += d
	return nil
}
