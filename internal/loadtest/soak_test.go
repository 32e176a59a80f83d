package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBanshi answers the soak's routes as Banshi would, each after delay,
// booking with bookStatus; it counts requests by path and the most it
// answered at once.
type fakeBanshi struct {
	delay      time.Duration
	bookStatus int

	mu          sync.Mutex
	paths       map[string]int
	inFlight    int
	maxInFlight int
}

func (b *fakeBanshi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.paths[r.Method+" "+r.URL.Path]++
	b.inFlight++
	b.maxInFlight = max(b.maxInFlight, b.inFlight)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	time.Sleep(b.delay)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/sim/wechat/codes":
		_, _ = w.Write([]byte(`{"code":"c1"}`))
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/appointments":
		w.WriteHeader(b.bookStatus)
		if b.bookStatus == http.StatusCreated {
			_, _ = w.Write([]byte(`{"id":"appt-1"}`))
		} else {
			_, _ = w.Write([]byte(`{"error":{"code":"slot_full","message":"该时段已约满"}}`))
		}
	default:
		_, _ = w.Write([]byte(`{}`))
	}
}

func fakeFixture(t *testing.T, b *fakeBanshi) *soakFixture {
	t.Helper()
	b.paths = map[string]int{}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	f := &soakFixture{base: srv.URL, client: srv.Client(), rec: newRecorder(),
		free: make(chan string, 10), loginIDs: []string{"o1"}, slots: []string{"s1", "s2"}}
	for i := range 10 {
		f.tokens = append(f.tokens, fmt.Sprintf("t%d", i))
		f.free <- f.tokens[i]
	}
	return f
}

// TestRunSoakIsOpenLoop: arrivals start at the rate whatever the answers'
// delay (a server answering in 200 ms held many at once, where one
// closed-loop worker would have held one), every action of the mix is
// taken in a cycle of 100, and every request is recorded under its route.
func TestRunSoakIsOpenLoop(t *testing.T) {
	b := &fakeBanshi{delay: 200 * time.Millisecond, bookStatus: http.StatusCreated}
	f := fakeFixture(t, b)
	r := runSoak(context.Background(), f, 100, time.Second, 300*time.Millisecond)
	if r.Actions != 100 || r.Errors() != 0 {
		t.Fatalf("%d actions, %d errors", r.Actions, r.Errors())
	}
	if b.maxInFlight < 5 {
		t.Errorf("at most %d requests in flight: not open loop", b.maxInFlight)
	}
	got := map[string]RouteSummary{}
	total := 0
	for _, rt := range r.Routes {
		got[rt.Route] = rt
		total += rt.OK
	}
	for _, route := range SoakRoutes() {
		if rt := got[route]; rt.OK < 1 || rt.P50 <= 0 || rt.P99 < rt.P50 || rt.Max < rt.P99 {
			t.Errorf("%s: %+v", route, rt)
		}
	}
	if len(got) != len(SoakRoutes()) {
		t.Errorf("routes %v", got)
	}
	// 100 arrivals: 3 logins and 7 bookings send two requests each.
	if total != 110 || b.paths["POST /api/v1/appointments/appt-1/cancel"] != 7 || b.paths["POST /api/v1/auth/miniprogram/login"] != 3 {
		t.Errorf("%d requests recorded; server saw %v", total, b.paths)
	}
	if len(r.Samples) < 3 || r.Samples[0].At != 0 || r.Samples[len(r.Samples)-1].Requests != 110 || r.Samples[len(r.Samples)-1].Goroutines < 1 {
		t.Errorf("samples %+v", r.Samples)
	}
}

// TestSoakReportsUnexpectedAnswers: an answer the mix does not expect is
// an error of its route, reported with its status and error code, and the
// booking's cancellation is then not sent.
func TestSoakReportsUnexpectedAnswers(t *testing.T) {
	b := &fakeBanshi{bookStatus: http.StatusConflict}
	f := fakeFixture(t, b)
	r := runSoak(context.Background(), f, 200, 500*time.Millisecond, 100*time.Millisecond)
	if r.Errors() != 7 {
		t.Fatalf("%d errors, want the 7 bookings", r.Errors())
	}
	if n := b.paths["POST /api/v1/appointments/appt-1/cancel"]; n != 0 {
		t.Errorf("%d cancellations of a refused booking", n)
	}
	var out bytes.Buffer
	r.write(&out)
	for _, want := range []string{"409 slot_full×7", "soak errors: 7", "first minute → last minute"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSoakNeverWaitsForACitizen: when every citizen is still booking, a
// booking arrival is an error of its own (the target is behind the rate),
// not a wait that would make the run closed-loop.
func TestSoakNeverWaitsForACitizen(t *testing.T) {
	b := &fakeBanshi{bookStatus: http.StatusCreated}
	f := fakeFixture(t, b)
	for len(f.free) > 0 {
		<-f.free // all busy
	}
	r := runSoak(context.Background(), f, 200, 500*time.Millisecond, 100*time.Millisecond)
	if r.Errors() != 7 || b.paths["POST /api/v1/appointments"] != 0 {
		t.Fatalf("%d errors, %d bookings sent", r.Errors(), b.paths["POST /api/v1/appointments"])
	}
	for _, rt := range r.Routes {
		if rt.Route == routeBook && rt.ErrorsByStatus["0 no_free_citizen"] != 7 {
			t.Errorf("%+v", rt)
		}
	}
}

// TestSoakSequenceIsTheMix: the cycle of 100 arrivals holds each action
// as often as documented.
func TestSoakSequenceIsTheMix(t *testing.T) {
	n := map[action]int{}
	for _, a := range soakSequence() {
		n[a]++
	}
	want := map[action]int{actLogin: 3, actMe: 25, actHalls: 10, actServices: 10, actAvailability: 20, actBookCancel: 7, actMessages: 15, actBills: 10}
	if len(n) != len(want) {
		t.Fatalf("%v", n)
	}
	for a, c := range want {
		if n[a] != c {
			t.Errorf("action %d: %d of 100, want %d", a, n[a], c)
		}
	}
}

// TestReadRSS reads VmRSS in bytes and gives 0 for what it cannot read.
func TestReadRSS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status")
	if err := os.WriteFile(p, []byte("Name:\tbanshi\nVmPeak:\t  9 kB\nVmRSS:\t   2048 kB\nThreads:\t9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readRSS(p); got != 2048*1024 {
		t.Errorf("VmRSS: %d", got)
	}
	if got := readRSS(filepath.Join(dir, "absent")); got != 0 {
		t.Errorf("absent file: %d", got)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && readRSS("/proc/self/status") == 0 {
		t.Error("this process's RSS read as 0")
	}
}

// TestSoakSampleEvery: every 10 s in a real soak, five samples in a short one.
func TestSoakSampleEvery(t *testing.T) {
	if soakSampleEvery(5*time.Minute) != 10*time.Second || soakSampleEvery(5*time.Second) != time.Second {
		t.Error(soakSampleEvery(5*time.Minute), soakSampleEvery(5*time.Second))
	}
}
