package loadtest

import (
	"errors"
	"flag"
	"time"
)

// Options are the load test's settings, set from the command line.
type Options struct {
	RedisURL    string        // Redis to use; empty: embedded miniredis
	Duration    time.Duration // how long each target is driven per round
	Concurrency int           // closed-loop workers per target
	Rounds      int           // alternating rounds of every target
	Crowd       int           // booking attempts released at once; 0 skips the flash crowd
	Seats       int           // seats of the flash-crowd slot
	CPUProfile  string        // file for a CPU profile of the measured rounds; empty: none
	Soak        time.Duration // length of the soak (a fixed-rate realistic mix) run instead of the rounds and the flash crowd; 0: no soak
	Rate        int           // the soak's arrivals (citizen actions) per second
}

// DefaultOptions are the documented defaults (BENCHMARKS.md).
func DefaultOptions() Options {
	return Options{
		RedisURL:    "redis://127.0.0.1:6379/0",
		Duration:    10 * time.Second,
		Concurrency: 32,
		Rounds:      2,
		Crowd:       2000,
		Seats:       100,
		Rate:        150,
	}
}

// Register defines the command-line flags of o on fs, with o's current
// values as defaults.
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.RedisURL, "redis", o.RedisURL, "Redis URL; keys go under a random prefix and are deleted afterwards (empty: embedded miniredis)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "how long each target is driven per round")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "concurrent closed-loop workers per target")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "alternating rounds of every target; the best round of each is compared")
	fs.IntVar(&o.Crowd, "crowd", o.Crowd, "booking attempts released at once for one slot (0: skip the flash crowd; preparing them takes minutes on the embedded MongoDB)")
	fs.IntVar(&o.Seats, "seats", o.Seats, "seats of the flash-crowd slot")
	fs.DurationVar(&o.Soak, "soak", o.Soak, "run a soak instead of the rounds and the flash crowd: a realistic mix of citizen routes at --rate for this long, reported per route with memory and goroutine samples; fails on any error (0: no soak)")
	fs.IntVar(&o.Rate, "rate", o.Rate, "the soak's fixed arrival rate: citizen actions started per second, open loop (a login or a booking with its cancellation is two requests)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", o.CPUProfile, "write a CPU profile of the measured rounds to this file")
}

// Validate reports settings the load test cannot run with.
func (o Options) Validate() error {
	var errs []error
	if o.Duration <= 0 {
		errs = append(errs, errors.New("--duration must be positive"))
	}
	if o.Concurrency < 1 {
		errs = append(errs, errors.New("--concurrency must be at least 1"))
	}
	if o.Rounds < 1 {
		errs = append(errs, errors.New("--rounds must be at least 1"))
	}
	if o.Crowd < 0 {
		errs = append(errs, errors.New("--crowd must not be negative"))
	}
	if o.Crowd > 0 && (o.Seats < 1 || o.Seats > o.Crowd) {
		errs = append(errs, errors.New("--seats must be between 1 and --crowd"))
	}
	if o.Soak < 0 {
		errs = append(errs, errors.New("--soak must not be negative"))
	}
	if o.Soak > 0 && o.Soak < time.Second {
		errs = append(errs, errors.New("--soak must be at least 1s"))
	}
	if o.Soak > 0 && (o.Rate < 1 || o.Rate > 10000) {
		errs = append(errs, errors.New("--rate must be between 1 and 10000 actions per second"))
	}
	return errors.Join(errs...)
}
