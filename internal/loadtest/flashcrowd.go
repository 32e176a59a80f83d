package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/appointments"
	"banshi/internal/account"
)

// The flash crowd's hall: not part of the demo data, added for the run.
const (
	crowdHall    = "bench-hall"
	crowdDept    = "bench-dept"
	crowdService = "bench-svc"
)

// The appointments package's collections, counted directly: the check must
// not trust the service under test. (A renamed collection counts 0 and
// fails the run loudly.)
const (
	appointmentsCollection = "appointments"
	seatsCollection        = "appt_seats"
)

// prepareSlot adds (or replaces) a hall open every day from 09:00 to 10:00
// with one department, one service and a schedule of one 60-minute slot a
// day of seats seats, through the service's public import, and returns the
// first slot of the booking window with seats seats that nobody has booked
// yet. Run it once per crowd: the window holds a week of slots.
//
// Errors: the import's and the reads' errors, or no untouched slot left.
func prepareSlot(ctx context.Context, cat Catalog, seats int) (slotID, serviceID string, err error) {
	var hours []appointments.OpeningHours
	for d := range 7 {
		hours = append(hours, appointments.OpeningHours{Weekday: d, Open: "09:00", Close: "10:00"})
	}
	in := appointments.CatalogImport{
		Halls:       []appointments.Hall{{ID: crowdHall, Name: "压测大厅", OpeningHours: hours}},
		Departments: []appointments.Department{{ID: crowdDept, HallID: crowdHall, Name: "压测窗口", QueuePrefix: "Z"}},
		Services: []appointments.ServiceItem{{ID: crowdService, HallID: crowdHall, DepartmentID: crowdDept,
			Code: "BENCH", Name: "压测事项", Type: appointments.CategoryPublicServices}},
		Schedules: []appointments.Schedule{{ID: fmt.Sprintf("bench-c%d", seats), HallID: crowdHall, DepartmentID: crowdDept,
			SlotMinutes: 60, Capacity: seats}},
	}
	if _, err := cat.Import(ctx, in); err != nil {
		return "", "", fmt.Errorf("import the flash-crowd hall: %w", err)
	}
	dates, err := cat.BookingWindow(ctx, crowdHall)
	if err != nil {
		return "", "", err
	}
	for _, d := range dates {
		day, err := cat.DaySlots(ctx, crowdHall, crowdService, d)
		if err != nil {
			return "", "", err
		}
		for _, sl := range day.Slots {
			if sl.Capacity == seats && sl.Remaining == seats {
				return sl.ID, crowdService, nil
			}
		}
	}
	return "", "", errors.New("every flash-crowd slot in the booking window has bookings; use a fresh database")
}

// prepareCitizens creates n level-3 citizens with mini-program sessions
// directly in the stores (the WeChat round trips are not what is measured)
// and returns their session tokens. One at a time: on the embedded MongoDB
// this takes minutes for thousands, so progress (if not nil) hears of every
// 100th citizen prepared.
func prepareCitizens(ctx context.Context, accounts Accounts, sessions Sessions, n int, progress func(done int)) ([]string, error) {
	tokens := make([]string, n)
	seed := time.Now().UnixNano()
	for i := range tokens {
		if progress != nil && i > 0 && i%100 == 0 {
			progress(i)
		}
		uid := fmt.Sprintf("crowd-%d-%d", seed, i)
		u, err := accounts.LoginWeChat(ctx, account.ChannelMiniProgram, "u"+uid, "o"+uid)
		if err != nil {
			return nil, fmt.Errorf("create crowd member %d: %w", i, err)
		}
		id := account.WithCheckDigit(fmt.Sprintf("440106%04d%02d%02d%03d", 1950+i%50, 1+i%12, 1+i%28, (seed/1000+int64(i))%1000))
		if _, err := accounts.RaiseLevel(ctx, u.ID, account.Identity{Name: "王五", IDNumber: id}, 3); err != nil {
			return nil, fmt.Errorf("raise level of crowd member %d: %w", i, err)
		}
		if tokens[i], _, err = sessions.Create(ctx, u.ID, string(account.ChannelMiniProgram), 3); err != nil {
			return nil, fmt.Errorf("session of crowd member %d: %w", i, err)
		}
	}
	return tokens, nil
}

// crowdResult is what a released crowd measured.
type crowdResult struct {
	total    time.Duration
	p50, p99 time.Duration
	statuses map[int]int // HTTP status → answers; -1 counts transport errors
}

// release sends one POST /api/v1/appointments for slotID per token, all
// released at the same instant (one goroutine and one connection each), and
// waits for every answer.
func release(ctx context.Context, base, slotID, serviceID string, tokens []string) crowdResult {
	n := len(tokens)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	body := []byte(`{"slot_id":"` + slotID + `","service_id":"` + serviceID + `"}`)
	lats := make([]time.Duration, n)
	codes := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, token := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/appointments", bytes.NewReader(body))
			if err != nil {
				codes[i] = -1
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			<-start
			t := time.Now()
			resp, err := client.Do(req)
			lats[i] = time.Since(t)
			if err != nil {
				codes[i] = -1
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res := crowdResult{total: time.Since(t0), statuses: map[int]int{}}
	for _, c := range codes {
		res.statuses[c]++
	}
	slices.Sort(lats)
	res.p50, res.p99 = lats[n/2], lats[n*99/100]
	return res
}

// countBooked counts, in MongoDB, the booked appointments and the seat
// documents of slotID.
func countBooked(ctx context.Context, db *mongo.Database, slotID string) (booked, seatDocs int64, err error) {
	booked, err = db.Collection(appointmentsCollection).CountDocuments(ctx, bson.M{"slot_id": slotID, "status": appointments.StatusBooked})
	if err != nil {
		return 0, 0, err
	}
	seatDocs, err = db.Collection(seatsCollection).CountDocuments(ctx, bson.M{"slot_id": slotID})
	return booked, seatDocs, err
}

// flashCrowd prepares a slot of seats seats and crowd citizens, releases
// their bookings at once over HTTP, reports the outcome to w, and proves
// from MongoDB that exactly seats were booked.
//
// Errors: preparation errors, or any count other than seats (answers 201,
// booked appointments, seat documents).
func flashCrowd(ctx context.Context, st *Stack, base string, crowd, seats int, w io.Writer) error {
	slotID, serviceID, err := prepareSlot(ctx, st.Catalog, seats)
	if err != nil {
		return fmt.Errorf("prepare flash crowd: %w", err)
	}
	began := time.Now()
	tokens, err := prepareCitizens(ctx, st.Accounts, st.Sessions, crowd, func(done int) {
		fmt.Fprintf(w, "flash crowd: %d of %d citizens prepared (%s)\n", done, crowd, time.Since(began).Round(time.Second))
	})
	if err != nil {
		return fmt.Errorf("prepare flash crowd: %w", err)
	}
	r := release(ctx, base, slotID, serviceID, tokens)
	booked, seatDocs, err := countBooked(ctx, st.DB, slotID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "flash crowd: %d concurrent POST /api/v1/appointments for %d seats: total %.2f s, p50 %.0f ms, p99 %.0f ms; answers %v; MongoDB: %d booked appointments, %d seat documents\n",
		crowd, seats, r.total.Seconds(), ms(r.p50), ms(r.p99), r.statuses, booked, seatDocs)
	if r.statuses[http.StatusCreated] != seats || booked != int64(seats) || seatDocs != int64(seats) {
		return fmt.Errorf("flash crowd booked %d (MongoDB: %d appointments, %d seats), want exactly %d", r.statuses[http.StatusCreated], booked, seatDocs, seats)
	}
	return nil
}
