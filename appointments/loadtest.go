package appointments

import (
	"context"
	"errors"
	"fmt"
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
// and latencies. For load commands and benchmarks.
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

// PrepareFlashCrowd creates (or reuses) a benchmark hall "bench-hall" with
// one department, one service and a schedule of one slot a day of the given
// capacity, open every day, and returns the first slot of the booking window
// nobody has booked yet, and the service. For load commands (run one per
// slot: the window holds 7); not part of the demo data.
// Errors: storage errors, or none left untouched in the window.
func PrepareFlashCrowd(ctx context.Context, svc *Service, capacity int) (slotID, serviceID string, err error) {
	all := []int{0, 1, 2, 3, 4, 5, 6}
	var hours []OpeningHours
	for _, d := range all {
		hours = append(hours, OpeningHours{Weekday: d, Open: "09:00", Close: "10:00"})
	}
	id := fmt.Sprintf("bench-c%d", capacity)
	in := CatalogImport{
		Halls:       []Hall{{ID: "bench-hall", Name: "压测大厅", OpeningHours: hours}},
		Departments: []Department{{ID: "bench-dept", HallID: "bench-hall", Name: "压测窗口", QueuePrefix: "Z"}},
		Services: []ServiceItem{{ID: "bench-svc", HallID: "bench-hall", DepartmentID: "bench-dept",
			Code: "BENCH", Name: "压测事项", Type: CategoryPublicServices}},
		Schedules: []Schedule{{ID: id, HallID: "bench-hall", DepartmentID: "bench-dept", SlotMinutes: 60, Capacity: capacity}},
	}
	if _, err := svc.load(ctx, in, false); err != nil {
		return "", "", err
	}
	cat, err := svc.cat.get(ctx)
	if err != nil {
		return "", "", err
	}
	var slots []slotDef
	for _, d := range cat.window(cat.halls["bench-hall"], svc.clock.Now()) {
		slots = append(slots, cat.scheduleSlots(cat.schedules[id], d, true)...)
	}
	rem, err := svc.remaining(ctx, slots)
	if err != nil {
		return "", "", err
	}
	for i, sl := range slots {
		if rem[i] == sl.Capacity {
			return sl.ID, "bench-svc", nil
		}
	}
	return "", "", errors.New("appointments: every bench slot in the window has bookings; use a fresh database")
}
