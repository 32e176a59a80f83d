package platform

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestWindowCountDecide: the sliding estimate prev×(1−elapsed)+cur against
// the budget, and the wait it asks for when over.
func TestWindowCountDecide(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prev     string // "" absent
		cur      int64
		elapsed  float64
		allowed  bool
		min, max time.Duration
	}{
		{"first request", "", 1, 0.5, true, 0, 0},
		{"at the budget", "", 10, 0.1, true, 0, 0},
		{"over, nothing before", "", 11, 0.75, false, 14 * time.Second, 16 * time.Second}, // the minute's end
		{"previous minute still weighs", "10", 6, 0.5, false, time.Second, 31 * time.Second},
		{"previous minute slid out enough", "10", 6, 0.7, true, 0, 0},
		{"over on the current minute alone", "4", 12, 0.2, false, 47 * time.Second, 49 * time.Second},
		{"tiny overshoot waits at least a second", "100", 1, 0.905, false, time.Second, 2 * time.Second},
	} {
		ms := int64(tc.elapsed * 60000)
		w := &WindowCount{
			incr: redis.NewIntResult(tc.cur, nil), elapsed: tc.elapsed,
			toWindow: time.Duration(60000-ms) * time.Millisecond,
		}
		if tc.prev == "" {
			w.prev = redis.NewStringResult("", redis.Nil)
		} else {
			w.prev = redis.NewStringResult(tc.prev, nil)
		}
		d := w.Decide(10)
		if d.Allowed != tc.allowed || (!d.Allowed && (d.RetryAfter < tc.min || d.RetryAfter > tc.max)) {
			t.Errorf("%s: %+v, want allowed=%v wait in [%s, %s]", tc.name, d, tc.allowed, tc.min, tc.max)
		}
	}
	unread := &WindowCount{incr: redis.NewIntResult(0, errors.New("broken")), prev: redis.NewStringResult("", nil)}
	if !unread.Decide(1).Allowed {
		t.Error("an unreadable count refused the request")
	}
}
