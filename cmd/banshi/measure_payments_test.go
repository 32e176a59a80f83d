package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/loadtest"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
	"banshi/payments"
)

// The payments' benchmarks (BENCHMARKS.md). Each run is one whole scenario
// on a Banshi of its own; run them once each:
//
//	BANSHI_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	  go test -run XXX -bench Payments -benchtime 1x -timeout 30m ./cmd/banshi

// mpTimings keeps how long Banshi's handler took over the requests of some
// routes, measured around the whole handler (middleware included), from
// the request read to the answer written.
type mpTimings struct {
	mu     sync.Mutex
	lat    map[string][]time.Duration
	status map[string]map[int]int
}

// mpRoute names the routes timed: the WeChat Pay callback hook, citizens'
// order creation, and the WeChat Pay simulator's JSAPI prepay (which order
// creation calls over HTTP). Other requests are not timed ("").
func mpRoute(r *http.Request) string {
	switch {
	case r.Method != http.MethodPost:
		return ""
	case r.URL.Path == apiV1+"/hooks/wechatpay":
		return "hook"
	case strings.HasPrefix(r.URL.Path, apiV1+"/bills/") && strings.HasSuffix(r.URL.Path, "/orders"):
		return "order"
	case r.URL.Path == "/sim/wechatpay/v3/pay/transactions/jsapi":
		return "prepay"
	}
	return ""
}

// mpStatusWriter remembers the status written.
type mpStatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *mpStatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *mpStatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *mpStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap times next's requests of the routes mpRoute names.
func (m *mpTimings) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		route := mpRoute(r)
		if route == "" {
			next.ServeHTTP(rw, r)
			return
		}
		sw := &mpStatusWriter{ResponseWriter: rw}
		t0 := time.Now()
		next.ServeHTTP(sw, r)
		d := time.Since(t0)
		m.mu.Lock()
		m.lat[route] = append(m.lat[route], d)
		if m.status[route] == nil {
			m.status[route] = map[int]int{}
		}
		m.status[route][sw.status]++
		m.mu.Unlock()
	})
}

// count is how many requests of the route were timed so far.
func (m *mpTimings) count(route string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.lat[route])
}

// take returns the route's latencies and statuses so far and forgets them.
func (m *mpTimings) take(route string) ([]time.Duration, map[int]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, s := m.lat[route], m.status[route]
	delete(m.lat, route)
	delete(m.status, route)
	return l, s
}

// mpStack is measureStack with the app's handler timed by mpTimings: a
// Banshi of its own, background work running, the simulators in process.
func mpStack(t testing.TB) (*stack, *mpTimings) {
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
	tm := &mpTimings{lat: map[string][]time.Duration{}, status: map[string]map[int]int{}}
	srv := httptest.NewUnstartedServer(tm.wrap(app.HTTP.Handler()))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); app.Wait(); app.Close() })
	return &stack{app: app, srv: srv, url: srv.URL, cfg: cfg}, tm
}

// mpDept creates a department integration with the bills scope whose
// callbacks go to the department simulator, and tells the simulator its
// secret: bills are issued through the simulator, which also receives and
// records Banshi's payment.succeeded events (and accepts them).
func mpDept(t testing.TB, s *stack) dept {
	t.Helper()
	admin := s.staffLogin(t, staff.DemoAdmin)
	id := "mp-" + platformtest.RandomID()
	a := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/integrations", admin, map[string]any{
		"id": id, "name": "测试非税收入系统", "scopes": []string{integrations.ScopeBills},
		"callback_url": s.url + "/sim/department/" + id + "/events",
	}))
	d := dept{ID: id, Secret: a.str("secret")}
	s.must(t, 204, s.call(t, "PUT", "/sim/department/"+id, "", map[string]string{"secret": d.Secret, "outcome": "accept"}))
	return d
}

// mpIssue issues bill no for idNumber through the department simulator
// (signed by it, posted to Banshi's bills hook). Safe in goroutines: it
// returns the problem rather than failing the test.
func mpIssue(s *stack, d dept, no, idNumber string) error {
	a, err := s.try("POST", "/sim/department/"+d.ID+"/bills", "", s.billEvent("issue-"+no, payments.BillIssue, no, idNumber, nil))
	if err != nil {
		return err
	}
	if a.Status != http.StatusOK {
		return fmt.Errorf("issue %s: %d %s", no, a.Status, a.Raw)
	}
	return nil
}

// mpOrder opens a WeChat JSAPI order for bill no as the citizen of token.
func mpOrder(t testing.TB, s *stack, token, no string) answer {
	t.Helper()
	return s.must(t, 201, s.call(t, "POST", apiV1+"/bills/"+no+"/orders", token,
		map[string]string{"channel": string(payments.WeChatJSAPI)}, "Idempotency-Key", "mp-"+no))
}

// BenchmarkPaymentsDuplicateCallbacks: a level-3 citizen pays a bill with
// WeChat JSAPI, then the simulator delivers the same success callback 1,000
// times at once, each signed afresh. Banshi's acknowledgement latency is
// timed around its handler; exactly one paid transition, one department
// event and one citizen message must follow. Two cases:
//
//   - first-lost: the channel's first callback was lost, so the 1,000
//     deliveries find the order still paying and race to record it;
//   - after-ack: the first callback was acknowledged and its effects are
//     stored before the 1,000 duplicates arrive.
func BenchmarkPaymentsDuplicateCallbacks(b *testing.B) {
	b.Run("first-lost", func(b *testing.B) {
		for range b.N {
			mpDuplicateCallbacks(b, true)
		}
	})
	b.Run("after-ack", func(b *testing.B) {
		for range b.N {
			mpDuplicateCallbacks(b, false)
		}
	})
}

func mpDuplicateCallbacks(t *testing.B, loseFirst bool) {
	s, tm := mpStack(t)
	d := mpDept(t, s)
	p, token := levelThree(t, s)
	fin := s.staffLogin(t, staff.DemoFinance)
	no := "MPDUP" + strings.ToUpper(platformtest.RandomID()[:10])
	if err := mpIssue(s, d, no, p.IDNumber); err != nil {
		t.Fatal(err)
	}
	o := mpOrder(t, s, token, no)
	orderNo := o.str("order_no")
	params, _ := o.Body["pay_params"].(map[string]any)
	if orderNo == "" || params == nil {
		t.Fatalf("order: %s", o.Raw)
	}
	eventID := payments.EventPaymentSucceeded + ":" + orderNo
	deptEvents := func() int {
		var got struct {
			Events []struct {
				EventID string `json:"event_id"`
			} `json:"events"`
		}
		ea := s.must(t, 200, s.call(t, "GET", "/sim/department/"+d.ID+"/events", "", nil))
		if err := json.Unmarshal(ea.Raw, &got); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range got.Events {
			if e.EventID == eventID {
				n++
			}
		}
		return n
	}
	waitDeptEvent := func() {
		deadline := time.Now().Add(time.Minute)
		for deptEvents() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the department never received %s", eventID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	status := func() string {
		return s.must(t, 200, s.call(t, "GET", apiV1+"/finance/orders/"+orderNo, fin, nil)).str("status")
	}
	if loseFirst {
		s.must(t, 200, s.call(t, "PUT", "/sim/wechatpay/control/faults", "", map[string]any{"callback": "drop", "callback_count": 1}))
	}
	s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/pay", "", map[string]any{"pay_params": params, "outcome": "success"}))
	if loseFirst {
		if st := status(); st != payments.OrderPaying {
			t.Fatalf("the lost callback reached Banshi: order %s", st)
		}
	} else {
		waitDeptEvent() // the first callback's effects are all out
		if st := status(); st == payments.OrderPaying {
			t.Fatalf("the first callback was not recorded: order %s", st)
		}
	}
	tm.take("hook")

	// What the store costs: the one read a duplicate of a recorded payment
	// needs (the order by _id), 200 times in a row.
	const reads = 200
	r0 := time.Now()
	for range reads {
		if err := s.app.Mongo.DB.Collection(payments.CollOrders).FindOne(context.Background(), bson.M{"_id": orderNo}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	readCost := time.Since(r0) / reads

	const times = 1000
	start := time.Now()
	a := s.must(t, 200, s.call(t, "POST", "/sim/wechatpay/orders/"+orderNo+"/notify", "", map[string]int{"times": times}))
	wall := time.Since(start)
	// Handlers the simulator stopped waiting for (after WeChat's 5 s) may
	// still be running: their time counts too.
	for end := time.Now().Add(time.Minute); tm.count("hook") < times && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	lat, statuses := tm.take("hook")
	t.Logf("simulator's count of Banshi's answers: %s", a.Raw)
	if len(lat) != times || statuses[http.StatusOK]+statuses[http.StatusNoContent] != times {
		t.Errorf("%d callbacks reached the handler, statuses %v; want %d acknowledged", len(lat), statuses, times)
	}

	// Exactly one paid transition.
	var view payments.FinanceOrderView
	fa := s.must(t, 200, s.call(t, "GET", apiV1+"/finance/orders/"+orderNo, fin, nil))
	if err := json.Unmarshal(fa.Raw, &view); err != nil {
		t.Fatal(err)
	}
	paid := 0
	for _, tr := range view.Transitions {
		if tr.To == payments.OrderPaid {
			paid++
		}
	}
	if paid != 1 {
		t.Errorf("%d paid transitions, want 1: %s", paid, fa.Raw)
	}
	// One department event, as the department received it (after the
	// dispatcher ran; then a while longer for any second one).
	waitDeptEvent()
	time.Sleep(3 * time.Second)
	if n := deptEvents(); n != 1 {
		t.Errorf("the department received %s %d times, want once", eventID, n)
	}
	outbox, err := s.app.Mongo.DB.Collection("outbox").CountDocuments(context.Background(), bson.M{"message_id": eventID})
	if err != nil {
		t.Fatal(err)
	}
	var od struct {
		Published bool `bson:"published"`
	}
	if err := s.app.Mongo.DB.Collection(payments.CollOrders).FindOne(context.Background(), bson.M{"_id": orderNo}).Decode(&od); err != nil {
		t.Fatal(err)
	}
	// One citizen message.
	var inbox struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	ia := s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages", token, nil))
	if err := json.Unmarshal(ia.Raw, &inbox); err != nil {
		t.Fatal(err)
	}
	msgs := 0
	for _, m := range inbox.Messages {
		if m.ID == payments.KindPaid+":"+orderNo {
			msgs++
		}
	}
	if msgs != 1 {
		t.Errorf("%d %s messages in the citizen's inbox, want 1: %s", msgs, payments.KindPaid, ia.Raw)
	}
	t.Logf("%d concurrent deliveries of one success callback (first lost: %v): all answered in %v; ack at Banshi p50 %v, p99 %v, max %v; statuses %v; "+
		"paid transitions %d, department events %d (outbox deliveries %d), citizen messages %d, order published %v; one read of the order by _id %v (store %s, redis %s)",
		times, loseFirst, wall.Round(time.Millisecond), pct(lat, .5), pct(lat, .99), pct(lat, 1), statuses, paid, deptEvents(), outbox, msgs, od.Published,
		readCost, map[bool]string{true: "embedded FerretDB", false: "MongoDB"}[s.app.Mongo.Embedded],
		map[bool]string{true: "real", false: "miniredis"}[platformtest.RealRedis()])
	t.ReportMetric(float64(pct(lat, .5).Microseconds())/1000, "ack-p50-ms")
	t.ReportMetric(float64(pct(lat, .99).Microseconds())/1000, "ack-p99-ms")
	t.ReportMetric(wall.Seconds(), "all-answered-s")
	t.ReportMetric(float64(statuses[http.StatusOK]+statuses[http.StatusNoContent]), "acked")
	t.ReportMetric(float64(readCost.Microseconds())/1000, "order-read-ms")
}

// mpSettle waits (at most 5 minutes) until the outbox has nothing queued
// or sending — the citizens' messages of the bills just issued — so that
// the dispatchers' work does not share the measured time. It returns how
// long it waited.
func mpSettle(t testing.TB, s *stack) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		depth, err := s.app.Outbox.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if depth["queued"]+depth["sending"] == 0 {
			return time.Since(start)
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("outbox not settled after 5 minutes: %v", depth)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mpDrive runs conc closed-loop workers for at most d: worker w sends
// next(w)'s request as soon as its previous answer is read, until d is over
// or next has no more. Answers with status want count; any other answer or
// error counts as failed. It returns the counts, the time taken, the
// successful requests' latencies and the first few failures. Banshi's order creation and the bare
// handler are driven by this same code.
func mpDrive(conc int, d time.Duration, want int, next func(w int) (*http.Request, bool)) (ok, failed int, took time.Duration, lat []time.Duration, firstErrs []string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var (
		mu   sync.Mutex
		bad  atomic.Int64
		wg   sync.WaitGroup
		errs []string
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for time.Now().Before(deadline) {
				req, more := next(w)
				if !more {
					break
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if bad.Add(1) <= 3 {
						mu.Lock()
						errs = append(errs, err.Error())
						mu.Unlock()
					}
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					if bad.Add(1) <= 3 {
						mu.Lock()
						errs = append(errs, fmt.Sprintf("%d %s", resp.StatusCode, body))
						mu.Unlock()
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return len(lat), int(bad.Load()), time.Since(start), lat, errs
}

// BenchmarkPaymentsOrderCreation: WeChat JSAPI orders created per second
// over HTTP by 16 level-3 citizens at once, each paying their own bills
// (issued beforehand through the department simulator), beside the bare
// Echo + one Redis GET handler (loadtest.Baseline) driven by the same
// client code, with the same concurrency, for the same time. Beside them,
// to say where the time goes: one citizen's orders one at a time, the share
// of the simulator's prepay in the handler's time, and what one bill read
// costs on the store by _id and by the compare-and-swap's filter (_id and
// version), for the first bill issued and for the last.
func BenchmarkPaymentsOrderCreation(b *testing.B) {
	for range b.N {
		mpOrderCreation(b)
	}
}

func mpOrderCreation(t *testing.B) {
	s, tm := mpStack(t)
	d := mpDept(t, s)
	const conc, runFor = 16, 10 * time.Second
	perCitizen := measureCount(800) / conc
	type citizen struct {
		token string
		bills []string
		next  int
	}
	people := make([]*citizen, conc)
	for i := range people {
		p, token := levelThree(t, s)
		c := &citizen{token: token}
		for j := range perCitizen {
			c.bills = append(c.bills, fmt.Sprintf("MPO%s%02d%05d", strings.ToUpper(platformtest.RandomID()[:6]), i, j))
		}
		people[i] = c
		issueFor := p.IDNumber
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for k := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := k; j < len(c.bills); j += 4 {
					if err := mpIssue(s, d, c.bills[j], issueFor); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	issued := conc * perCitizen
	settled := mpSettle(t, s)
	t.Logf("%d bills issued for %d citizens; their messages dispatched after %v", issued, conc, settled.Round(time.Millisecond))
	// Unloaded: orders one after the other, each of another citizen (whose
	// bills lie elsewhere in the store).
	const alone = 10
	var aloneLat []time.Duration
	for i := range alone {
		c := people[i*conc/alone]
		t0 := time.Now()
		mpOrder(t, s, c.token, c.bills[c.next])
		aloneLat = append(aloneLat, time.Since(t0))
		c.next++
	}
	tm.take("order")
	tm.take("prepay")

	orders := func(w int) (*http.Request, bool) {
		c := people[w]
		if c.next >= len(c.bills) {
			return nil, false
		}
		no := c.bills[c.next]
		c.next++
		req, _ := http.NewRequest(http.MethodPost, s.url+apiV1+"/bills/"+no+"/orders", strings.NewReader(`{"channel":"wechat_jsapi"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Idempotency-Key", "mp-"+no)
		return req, true
	}
	nOrders, failed, took, lat, errs := mpDrive(conc, runFor, http.StatusCreated, orders)
	orderLat, orderStatus := tm.take("order")
	prepayLat, prepayStatus := tm.take("prepay")
	if failed > 0 || nOrders == 0 {
		t.Errorf("%d orders created, %d failed (statuses at Banshi %v): %v", nOrders, failed, orderStatus, errs)
	}
	if nOrders+alone == issued {
		t.Logf("every bill got its order before the %v were over: the run was shorter (%v)", runFor, took.Round(time.Millisecond))
	}
	orderRate := float64(nOrders) / took.Seconds()

	// The bare handler, for as long and with the same client code.
	const bareKey = "mp:bare"
	rdb := s.app.Redis.Client
	if err := rdb.Set(context.Background(), s.cfg.RedisPrefix+bareKey, "hello", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(loadtest.Baseline(rdb, s.cfg.RedisPrefix+bareKey))
	defer bare.Close()
	nBare, bareFailed, bareTook, bareLat, bareErrs := mpDrive(conc, took, http.StatusOK, func(int) (*http.Request, bool) {
		req, _ := http.NewRequest(http.MethodGet, bare.URL+"/bare", nil)
		return req, true
	})
	if bareFailed > 0 {
		t.Errorf("bare handler: %d failed: %v", bareFailed, bareErrs)
	}
	bareRate := float64(nBare) / bareTook.Seconds()

	// Where the time goes on this store: a bill read by _id, and read with
	// the filter the compare-and-swap updates use (_id and version), for
	// the first bill issued and the last.
	ctx := context.Background()
	bills := s.app.Mongo.DB.Collection(payments.CollBills)
	nBills, err := bills.CountDocuments(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	readCost := func(filter bson.M) time.Duration {
		const n = 10
		t0 := time.Now()
		for range n {
			if err := bills.FindOne(ctx, filter).Err(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(t0) / n
	}
	var byID, byCAS [2]time.Duration
	for i, no := range []string{people[0].bills[0], people[conc-1].bills[perCitizen-1]} {
		var one struct {
			Version int64 `bson:"version"`
		}
		if err := bills.FindOne(ctx, bson.M{"_id": no}).Decode(&one); err != nil {
			t.Fatal(err)
		}
		byID[i], byCAS[i] = readCost(bson.M{"_id": no}), readCost(bson.M{"_id": no, "version": one.Version})
	}

	var sumOrder, sumPrepay time.Duration
	for _, l := range orderLat {
		sumOrder += l
	}
	for _, l := range prepayLat {
		sumPrepay += l
	}
	share := 0.0
	if sumOrder > 0 {
		share = float64(sumPrepay) / float64(sumOrder)
	}
	t.Logf("order creation: %d orders in %v = %.0f orders/s (client p50 %v, p99 %v; at Banshi p50 %v, p99 %v; statuses %v)",
		nOrders, took.Round(time.Millisecond), orderRate, pct(lat, .5), pct(lat, .99), pct(orderLat, .5), pct(orderLat, .99), orderStatus)
	t.Logf("alone (one order at a time, each of another citizen): p50 %v, max %v", pct(aloneLat, .5), pct(aloneLat, 1))
	t.Logf("the simulator's JSAPI prepay inside it: %d calls (statuses %v), p50 %v, p99 %v, %.1f%% of the handler time of order creation",
		len(prepayLat), prepayStatus, pct(prepayLat, .5), pct(prepayLat, .99), 100*share)
	t.Logf("store (%s, %d bills): the first bill issued read by _id %v, by _id and version (the compare-and-swap's filter) %v; the last one %v and %v",
		map[bool]string{true: "embedded FerretDB", false: "MongoDB"}[s.app.Mongo.Embedded], nBills, byID[0], byCAS[0], byID[1], byCAS[1])
	t.Logf("bare Echo + Redis GET: %d requests in %v = %.0f req/s (p50 %v, p99 %v); ratio %.4f (goal ≥ 0.3); concurrency %d; redis %s",
		nBare, bareTook.Round(time.Millisecond), bareRate, pct(bareLat, .5), pct(bareLat, .99), orderRate/bareRate, conc,
		map[bool]string{true: "real", false: "miniredis"}[platformtest.RealRedis()])
	t.ReportMetric(orderRate, "orders/s")
	t.ReportMetric(bareRate, "bare-req/s")
	t.ReportMetric(orderRate/bareRate, "ratio")
	t.ReportMetric(float64(pct(aloneLat, .5).Microseconds())/1000, "alone-p50-ms")
	t.ReportMetric(float64(byCAS[1].Microseconds())/1000, "cas-read-last-ms")
}
