package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The payment simulators (Alipay, WeChat Pay) deliver signed callbacks the
// same way: each callback is POSTed at once (or after an injected delay),
// then re-sent on the channel's retry schedule until the merchant's answer
// counts as acknowledged, and the control API can inject faults (drop,
// duplicate, delay, and outages of the protocol API). What differs — how a
// callback is encoded and signed, and what answer acknowledges it — stays
// with each channel: it hands callbackSender an attempt function.

// Callback faults shared by the payment simulators.
const (
	faultDrop      = "drop"      // the callback is never sent
	faultDuplicate = "duplicate" // delivered twice (each with its retries)
	faultDelay     = "delay"     // the first attempt waits callback_delay
)

// apiFault answers protocol calls with an injected status (PUT
// …/control/faults "api_status", "api_count").
type apiFault struct {
	// APIStatus is the status injected (what it means is the channel's);
	// APICount calls, 0 = every call.
	APIStatus int `json:"api_status"`
	APICount  int `json:"api_count"`
}

// take reports the status the injected fault answers to this call, if any,
// and counts the call. The caller holds the simulator's lock.
func (f *apiFault) take() (int, bool) {
	if f.APIStatus == 0 {
		return 0, false
	}
	status := f.APIStatus
	if f.APICount > 0 {
		f.APICount--
		if f.APICount == 0 {
			f.APIStatus = 0
		}
	}
	return status, true
}

// check validates the fault: ok tells the statuses the channel can inject
// (besides 0: none), okText says which they are; it returns the problem for
// the caller's 400 answer, "" when there is none.
func (f *apiFault) check(ok func(status int) bool, okText string) string {
	if f.APIStatus != 0 && !ok(f.APIStatus) {
		return "api_status must be " + okText
	}
	if f.APICount < 0 {
		return "counts must not be negative"
	}
	return ""
}

// callbackFault is the injected callback fault (PUT …/control/faults
// "callback", "callback_count", "callback_delay").
type callbackFault struct {
	// Callback is the fault, for the next CallbackCount callbacks (0 = every
	// callback).
	Callback      string `json:"callback"`
	CallbackCount int    `json:"callback_count"`
	CallbackDelay string `json:"callback_delay"` // Go duration, for delay
	delay         time.Duration
}

// check validates the fault against the channel's kinds (besides "" and
// delay) and parses the delay; it returns the problem for the caller's 400
// answer, "" when there is none.
func (f *callbackFault) check(kinds []string, kindsText string) string {
	switch {
	case f.Callback == faultDelay:
		d, err := time.ParseDuration(f.CallbackDelay)
		if err != nil || d <= 0 {
			return "callback_delay must be a positive Go duration"
		}
		f.delay = d
	case f.Callback != "" && !slices.Contains(kinds, f.Callback):
		return "callback must be " + kindsText
	}
	if f.CallbackCount < 0 {
		return "counts must not be negative"
	}
	return ""
}

// take returns the fault that applies to the next callback and counts it,
// unless it is one of uncounted (a fault that counts otherwise). The caller
// holds the simulator's lock.
func (f *callbackFault) take(uncounted ...string) string {
	fault := f.Callback
	if fault != "" && !slices.Contains(uncounted, fault) && f.CallbackCount > 0 {
		f.CallbackCount--
		if f.CallbackCount == 0 {
			f.Callback = ""
		}
	}
	return fault
}

// routeFaults mounts GET, PUT and DELETE path, the control endpoints of a
// payment simulator's injected faults *faults, guarded by mu. PUT replaces
// them with its body once check (which may fill unexported fields) finds no
// problem, else answers 400 bad_request with the problem and changes
// nothing; DELETE clears them (204).
func routeFaults[F any](mux *http.ServeMux, path string, mu *sync.Mutex, faults *F, check func(*F) string) {
	mux.HandleFunc("GET "+path, func(rw http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		f := *faults
		mu.Unlock()
		writeControl(rw, http.StatusOK, f)
	})
	mux.HandleFunc("PUT "+path, func(rw http.ResponseWriter, r *http.Request) {
		var f F
		if err := decodeBody(r, &f); err != nil {
			writeControlError(rw, http.StatusBadRequest, "bad_request", "body must be a JSON object")
			return
		}
		if msg := check(&f); msg != "" {
			writeControlError(rw, http.StatusBadRequest, "bad_request", msg)
			return
		}
		mu.Lock()
		*faults = f
		mu.Unlock()
		writeControl(rw, http.StatusOK, f)
	})
	mux.HandleFunc("DELETE "+path, func(rw http.ResponseWriter, _ *http.Request) {
		var zero F
		mu.Lock()
		*faults = zero
		mu.Unlock()
		writeControl(rw, http.StatusNoContent, nil)
	})
}

// routeCallbacks mounts GET path: {"callbacks": a copy of *list}, the
// latest callbacks and what became of them, guarded by mu.
func routeCallbacks[T any](mux *http.ServeMux, path string, mu *sync.Mutex, list *[]*T) {
	mux.HandleFunc("GET "+path, func(rw http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		out := make([]T, len(*list))
		for i, c := range *list {
			out[i] = *c
		}
		mu.Unlock()
		writeControl(rw, http.StatusOK, map[string]any{"callbacks": out})
	})
}

// keepLatest appends v to list and drops the oldest entries beyond n.
func keepLatest[T any](list []T, v T, n int) []T {
	list = append(list, v)
	if len(list) > n {
		list = slices.Delete(list, 0, len(list)-n)
	}
	return list
}

// callbackSender delivers one simulator's callbacks in the background until
// close. Safe for concurrent use.
type callbackSender struct {
	client   *http.Client
	wait     time.Duration   // how long one attempt waits for the answer
	schedule []time.Duration // the delays of the retries after the first attempt

	ctx    context.Context // cancelled by close: stops deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newCallbackSender returns a sender posting with client, each attempt
// waiting at most wait, retrying on schedule.
func newCallbackSender(client *http.Client, wait time.Duration, schedule []time.Duration) *callbackSender {
	s := &callbackSender{client: client, wait: wait, schedule: schedule}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// close stops the deliveries and waits for the attempts under way.
func (s *callbackSender) close() {
	s.cancel()
	s.wg.Wait()
}

// closed reports whether close was called.
func (s *callbackSender) closed() bool { return s.ctx.Err() != nil }

// send delivers a callback as fault says: drop does nothing (it reports
// true), duplicate starts two deliveries, delay one whose first attempt
// waits delay, "" one. It reports false, doing nothing, for a fault it does
// not know (a channel's own). attempt POSTs the callback once, records the
// answer and reports whether it acknowledged the callback.
func (s *callbackSender) send(fault string, delay time.Duration, attempt func() bool) bool {
	switch fault {
	case faultDrop:
	case faultDuplicate:
		s.deliver(0, attempt)
		s.deliver(0, attempt)
	case faultDelay:
		s.deliver(delay, attempt)
	case "":
		s.deliver(0, attempt)
	default:
		return false
	}
	return true
}

// deliver starts delivering a callback after delay: attempt, then retried on
// the schedule until acknowledged, the schedule ends or close. Deliveries of
// one callback never overlap; different callbacks go in parallel.
func (s *callbackSender) deliver(delay time.Duration, attempt func() bool) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if s.sleep(delay) && !attempt() {
			s.retries(attempt)
		}
	}()
}

// inOrder starts attempting the callbacks one after the other (each first
// attempt after the previous one's answer, so the order is certain), each
// failed one then retried on its own.
func (s *callbackSender) inOrder(attempts []func() bool) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, attempt := range attempts {
			if s.closed() {
				return
			}
			if !attempt() {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.retries(attempt)
				}()
			}
		}
	}()
}

// retries re-sends on the schedule until attempt reports acknowledged.
func (s *callbackSender) retries(attempt func() bool) {
	for _, d := range s.schedule {
		if !s.sleep(d) || attempt() {
			return
		}
	}
}

// sleep waits d unless the sender is closed first; it reports whether it
// was not.
func (s *callbackSender) sleep(d time.Duration) bool {
	if d <= 0 {
		return !s.closed()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// post POSTs body to target with contentType, after sign (nil: none) has
// set its headers, and returns the answer's status and first 64 bytes;
// status 0 when there was no answer within the wait.
func (s *callbackSender) post(target, contentType string, body []byte, sign func(http.Header)) (int, string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, ""
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Mozilla/4.0")
	if sign != nil {
		sign(req.Header)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	return res.StatusCode, string(b)
}

// Bounds of a redelivery burst (POST …/orders/{order_no}/notify).
const maxRedeliveries = 1000

// errRedeliveryTimes is a redelivery count out of bounds (400).
var errRedeliveryTimes = errors.New(`body must be {"times": 1..1000}`)

// redeliver runs attempt times times at once, each in its own goroutine,
// waits for all of them and counts their answers by status ("0": no answer
// within the wait). attempt POSTs one delivery and returns the status.
func redeliver(times int, attempt func() int) map[string]int {
	statuses := make(chan int, times)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range times {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // all leave together
			statuses <- attempt()
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	out := map[string]int{}
	for s := range statuses {
		out[strconv.Itoa(s)]++
	}
	return out
}

// redeliveryRequest is the body of POST …/orders/{order_no}/notify.
type redeliveryRequest struct {
	Times int `json:"times"`
}

// redeliveryAnswer is its answer.
type redeliveryAnswer struct {
	Times    int            `json:"times"`
	Statuses map[string]int `json:"statuses"`
}

// handleRedeliver serves POST …/orders/{order_no}/notify with send (a
// simulator's Redeliver): 200 redeliveryAnswer; 400 for a bad body, 404 and
// 409 as classify says.
func handleRedeliver(send func(orderNo string, times int) (map[string]int, error), classify func(rw http.ResponseWriter, err error)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		var req redeliveryRequest
		if err := decodeBody(r, &req); err != nil || req.Times < 1 || req.Times > maxRedeliveries {
			writeControlError(rw, http.StatusBadRequest, "bad_request", errRedeliveryTimes.Error())
			return
		}
		statuses, err := send(r.PathValue("order_no"), req.Times)
		if err != nil {
			classify(rw, err)
			return
		}
		writeControl(rw, http.StatusOK, redeliveryAnswer{Times: req.Times, Statuses: statuses})
	}
}
