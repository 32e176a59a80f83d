package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Sizes of the soak's fixture.
const (
	soakCitizens     = 100  // citizens whose sessions the reads use and who book (one booking each at a time)
	soakLoginUsers   = 10   // simulator users that only log in
	soakSeatsPerSlot = 200  // every booking is cancelled: only those in flight hold seats
	soakMaxInFlight  = 4096 // arrivals beyond this many unanswered are not sent but counted as errors
)

// routeDropped is the report's line for arrivals not sent because too many
// were unanswered: the target has fallen behind the rate.
const routeDropped = "(arrival not sent: too many in flight)"

// soak prepares the soak's citizens and hall through Banshi at base, then
// starts o.Rate actions a second for o.Soak — open loop: each arrival at its
// scheduled time whether or not earlier ones were answered — samples the
// process every soakSampleEvery, waits for the last answer, and writes the
// report to w.
//
// Errors: preparation errors, or any request of the mix that failed or
// answered other than the mix expects (counted and described in the report).
func soak(ctx context.Context, st *Stack, base string, o Options, w io.Writer, log *slog.Logger) error {
	f := &soakFixture{base: base, rec: newRecorder(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 10 * time.Second}}
	defer f.client.CloseIdleConnections()
	var err error
	if f.slots, err = prepareSoakSlots(ctx, st.Catalog, soakSeatsPerSlot); err != nil {
		return err
	}
	if err := prepareSoakCitizens(ctx, f, soakCitizens, soakLoginUsers); err != nil {
		return fmt.Errorf("prepare soak: %w", err)
	}
	log.Info("soak starting", "rate", o.Rate, "duration", o.Soak.String(), "slots", len(f.slots))
	r := runSoak(ctx, f, o.Rate, o.Soak, soakSampleEvery(o.Soak))
	r.write(w)
	if n := r.Errors(); n > 0 {
		return fmt.Errorf("soak: %d requests failed or answered other than expected (see the report)", n)
	}
	return nil
}

// soakSampleEvery is how often the process is sampled: every 10 s, or five
// times in a run shorter than a minute.
func soakSampleEvery(d time.Duration) time.Duration {
	if d >= time.Minute {
		return 10 * time.Second
	}
	return max(d/5, 100*time.Millisecond)
}

// runSoak is the open-loop driver: arrival i is due at start + i/rate; it
// runs f.act in a goroutine of its own at that time (a later start is
// counted as lag), so a slow answer never delays the next arrival.
func runSoak(ctx context.Context, f *soakFixture, rate int, d time.Duration, every time.Duration) SoakReport {
	seq := soakSequence()
	r := SoakReport{Rate: rate, Duration: d}
	start := time.Now()
	stopSampling := make(chan struct{})
	samplingDone := make(chan struct{})
	var samples []Sample
	go func() {
		defer close(samplingDone)
		samples = append(samples, sample(0, f.rec))
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				samples = append(samples, sample(time.Since(start), f.rec))
			case <-stopSampling:
				return
			}
		}
	}()
	var (
		wg       sync.WaitGroup
		inFlight = make(chan struct{}, soakMaxInFlight)
		timer    = time.NewTimer(0)
	)
	defer timer.Stop()
	<-timer.C
	for i := 0; ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / float64(rate)))
		if due.Sub(start) >= d {
			break
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				continue
			}
		}
		r.MaxLag = max(r.MaxLag, time.Since(due))
		r.Actions++
		select {
		case inFlight <- struct{}{}:
		default:
			f.rec.fail(routeDropped, 0, "")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inFlight }()
			f.act(ctx, seq[i%len(seq)], i)
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	close(stopSampling)
	<-samplingDone
	r.Samples = append(samples, sample(r.Elapsed, f.rec))
	r.Routes = f.rec.summary()
	return r
}
