package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"banshi/internal/loadtest"
)

// TestLoadtestSoakEmbedded: `banshi loadtest --soak` against the embedded
// stack, for a few seconds at a low rate, sends every route of the mix,
// each answered as the mix expects (so the command succeeds), and reports
// each route's counts and percentiles, the process samples (RSS read from
// /proc, goroutines) and the first-against-last comparison.
func TestLoadtestSoakEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Banshi and logs 50 citizens in")
	}
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	// 30 arrivals a second for 4 s: 120 arrivals, more than the mix's cycle
	// of 100, so every action is taken.
	err := run(context.Background(), []string{"loadtest", "--redis", "", "--soak", "4s", "--rate", "30"},
		getenv(map[string]string{}), &out, testLog())
	report := out.String()
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, report)
	}
	t.Log(report)
	lines := strings.Split(report, "\n")
	for _, route := range loadtest.SoakRoutes() {
		found := false
		for _, l := range lines {
			rest, ok := strings.CutPrefix(l, route+" ")
			if !ok {
				continue
			}
			found = true
			f := strings.Fields(rest) // ok errors p50 p99 max
			if len(f) < 5 {
				t.Errorf("%s: line %q", route, l)
				continue
			}
			n, _ := strconv.Atoi(f[0])
			errs, _ := strconv.Atoi(f[1])
			p50, _ := strconv.ParseFloat(f[2], 64)
			p99, _ := strconv.ParseFloat(f[3], 64)
			mx, _ := strconv.ParseFloat(f[4], 64)
			if n < 1 || errs != 0 || p50 <= 0 || p99 < p50 || mx < p99 {
				t.Errorf("%s: %d ok, %d errors, p50 %v p99 %v max %v", route, n, errs, p50, p99, mx)
			}
		}
		if !found {
			t.Errorf("no line for %s in\n%s", route, report)
		}
	}
	samples := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 8 && strings.HasSuffix(f[0], "s") && f[2] == "MiB" && f[4] == "MiB" {
			rss, _ := strconv.ParseFloat(f[3], 64)
			gor, _ := strconv.Atoi(f[5])
			if rss <= 0 || gor < 1 {
				t.Errorf("sample %q: no RSS or goroutines", l)
			}
			samples++
		}
	}
	if samples < 3 {
		t.Errorf("%d samples in\n%s", samples, report)
	}
	for _, want := range []string{"soak: 30 actions/s for 4s (120 actions", "first minute → last minute", "soak errors: 0"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
