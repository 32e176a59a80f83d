package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/internal/staff"
	"banshi/notify"
)

// The progress push's benchmarks (BENCHMARKS.md). Each run is one whole
// scenario on a Banshi of its own; run them once each:
//
//	BANSHI_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	  go test -run XXX -bench Progress -benchtime 1x -timeout 30m ./cmd/banshi

// measureStack is a Banshi of its own with its background work running
// (dispatchers, sweepers), as `banshi serve` runs it.
func measureStack(t testing.TB) *stack {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t.TempDir(), "http://"+ln.Addr().String())
	env["BANSHI_RATE_API"] = "100000"
	app, cfg := buildApp(t, env, true)
	ctx, cancel := context.WithCancel(context.Background())
	app.StartBackground(ctx)
	srv := httptest.NewUnstartedServer(app.HTTP.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); app.Wait(); app.Close() })
	return &stack{app: app, srv: srv, url: srv.URL, cfg: cfg}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkProgressIntake: signed application events posted by 16
// concurrent department connections; events per second and latency
// percentiles.
func BenchmarkProgressIntake(b *testing.B) {
	for range b.N {
		progressIntake(b)
	}
}

func progressIntake(t *testing.B) {
	s := measureStack(t)
	d := s.newDept(t, s.staffLogin(t, staff.DemoAdmin), "applications")
	total, workers := measureCount(3000), 16
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				body := s.appEvent(fmt.Sprintf("m-%d", i), fmt.Sprintf("GZ2026%09d", i), "accepted", newIDNumber(), nil)
				t0 := time.Now()
				a := s.hook(t, d, body, nil)
				lat[w] = append(lat[w], time.Since(t0))
				if a.Status != 200 {
					t.Errorf("event %d: %d %s", i, a.Status, a.Raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	all := slices.Concat(lat...)
	t.Logf("intake: %d events in %v = %.0f events/s; p50 %v, p99 %v, max %v (workers %d, redis %v)",
		len(all), took.Round(time.Millisecond), float64(len(all))/took.Seconds(), pct(all, .5), pct(all, .99), pct(all, 1), workers, map[bool]string{true: "real", false: "miniredis"}[platformtest.RealRedis()])
	t.ReportMetric(float64(len(all))/took.Seconds(), "events/s")
	t.ReportMetric(float64(pct(all, .99).Milliseconds()), "p99-ms")
}

// BenchmarkProgressEndToEnd: 100 events/s for 10 s to 50 citizens with a
// phone each; from the hook's 200 to the FCM simulator holding the message.
func BenchmarkProgressEndToEnd(b *testing.B) {
	for range b.N {
		progressEndToEnd(b)
	}
}

func progressEndToEnd(t *testing.B) {
	s := measureStack(t)
	d := s.newDept(t, s.staffLogin(t, staff.DemoAdmin), "applications")
	type citizen struct{ id, token string }
	var people []citizen
	for i := range 50 {
		p, tok := levelThree(t, s)
		phone := fmt.Sprintf("measure-phone-%d-%s", i, p.OpenID)
		s.must(t, 200, s.call(t, "POST", apiV1+"/me/devices", tok, map[string]string{"platform": "android", "token": phone}))
		people = append(people, citizen{p.IDNumber, phone})
	}
	const rate, seconds = 100, 10
	type sent struct {
		phone, no string
		at        time.Time
	}
	var mu sync.Mutex
	var out []sent
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := range rate * seconds {
		<-tick.C
		c := people[i%len(people)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			no := fmt.Sprintf("GZE2E%09d", i)
			a := s.hook(t, d, s.appEvent(fmt.Sprintf("e2e-%d", i), no, "accepted", c.id, nil), nil)
			at := time.Now()
			if a.Status != 200 {
				t.Errorf("event %d: %d %s", i, a.Status, a.Raw)
				return
			}
			mu.Lock()
			out = append(out, sent{c.token, no, at})
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Arrival times: the simulator records each message as it takes it.
	deadline := time.Now().Add(2 * time.Minute)
	var lat []time.Duration
	for _, x := range out {
		for {
			got := s.app.FCMSim.Messages(x.phone)
			i := slices.IndexFunc(got, func(m sim.FCMMessage) bool { return m.Data["application_no"] == x.no })
			if i >= 0 {
				lat = append(lat, got[i].ReceivedAt.Sub(x.at))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message for %s never reached the phone", x.no)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("end to end at %d events/s for %d s: %d messages; p50 %v, p99 %v, max %v", rate, seconds, len(lat), pct(lat, .5), pct(lat, .99), pct(lat, 1))
	t.ReportMetric(float64(pct(lat, .5).Milliseconds()), "p50-ms")
	t.ReportMetric(float64(pct(lat, .99).Milliseconds()), "p99-ms")
}

// BenchmarkProgressClosureNotice: a closure notice to 10,000 booked citizens,
// each with a phone (no subscribe credits: the WeChat channel skips them
// after reading their openid), published in one call as CancelClosedDays
// does, and dispatched until the queue is empty.
func BenchmarkProgressClosureNotice(b *testing.B) {
	for range b.N {
		progressClosureNotice(b)
	}
}

func progressClosureNotice(t *testing.B) {
	s := measureStack(t)
	const n = 10000
	ctx := context.Background()
	db := s.app.Mongo.DB
	// Fixture straight into the stores (registering 10,000 phones through
	// the API is not what is measured).
	var devices, index []any
	msgs := make([]notify.Message, n)
	now := time.Now().UTC()
	for i := range n {
		user := fmt.Sprintf("u_measure_%05d", i)
		tok := fmt.Sprintf("closure-phone-%05d", i)
		devices = append(devices, bson.M{"_id": tok, "user_id": user, "platform": "android", "created_at": now, "last_seen_at": now})
		index = append(index, bson.M{"_id": user, "tokens": bson.A{tok}})
		msgs[i] = notify.Message{ID: fmt.Sprintf("appointment_cancelled:measure-%05d", i), UserID: user, Kind: "appointment_cancelled",
			Title: "预约已取消", Body: "因台风停止办公，您的预约已取消。",
			Data: map[string]string{"appointment_id": fmt.Sprintf("measure-%05d", i), "service_name": "社会保障卡申领",
				"hall_name": "天河区政务服务中心", "start": "2026-11-24T09:00:00+08:00", "reason": "台风停止办公"}}
	}
	for _, c := range []struct {
		coll string
		docs []any
	}{{"devices", devices}, {"device_users", index}} {
		for len(c.docs) > 0 {
			k := min(len(c.docs), 1000)
			if _, err := db.Collection(c.coll).InsertMany(ctx, c.docs[:k]); err != nil {
				t.Fatal(err)
			}
			c.docs = c.docs[k:]
		}
	}
	start := time.Now()
	if err := s.app.Outbox.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	published := time.Since(start)
	for {
		depth, err := s.app.Outbox.Depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if depth["queued"]+depth["sending"] == 0 {
			break
		}
		if time.Since(start) > 20*time.Minute {
			t.Fatalf("not dispatched after 20 minutes: %v", depth)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	got := 0
	for i := range n {
		got += len(s.app.FCMSim.Messages(fmt.Sprintf("closure-phone-%05d", i)))
	}
	t.Logf("closure notice to %d citizens: published (inbox + %d deliveries) in %v, fully dispatched in %v; %d phones got it",
		n, 2*n, published.Round(time.Millisecond), took.Round(time.Millisecond), got)
	if got != n {
		t.Errorf("%d of %d phones got the notice", got, n)
	}
	t.ReportMetric(took.Seconds(), "dispatch-s")
}

// measureCount is n, or BANSHI_MEASURE_N when set (a shorter run).
func measureCount(n int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv("BANSHI_MEASURE_N"), &v); err == nil && v > 0 {
		return v
	}
	return n
}
