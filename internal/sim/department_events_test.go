package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform"
)

// deptFixture is a department simulator served by httptest on a manual
// clock.
type deptFixture struct {
	t     *testing.T
	clock *platform.ManualClock
	d     *Department
	url   string
}

func newDeptFixture(t *testing.T, banshiURL string) *deptFixture {
	t.Helper()
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC))
	d := NewDepartment(DepartmentOptions{BanshiURL: banshiURL, Clock: clock})
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	return &deptFixture{t: t, clock: clock, d: d, url: srv.URL}
}

// do sends body to path and returns the status and the answer.
func (f *deptFixture) do(method, path, body string, h http.Header) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// signed are the headers Banshi's outbound channel sets on an event to
// integration source at the department's events path, signed with secret.
func (f *deptFixture) signed(source, pathID, secret, body string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	platform.SignHook(h, source, secret, http.MethodPost, "/sim/department/"+pathID+"/events", f.clock.Now(), []byte(body))
	return h
}

// deliver posts body to integration id's events path as Banshi does.
func (f *deptFixture) deliver(id, secret, body string) (int, string) {
	f.t.Helper()
	return f.do(http.MethodPost, "/sim/department/"+id+"/events", body, f.signed(id, id, secret, body))
}

// events lists what integration id received.
func (f *deptFixture) events(id string) ([]DepartmentEvent, int) {
	f.t.Helper()
	st, body := f.do(http.MethodGet, "/sim/department/"+id+"/events", "", nil)
	if st != http.StatusOK {
		f.t.Fatalf("events: %d %s", st, body)
	}
	var out struct {
		Events  []DepartmentEvent `json:"events"`
		Refused int               `json:"refused_signatures"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		f.t.Fatal(err)
	}
	return out.Events, out.Refused
}

const paymentEvent = `{"event_id":"evt-1","type":"payment.succeeded","bill_no":"B2026031600001","order_no":"ORD20260316001","amount_fen":12345,"paid_at":"2026-03-16T10:00:00+08:00","channel":"wechat_jsapi","channel_trade_no":"4200002026031600001"}`

// TestDepartmentReceivesEvents: verified events are recorded and answered
// per outcome (accept, refuse, timeout at once); forged, stale, replayed
// and misaddressed deliveries are 401 and never recorded.
func TestDepartmentReceivesEvents(t *testing.T) {
	f := newDeptFixture(t, "http://127.0.0.1:1")
	secret := strings.Repeat("ab", 32)
	if st, _ := f.deliver("dept-a", secret, paymentEvent); st != http.StatusNotFound {
		t.Fatalf("before the secret: %d", st)
	}
	if st, _ := f.do(http.MethodGet, "/sim/department/dept-a/events", "", nil); st != http.StatusNotFound {
		t.Fatalf("list before the secret: %d", st)
	}
	for _, body := range []string{`{"secret":"` + secret + `","outcome":"later"}`, `{}`} {
		if st, _ := f.do(http.MethodPut, "/sim/department/dept-a", body, nil); st != http.StatusBadRequest {
			t.Errorf("PUT %s: %d", body, st)
		}
	}
	// Only the outcome, before the simulator knows the secret: 404.
	if st, _ := f.do(http.MethodPut, "/sim/department/dept-a", `{"outcome":"accept"}`, nil); st != http.StatusNotFound {
		t.Errorf(`PUT {"outcome"} before the secret: %d`, st)
	}
	if st, _ := f.do(http.MethodGet, "/sim/department/dept-a/events", "", nil); st != http.StatusNotFound {
		t.Fatalf("a refused PUT created the integration: %d", st)
	}
	if st, _ := f.do(http.MethodPut, "/sim/department/dept-a", `{"secret":"`+secret+`"}`, nil); st != http.StatusNoContent {
		t.Fatalf("put: %d", st)
	}

	// Accepted.
	st, body := f.deliver("dept-a", secret, paymentEvent)
	if st != http.StatusOK || strings.TrimSpace(body) != `{"accepted":true}` {
		t.Fatalf("accept: %d %s", st, body)
	}
	evs, refused := f.events("dept-a")
	if len(evs) != 1 || refused != 0 || string(evs[0].Event) != paymentEvent || evs[0].EventID != "evt-1" ||
		evs[0].Type != "payment.succeeded" || evs[0].Status != 200 || !evs[0].Accepted || evs[0].Outcome != "accept" ||
		!evs[0].ReceivedAt.Equal(f.clock.Now()) {
		t.Fatalf("recorded %+v (refused %d)", evs, refused)
	}

	// Refused before recording.
	replay := f.signed("dept-a", "dept-a", secret, paymentEvent)
	if st, _ := f.do(http.MethodPost, "/sim/department/dept-a/events", paymentEvent, replay); st != http.StatusOK {
		t.Fatalf("first of the replayed: %d", st)
	}
	if st, body := f.do(http.MethodPost, "/sim/department/dept-a/events", paymentEvent, replay); st != http.StatusUnauthorized || !strings.Contains(body, `"code":"replayed"`) {
		t.Fatalf("replayed: %d %s", st, body)
	}
	stale := f.signed("dept-a", "dept-a", secret, paymentEvent)
	f.clock.Advance(platform.HookMaxSkew + time.Second)
	forged := []struct {
		name string
		h    http.Header
		body string
	}{
		{"wrong secret", f.signed("dept-a", "dept-a", strings.Repeat("cd", 32), paymentEvent), paymentEvent},
		{"tampered body", f.signed("dept-a", "dept-a", secret, paymentEvent), strings.Replace(paymentEvent, "12345", "1", 1)},
		{"another source", f.signed("dept-b", "dept-a", secret, paymentEvent), paymentEvent},
		{"signed for another path", f.signed("dept-a", "dept-b", secret, paymentEvent), paymentEvent},
		{"unsigned", http.Header{}, paymentEvent},
		{"stale", stale, paymentEvent},
	}
	for _, c := range forged {
		st, body := f.do(http.MethodPost, "/sim/department/dept-a/events", c.body, c.h)
		if st != http.StatusUnauthorized || !strings.Contains(body, `"code":"signature_`) {
			t.Errorf("%s: %d %s", c.name, st, body)
		}
	}
	if st, _ := f.deliver("dept-a", secret, `not json`); st != http.StatusBadRequest {
		t.Errorf("not JSON: %d", st)
	}
	evs, refused = f.events("dept-a")
	if len(evs) != 2 || refused != 1+len(forged) {
		t.Fatalf("after refusals: %d events, %d refused", len(evs), refused)
	}

	// Refuse, then timeout (answered at once), then accept again with a PUT
	// that names no outcome; SetSecret keeps the outcome.
	if st, _ := f.do(http.MethodPut, "/sim/department/dept-a", `{"secret":"`+secret+`","outcome":"refuse"}`, nil); st != http.StatusNoContent {
		t.Fatal("put refuse")
	}
	f.d.SetSecret("dept-a", secret)
	st, body = f.deliver("dept-a", secret, `{"event_id":"evt-2","type":"payment.succeeded"}`)
	if st != http.StatusConflict || !strings.Contains(body, `"code":"bill_not_payable"`) {
		t.Fatalf("refuse: %d %s", st, body)
	}
	if err := f.d.SetOutcome("dept-a", "never"); err == nil {
		t.Fatal("an unknown outcome was taken")
	}
	if err := f.d.SetOutcome("dept-a", DepartmentTimeout); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, _ = f.deliver("dept-a", secret, `{"event_id":"evt-3"}`)
	if st != http.StatusGatewayTimeout || time.Since(start) > 2*time.Second {
		t.Fatalf("timeout: %d after %v", st, time.Since(start))
	}
	if st, _ := f.do(http.MethodPut, "/sim/department/dept-a", `{"secret":"`+secret+`"}`, nil); st != http.StatusNoContent {
		t.Fatal("put accept")
	}
	if st, _ := f.deliver("dept-a", secret, `[1,2]`); st != http.StatusOK {
		t.Fatalf("accept again: %d", st)
	}
	evs, _ = f.events("dept-a")
	want := []struct {
		id, outcome string
		status      int
		accepted    bool
	}{{"evt-1", "accept", 200, true}, {"evt-1", "accept", 200, true}, {"evt-2", "refuse", 409, false}, {"evt-3", "timeout", 504, false}, {"", "accept", 200, true}}
	if len(evs) != len(want) {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	for i, w := range want {
		if e := evs[i]; e.EventID != w.id || e.Outcome != w.outcome || e.Status != w.status || e.Accepted != w.accepted {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
}

// TestDepartmentEventsConcurrently: deliveries racing with outcome changes
// are each recorded once, with the answer they were given.
func TestDepartmentEventsConcurrently(t *testing.T) {
	f := newDeptFixture(t, "http://127.0.0.1:1")
	secret := strings.Repeat("ef", 32)
	f.d.SetSecret("dept-c", secret)
	const n = 100
	answers := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"event_id":"evt-` + strconv.Itoa(i) + `"}`
			req, _ := http.NewRequest(http.MethodPost, f.url+"/sim/department/dept-c/events", bytes.NewReader([]byte(body)))
			req.Header = f.signed("dept-c", "dept-c", secret, body)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			answers[i] = res.StatusCode
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			_ = f.d.SetOutcome("dept-c", []string{DepartmentAccept, DepartmentRefuse, DepartmentTimeout}[i%3])
		}
	}()
	wg.Wait()
	evs, refused := f.events("dept-c")
	if len(evs) != n || refused != 0 {
		t.Fatalf("%d events, %d refused", len(evs), refused)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		i, err := strconv.Atoi(strings.TrimPrefix(e.EventID, "evt-"))
		if err != nil || seen[e.EventID] || answers[i] != e.Status {
			t.Fatalf("event %+v answered %d", e, answers[i])
		}
		seen[e.EventID] = true
	}
}

// TestDepartmentSendsBills: POST …/bills signs the bill event and posts it
// to Banshi's bills hook (verified there with Banshi's verifier), with an
// event_id when it has none and nothing else added.
func TestDepartmentSendsBills(t *testing.T) {
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC))
	secret := strings.Repeat("ab", 32)
	v := platform.NewHookVerifier(deptKeys{"dept-a": {secret}}, &deptNonces{seen: map[string]bool{}}, clock)
	var mu sync.Mutex
	var got [][]byte
	banshi := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(r.Context(), r.Method, r.URL.Path, r.Header, body); err != nil || r.URL.Path != BillsHookPath {
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusCreated)
		_, _ = rw.Write([]byte(`{"bill_no":"B1"}`))
	}))
	defer banshi.Close()
	f := newDeptFixture(t, banshi.URL)
	f.clock.Set(clock.Now())
	bill := `{"action":"issue","bill_no":"B1","kind":"non_tax","amount_fen":12345,"payer":{"type":"person","id_number":"110101199003071234","name":"张三"}}`
	if st, _ := f.do(http.MethodPost, "/sim/department/dept-a/bills", bill, nil); st != http.StatusNotFound {
		t.Fatalf("before the secret: %d", st)
	}
	f.d.SetSecret("dept-a", secret)
	for _, bad := range []string{`[1]`, `nope`, `null`} {
		if st, _ := f.do(http.MethodPost, "/sim/department/dept-a/bills", bad, nil); st != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, st)
		}
	}
	if len(got) != 0 {
		t.Fatal("a refused body reached Banshi")
	}
	st, body := f.do(http.MethodPost, "/sim/department/dept-a/bills", bill, nil)
	if st != http.StatusCreated || body != `{"bill_no":"B1"}` || len(got) != 1 {
		t.Fatalf("bill: %d %s", st, body)
	}
	var sent map[string]any
	if err := json.Unmarshal(got[0], &sent); err != nil {
		t.Fatal(err)
	}
	id, _ := sent["event_id"].(string)
	if !strings.HasPrefix(id, "sim-") || sent["occurred_at"] != nil || sent["bill_no"] != "B1" || !strings.Contains(string(got[0]), `"amount_fen":12345`) || len(sent) != 6 {
		t.Fatalf("sent %s", got[0])
	}
}

// TestDepartmentOutcomeAlone: once the simulator knows the secret, a PUT of
// the outcome alone changes how it answers and keeps the secret.
func TestDepartmentOutcomeAlone(t *testing.T) {
	f := newDeptFixture(t, "http://127.0.0.1:1")
	secret := strings.Repeat("cd", 32)
	if st, _ := f.do(http.MethodPut, "/sim/department/dept-b", `{"secret":"`+secret+`"}`, nil); st != http.StatusNoContent {
		t.Fatalf("put secret: %d", st)
	}
	if st, _ := f.do(http.MethodPut, "/sim/department/dept-b", `{"outcome":"refuse"}`, nil); st != http.StatusNoContent {
		t.Fatalf("put outcome: %d", st)
	}
	if st, _ := f.deliver("dept-b", secret, paymentEvent); st != http.StatusConflict {
		t.Fatalf("refusing department answered %d", st)
	}
}
