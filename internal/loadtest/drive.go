package loadtest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// target is one URL driven in the rounds.
type target struct {
	name, url, token string // token: a session token sent as Bearer, if any
}

// result is one round of one target: successful requests per second, their
// latency percentiles, and the requests that failed or answered other than
// 200.
type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	answers  int   // successful answers
	bytes    int64 // mean body bytes of a successful answer
	// CPU per successful answer: this process (load client and servers)
	// and Redis (0 when Redis did not report it).
	cpuProc, cpuRedis time.Duration
}

// drive runs conc closed-loop workers against t for d: each sends its next
// GET as soon as the previous answer is read. Errors: no request succeeded.
func drive(ctx context.Context, t target, conc int, d time.Duration) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(d)
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int
		body int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			bad := 0
			var n int64
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
				if err != nil {
					bad++
					break
				}
				if t.token != "" {
					req.Header.Set("Authorization", "Bearer "+t.token)
				}
				s := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				read, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				local = append(local, time.Since(s))
				n += read
			}
			mu.Lock()
			lats = append(lats, local...)
			errs += bad
			body += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lats) == 0 {
		return result{errors: errs}, errors.New(t.name + ": no successful request")
	}
	slices.Sort(lats)
	return result{
		rps: float64(len(lats)) / elapsed.Seconds(),
		p50: lats[len(lats)/2], p99: lats[len(lats)*99/100], errors: errs,
		answers: len(lats), bytes: body / int64(len(lats)),
	}, nil
}

// ms is d in milliseconds, for reports.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
