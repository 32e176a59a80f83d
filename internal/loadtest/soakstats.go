package loadtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// routeStats is what the soak measured of one route: the latencies of its
// answers the mix expects (2xx) and, by status and error code, the others.
type routeStats struct {
	lats   []time.Duration
	errors map[string]int // "<status> <code>" (status -1: transport error) → count
}

// recorder collects every request of a soak, by route. Safe for concurrent
// use.
type recorder struct {
	mu     sync.Mutex
	routes map[string]*routeStats
	total  int
	errs   int
}

func newRecorder() *recorder { return &recorder{routes: map[string]*routeStats{}} }

// ok records an answer the mix expects.
func (r *recorder) ok(route string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.route(route).lats = append(r.route(route).lats, d)
	r.total++
}

// fail records an error: an answer the mix does not expect (status and the
// API's error code, if any) or a transport error (status -1).
func (r *recorder) fail(route string, status int, code string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.route(route).errors[strconv.Itoa(status)+" "+code]++
	r.total++
	r.errs++
}

func (r *recorder) route(name string) *routeStats {
	s := r.routes[name]
	if s == nil {
		s = &routeStats{errors: map[string]int{}}
		r.routes[name] = s
	}
	return s
}

// counts returns the requests and errors so far.
func (r *recorder) counts() (total, errs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, r.errs
}

// RouteSummary is one route's line of the soak report.
type RouteSummary struct {
	Route          string
	OK, Errors     int
	P50, P99, Max  time.Duration
	ErrorsByStatus map[string]int // "<status> <code>" → count
}

// summary returns one line per route, in route order.
func (r *recorder) summary() []RouteSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.routes))
	for n := range r.routes {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]RouteSummary, 0, len(names))
	for _, n := range names {
		s := r.routes[n]
		rs := RouteSummary{Route: n, OK: len(s.lats), ErrorsByStatus: map[string]int{}}
		for k, c := range s.errors {
			rs.Errors += c
			rs.ErrorsByStatus[k] = c
		}
		if l := slices.Clone(s.lats); len(l) > 0 {
			slices.Sort(l)
			rs.P50, rs.P99, rs.Max = l[len(l)/2], l[len(l)*99/100], l[len(l)-1]
		}
		out = append(out, rs)
	}
	return out
}

// Sample is the process's state at one moment of the soak. The load
// generator runs in the same process as Banshi (and the embedded MongoDB),
// so the figures are of the whole process.
type Sample struct {
	At         time.Duration // since the soak started
	HeapInuse  uint64        // runtime.MemStats.HeapInuse, bytes
	RSS        uint64        // VmRSS from /proc/self/status, bytes; 0 if unreadable
	Goroutines int
	Requests   int // sent so far
	Errors     int // errors so far
}

// sample reads the process's state now.
func sample(at time.Duration, rec *recorder) Sample {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	total, errs := rec.counts()
	return Sample{At: at, HeapInuse: m.HeapInuse, RSS: readRSS("/proc/self/status"),
		Goroutines: runtime.NumGoroutine(), Requests: total, Errors: errs}
}

// readRSS returns the VmRSS line of a /proc/<pid>/status file in bytes, or
// 0 when it cannot be read (not Linux).
func readRSS(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// SoakReport is what a soak measured.
type SoakReport struct {
	Rate     int           // actions started per second
	Duration time.Duration // of the arrivals
	Elapsed  time.Duration // until the last answer
	Actions  int           // started
	MaxLag   time.Duration // worst delay of an action's start behind its schedule
	Routes   []RouteSummary
	Samples  []Sample
}

// Errors is the total of the routes' errors.
func (r SoakReport) Errors() int {
	n := 0
	for _, rt := range r.Routes {
		n += rt.Errors
	}
	return n
}

// window averages the samples taken within d of the start (first) or of the
// last sample (last); with a run shorter than 2d the two overlap.
func (r SoakReport) window(d time.Duration, last bool) (heap, rss float64, gor float64) {
	if len(r.Samples) == 0 {
		return 0, 0, 0
	}
	end := r.Samples[len(r.Samples)-1].At
	n := 0
	for _, s := range r.Samples {
		if (!last && s.At <= d) || (last && s.At >= end-d) {
			heap += float64(s.HeapInuse)
			rss += float64(s.RSS)
			gor += float64(s.Goroutines)
			n++
		}
	}
	return heap / float64(n), rss / float64(n), gor / float64(n)
}

// write prints the report: one line per route, the samples as a table, and
// the first minute against the last.
func (r SoakReport) write(w io.Writer) {
	const mib = 1 << 20
	total := 0
	for _, rt := range r.Routes {
		total += rt.OK + rt.Errors
	}
	fmt.Fprintf(w, "soak: %d actions/s for %s (%d actions, %d requests, %.0f req/s), all answered after %.1f s; worst start lag %.1f ms\n",
		r.Rate, r.Duration, r.Actions, total, float64(total)/r.Duration.Seconds(), r.Elapsed.Seconds(), ms(r.MaxLag))
	fmt.Fprintf(w, "%-46s %8s %7s %9s %9s %9s  %s\n", "route", "ok", "errors", "p50 ms", "p99 ms", "max ms", "errors by status")
	for _, rt := range r.Routes {
		keys := make([]string, 0, len(rt.ErrorsByStatus))
		for k := range rt.ErrorsByStatus {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var by []string
		for _, k := range keys {
			by = append(by, fmt.Sprintf("%s×%d", k, rt.ErrorsByStatus[k]))
		}
		fmt.Fprintf(w, "%-46s %8d %7d %9.2f %9.2f %9.2f  %s\n", rt.Route, rt.OK, rt.Errors, ms(rt.P50), ms(rt.P99), ms(rt.Max), strings.Join(by, ", "))
	}
	fmt.Fprintf(w, "%8s %14s %10s %11s %10s %7s\n", "t", "heap in use", "RSS", "goroutines", "requests", "errors")
	for _, s := range r.Samples {
		fmt.Fprintf(w, "%7.0fs %10.1f MiB %6.1f MiB %11d %10d %7d\n", s.At.Seconds(), float64(s.HeapInuse)/mib, float64(s.RSS)/mib, s.Goroutines, s.Requests, s.Errors)
	}
	fh, fr, fg := r.window(time.Minute, false)
	lh, lr, lg := r.window(time.Minute, true)
	fmt.Fprintf(w, "first minute → last minute (averages): heap in use %.1f → %.1f MiB, RSS %.1f → %.1f MiB, goroutines %.0f → %.0f\n",
		fh/mib, lh/mib, fr/mib, lr/mib, fg, lg)
	fmt.Fprintf(w, "soak errors: %d\n", r.Errors())
}
