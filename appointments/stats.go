package appointments

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Statistics for the admins' dashboard: read-only, per Asia/Shanghai day.
//
// Each figure is counted on the day its event happened:
//   - Booked: bookings made that day (created_at), whatever became of them;
//   - Cancelled, Completed: on the day of cancelled_at, completed_at;
//   - NoShows: on the appointment's own day (the sweeper marks them later);
//   - Waits: citizens checked in that day and called since, the wait being
//     checked_in_at → first_called_at in minutes (the first call: a recall
//     or a call after a transfer does not move it; appointments called
//     before first_called_at was kept fall back to called_at, the latest).
//
// One bounded read: the appointments with any of those in the range (at
// most 31 days), only the fields needed, folded in Go. Both engines run it
// ($or of ranges; the embedded FerretDB scans the collection to do so).

// ApptDayStats is one day of appointments (of a hall, or of every hall).
type ApptDayStats struct {
	Date      string `json:"date"` // YYYY-MM-DD, Asia/Shanghai
	Booked    int    `json:"booked"`
	NoShows   int    `json:"no_shows"`
	Completed int    `json:"completed"`
	Cancelled int    `json:"cancelled"`
	// Waits is how many citizens checked in that day were called;
	// WaitMedianMin and WaitP90Min their waits in minutes (one decimal),
	// 0 when Waits is 0.
	Waits         int     `json:"waits"`
	WaitMedianMin float64 `json:"wait_median_min"`
	WaitP90Min    float64 `json:"wait_p90_min"`
}

// statsDoc is the part of an appointment the statistics read.
type statsDoc struct {
	Status      string     `bson:"status"`
	Date        string     `bson:"date"`
	CreatedAt   time.Time  `bson:"created_at"`
	CancelledAt *time.Time `bson:"cancelled_at"`
	CompletedAt *time.Time `bson:"completed_at"`
	CheckedInAt *time.Time `bson:"checked_in_at"`
	CalledAt    *time.Time `bson:"called_at"`
	FirstCalled *time.Time `bson:"first_called_at"`
}

// Stats returns one ApptDayStats per day of r, in order, for hallID (""
// for every hall). Errors: ErrInvalid (field "from": an empty range;
// field "hall_id": no such hall), storage errors.
func (s *Service) Stats(ctx context.Context, r platform.DayRange, hallID string) ([]ApptDayStats, error) {
	days := r.Days()
	if len(days) == 0 {
		return nil, invalid("from", "required", "请选择统计区间")
	}
	if hallID != "" {
		cat, err := s.cat.get(ctx)
		if err != nil {
			return nil, err
		}
		if cat.halls[hallID] == nil {
			return nil, invalid("hall_id", "exists", "没有这个大厅")
		}
	}
	in := bson.M{"$gte": r.Start().UTC(), "$lt": r.End().UTC()}
	f := bson.M{"status": bson.M{"$ne": statusFailed}, "$or": bson.A{
		bson.M{"created_at": in}, bson.M{"cancelled_at": in}, bson.M{"completed_at": in},
		bson.M{"checked_in_at": in}, bson.M{"date": bson.M{"$gte": r.From, "$lte": r.To}},
	}}
	if hallID != "" {
		f["hall_id"] = hallID
	}
	proj := bson.M{"status": 1, "date": 1, "created_at": 1, "cancelled_at": 1, "completed_at": 1, "checked_in_at": 1, "called_at": 1, "first_called_at": 1}
	cur, err := s.appts.Find(ctx, f, options.Find().SetProjection(proj))
	if err != nil {
		return nil, fmt.Errorf("appointment stats: %w", err)
	}
	defer cur.Close(ctx)
	out := make([]ApptDayStats, len(days))
	at := make(map[string]*ApptDayStats, len(days))
	for i, d := range days {
		out[i].Date = d
		at[d] = &out[i]
	}
	waits := map[string][]float64{}
	dayOf := func(t *time.Time) *ApptDayStats {
		if t == nil || !r.Contains(*t) {
			return nil
		}
		return at[platform.DayOf(*t)]
	}
	for cur.Next(ctx) {
		var d statsDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("appointment stats: %w", err)
		}
		if x := dayOf(&d.CreatedAt); x != nil {
			x.Booked++
		}
		if x := dayOf(d.CancelledAt); x != nil && d.Status == StatusCancelled {
			x.Cancelled++
		}
		if x := dayOf(d.CompletedAt); x != nil && d.Status == StatusCompleted {
			x.Completed++
		}
		if x := at[d.Date]; x != nil && d.Status == StatusNoShow {
			x.NoShows++
		}
		called := d.FirstCalled
		if called == nil {
			called = d.CalledAt
		}
		if x := dayOf(d.CheckedInAt); x != nil && called != nil && !called.Before(*d.CheckedInAt) {
			waits[x.Date] = append(waits[x.Date], called.Sub(*d.CheckedInAt).Minutes())
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("appointment stats: %w", err)
	}
	for i := range out {
		w := waits[out[i].Date]
		out[i].Waits = len(w)
		out[i].WaitMedianMin, out[i].WaitP90Min = median(w), percentile(w, 90)
	}
	return out, nil
}

// median is the median of xs rounded to one decimal (the mean of the two
// middle values for an even count); 0 for none. xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	m := xs[n/2]
	if n%2 == 0 {
		m = (xs[n/2-1] + xs[n/2]) / 2
	}
	return round1(m)
}

// percentile is the p-th percentile of xs by nearest rank (the smallest
// value with at least p% of xs at or below it), rounded to one decimal; 0
// for none. xs is sorted in place.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(math.Ceil(p / 100 * float64(len(xs))))
	k = min(max(k, 1), len(xs))
	return round1(xs[k-1])
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
