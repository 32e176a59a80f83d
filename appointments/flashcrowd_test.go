package appointments

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// FlashCrowdResult is what FlashCrowd measured.
type FlashCrowdResult struct {
	Booked    int             `json:"booked"`
	Full      int             `json:"full"`
	Errors    map[string]int  `json:"errors"` // other outcomes by error code ("internal" for others)
	Latencies []time.Duration `json:"-"`      // one per attempt, sorted
	Elapsed   time.Duration   `json:"elapsed"`
	IDs       []string        `json:"-"` // appointments booked
}

// Percentile returns the p-th percentile (0..100) of the latencies.
func (r FlashCrowdResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies)-1) * p / 100)
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// FlashCrowd lets every user try to book slotID for serviceID at the same
// moment (one goroutine each, released together) and reports the outcomes
// and latencies. The race tests and BenchmarkBookingFlashCrowd use it; the
// load command's crowd (over HTTP) is internal/loadtest's.
func FlashCrowd(ctx context.Context, svc *Service, slotID, serviceID string, users []Citizen) FlashCrowdResult {
	res := FlashCrowdResult{Errors: map[string]int{}, Latencies: make([]time.Duration, len(users))}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t := time.Now()
			a, err := svc.Book(ctx, u, BookRequest{SlotID: slotID, ServiceID: serviceID}, "")
			d := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			res.Latencies[i] = d
			switch {
			case err == nil:
				res.Booked++
				res.IDs = append(res.IDs, a.ID)
			case errors.Is(err, ErrSlotFull):
				res.Full++
			default:
				c := Code(err)
				if c == "" {
					c = "internal"
				}
				res.Errors[c]++
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Elapsed = time.Since(t0)
	slices.Sort(res.Latencies)
	return res
}
