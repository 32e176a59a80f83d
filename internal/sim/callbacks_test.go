package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ackAfter serves callbacks, answering 500 to the first fails POSTs and
// "success" to the rest; it counts them.
func ackAfter(t *testing.T, fails int64) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		if n.Add(1) <= fails {
			rw.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = rw.Write([]byte("success"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// attemptTo is an attempt function POSTing to url, acknowledged by 200
// "success", counting its answers on acks.
func attemptTo(s *callbackSender, url string, acks *atomic.Int64) func() bool {
	return func() bool {
		status, answer := s.post(url, "text/plain", []byte("x"), nil)
		ok := status == http.StatusOK && answer == "success"
		if ok {
			acks.Add(1)
		}
		return ok
	}
}

func TestCallbackSenderRetriesUntilAcknowledged(t *testing.T) {
	srv, posts := ackAfter(t, 2)
	s := newCallbackSender(srv.Client(), 5*time.Second, []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond})
	var acks atomic.Int64
	s.deliver(0, attemptTo(s, srv.URL, &acks))
	s.wg.Wait()
	s.close()
	if posts.Load() != 3 || acks.Load() != 1 {
		t.Fatalf("posts %d, acks %d; want 3 posts, the last acknowledged", posts.Load(), acks.Load())
	}
}

func TestCallbackSenderScheduleEnds(t *testing.T) {
	srv, posts := ackAfter(t, 100)
	s := newCallbackSender(srv.Client(), 5*time.Second, []time.Duration{time.Millisecond, time.Millisecond})
	var acks atomic.Int64
	s.deliver(0, attemptTo(s, srv.URL, &acks))
	s.wg.Wait()
	s.close()
	if posts.Load() != 3 || acks.Load() != 0 {
		t.Fatalf("posts %d, acks %d; want the first attempt and 2 retries, none acknowledged", posts.Load(), acks.Load())
	}
}

func TestCallbackSenderFaults(t *testing.T) {
	for _, tc := range []struct {
		fault string
		known bool
		posts int64
	}{
		{"", true, 1}, {faultDrop, true, 0}, {faultDuplicate, true, 2}, {faultDelay, true, 1}, {wxpFaultReorder, false, 0},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			srv, posts := ackAfter(t, 0)
			s := newCallbackSender(srv.Client(), 5*time.Second, []time.Duration{time.Millisecond})
			var acks atomic.Int64
			start := time.Now()
			if got := s.send(tc.fault, 20*time.Millisecond, attemptTo(s, srv.URL, &acks)); got != tc.known {
				t.Fatalf("send reports %v, want %v", got, tc.known)
			}
			s.wg.Wait()
			s.close()
			if posts.Load() != tc.posts || acks.Load() != tc.posts {
				t.Fatalf("posts %d, acks %d, want %d", posts.Load(), acks.Load(), tc.posts)
			}
			if tc.fault == faultDelay && time.Since(start) < 20*time.Millisecond {
				t.Fatal("the delayed callback left before its delay")
			}
		})
	}
}

// TestCallbackSenderInOrder: held callbacks are attempted one after the
// other, in the order given.
func TestCallbackSenderInOrder(t *testing.T) {
	var mu sync.Mutex
	var order []int
	s := newCallbackSender(http.DefaultClient, time.Second, nil)
	var attempts []func() bool
	for i := range 5 {
		attempts = append(attempts, func() bool {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, i)
			return true
		})
	}
	s.inOrder(attempts)
	s.wg.Wait()
	s.close()
	for i, v := range order {
		if v != i {
			t.Fatalf("order %v", order)
		}
	}
	if len(order) != 5 {
		t.Fatalf("order %v", order)
	}
}

// TestCallbackSenderCloseStopsRetries: close does not wait out the schedule.
func TestCallbackSenderCloseStopsRetries(t *testing.T) {
	srv, posts := ackAfter(t, 100)
	s := newCallbackSender(srv.Client(), 5*time.Second, []time.Duration{time.Hour})
	var acks atomic.Int64
	s.deliver(0, attemptTo(s, srv.URL, &acks))
	for posts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.close() // returns only once the delivery's goroutine has ended
	if posts.Load() != 1 {
		t.Fatalf("posts %d", posts.Load())
	}
}

func TestCallbackFaultCounts(t *testing.T) {
	f := callbackFault{Callback: faultDuplicate, CallbackCount: 2}
	var got []string
	for range 3 {
		got = append(got, f.take())
	}
	if got[0] != faultDuplicate || got[1] != faultDuplicate || got[2] != "" {
		t.Fatalf("a counted fault must apply to exactly its count: %q", got)
	}
	f = callbackFault{Callback: wxpFaultReorder, CallbackCount: 2}
	for range 3 {
		if f.take(wxpFaultReorder) != wxpFaultReorder || f.CallbackCount != 2 {
			t.Fatal("an uncounted fault must stay")
		}
	}
	f = callbackFault{Callback: faultDrop}
	for range 3 {
		if f.take() != faultDrop {
			t.Fatal("count 0 means every callback")
		}
	}
	for _, tc := range []struct {
		f    callbackFault
		want string
	}{
		{callbackFault{}, ""},
		{callbackFault{Callback: faultDrop}, ""},
		{callbackFault{Callback: faultDelay, CallbackDelay: "2s"}, ""},
		{callbackFault{Callback: faultDelay, CallbackDelay: "-2s"}, "callback_delay must be a positive Go duration"},
		{callbackFault{Callback: faultDelay}, "callback_delay must be a positive Go duration"},
		{callbackFault{Callback: wxpFaultReorder}, `callback must be "drop" or "delay"`},
	} {
		if got := tc.f.check([]string{faultDrop}, `"drop" or "delay"`); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
}

// TestFaultsControlRoundTrip: both payment simulators' faults endpoints keep
// a valid PUT (same JSON fields as before the shared code), refuse a bad one
// without change, and DELETE clears them.
func TestFaultsControlRoundTrip(t *testing.T) {
	_, aliSrv, _ := newAliSim(t)
	_, wxpSrv, _ := newWxpSim(t)
	for _, tc := range []struct{ base, good, bad, badWant string }{
		{aliSrv.URL + aliControl + "/faults", `{"api_status":200,"api_count":2,"callback":"delay","callback_count":1,"callback_delay":"2s"}`,
			`{"api_status":429}`, "api_status must be 200 (code 20000) or 5xx"},
		{wxpSrv.URL + wxpControl + "/faults", `{"api_status":429,"api_count":2,"callback":"reorder","callback_count":1,"callback_delay":"2s"}`,
			`{"callback":"late"}`, `callback must be \"drop\"`},
	} {
		call := func(method, body string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(method, tc.base, strings.NewReader(body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, strings.TrimSpace(string(b))
		}
		if st, _ := call(http.MethodPut, tc.good); st != http.StatusOK {
			t.Fatalf("PUT %s: %d", tc.good, st)
		}
		if st, body := call(http.MethodPut, tc.bad); st != http.StatusBadRequest || !strings.Contains(body, tc.badWant) {
			t.Fatalf("PUT %s: %d %s", tc.bad, st, body)
		}
		if st, body := call(http.MethodGet, ""); st != http.StatusOK || body != tc.good {
			t.Fatalf("GET after a refused PUT: %d %s, want %s", st, body, tc.good)
		}
		if st, _ := call(http.MethodDelete, ""); st != http.StatusNoContent {
			t.Fatalf("DELETE: %d", st)
		}
		if _, body := call(http.MethodGet, ""); body != `{"api_status":0,"api_count":0,"callback":"","callback_count":0,"callback_delay":""}` {
			t.Fatalf("GET after DELETE: %s", body)
		}
	}
}
