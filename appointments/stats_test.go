package appointments

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"banshi/internal/platform"
)

// shAt is the Shanghai instant of day and hh:mm.
func shAt(day string, hh, mm int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, platform.Shanghai())
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// TestStats: bookings, cancellations, completions, no-shows and queue waits
// made through the service's own paths are counted on their Shanghai day,
// for every hall or one; a bad range or hall is refused and changes nothing.
func TestStats(t *testing.T) {
	f := newFixture(t)
	// Monday 03-09 10:00: seven bookings for Tuesday, one cancelled at once.
	a1 := f.mustBook(citizen(1), "sc1.20260310.0900", "s1")
	a2 := f.mustBook(citizen(2), "sc1.20260310.1000", "s2")
	a3 := f.mustBook(citizen(3), "sc1.20260310.1100", "s1")
	b1 := f.mustBook(citizen(4), "sc2.20260310.0900", "s3")
	x := f.mustBook(citizen(5), "sc1.20260310.1100", "s1")
	n := f.mustBook(citizen(6), "sc1.20260310.0900", "s1")
	f.mustBook(citizen(7), "sc3.20260310.0900", "s4") // hall h2
	if _, err := f.svc.Cancel(f.ctx, citizen(5).ID, x.ID); err != nil {
		t.Fatal(err)
	}
	// Tuesday: check-ins at 08:40, 08:45, 08:50, 08:55; calls at 09:00
	// (A1, 20 min), 09:12 (A2, 27), 09:30 (B1, 35), 09:50 (A3, 60).
	for i, a := range []Appointment{a1, a2, a3, b1} {
		f.clock.Set(shAt("2026-03-10", 8, 40+5*i))
		f.checkIn(a)
	}
	for _, c := range []struct {
		hh, mm int
		dept   string
		want   string
	}{{9, 0, "d1", a1.ID}, {9, 12, "d1", a2.ID}, {9, 30, "d2", b1.ID}, {9, 50, "d1", a3.ID}} {
		f.clock.Set(shAt("2026-03-10", c.hh, c.mm))
		got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", c.dept, "1")
		if err != nil || got.ID != c.want {
			t.Fatalf("call %s at %02d:%02d: %s %v", c.dept, c.hh, c.mm, got.ID, err)
		}
	}
	// A2 did not come: recalled at 09:58; the wait still ends at the first call.
	f.clock.Set(shAt("2026-03-10", 9, 58))
	if _, err := f.svc.Recall(f.ctx, h1Staff, "h1", a2.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(shAt("2026-03-10", 10, 5))
	if _, err := f.svc.Complete(f.ctx, h1Staff, a1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.MarkNoShow(f.ctx, h1Staff, n.ID); err != nil {
		t.Fatal(err)
	}
	f.mustBook(citizen(8), "sc1.20260311.0900", "s1") // booked on Tuesday

	zero := func(d string) ApptDayStats { return ApptDayStats{Date: d} }
	tue := ApptDayStats{Date: "2026-03-10", Booked: 1, NoShows: 1, Completed: 1, Waits: 4, WaitMedianMin: 31, WaitP90Min: 60}
	for _, tc := range []struct {
		name, from, to, hall string
		want                 []ApptDayStats
	}{
		{"every hall", "2026-03-08", "2026-03-11", "", []ApptDayStats{zero("2026-03-08"),
			{Date: "2026-03-09", Booked: 7, Cancelled: 1}, tue, zero("2026-03-11")}},
		{"hall h1", "2026-03-09", "2026-03-10", "h1", []ApptDayStats{{Date: "2026-03-09", Booked: 6, Cancelled: 1}, tue}},
		{"hall h2", "2026-03-09", "2026-03-10", "h2", []ApptDayStats{{Date: "2026-03-09", Booked: 1}, zero("2026-03-10")}},
		// Tuesday alone: Monday's bookings are not counted, Tuesday's events are.
		{"one day", "2026-03-10", "2026-03-10", "", []ApptDayStats{tue}},
		{"before anything", "2026-02-01", "2026-02-02", "", []ApptDayStats{zero("2026-02-01"), zero("2026-02-02")}},
	} {
		r, err := platform.ParseDayRange(tc.from, tc.to, platform.MaxStatsDays)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Stats(f.ctx, r, tc.hall)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}

	before, queue := f.state(), f.queueState()
	for _, tc := range []struct {
		name  string
		r     platform.DayRange
		hall  string
		field string
	}{
		{"no range", platform.DayRange{}, "", "from"},
		{"unknown hall", platform.LastDays(f.clock.Now(), 7), "h9", "hall_id"},
	} {
		_, err := f.svc.Stats(f.ctx, tc.r, tc.hall)
		if e, ok := platform.AsError(err); !errors.Is(err, ErrInvalid) || !ok || e.Field != tc.field {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	f.sameState(before)
	if f.queueState() != queue {
		t.Fatal("a refused statistics query changed the queue")
	}
}

func TestMedianAndPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs       []float64
		med, p90 float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 5},
		{[]float64{3, 1}, 2, 3},
		{[]float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 5.5, 9},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 10},
		{[]float64{0.04, 0.16}, 0.1, 0.2},
	} {
		if m, p := median(append([]float64(nil), tc.xs...)), percentile(append([]float64(nil), tc.xs...), 90); m != tc.med || p != tc.p90 {
			t.Errorf("%v: median %v p90 %v, want %v %v", tc.xs, m, p, tc.med, tc.p90)
		}
	}
}

// BenchmarkStats: one statistics query over 5,000 appointments of 14 days
// (every one checked in and called) on the test store.
func BenchmarkStats(b *testing.B) {
	f := newFixture(b)
	var docs []any
	for i := range 5000 {
		day := shAt("2026-03-01", 0, 0).AddDate(0, 0, i%14)
		in := day.Add(9*time.Hour + time.Duration(i%300)*time.Second)
		called := in.Add(time.Duration(i%40) * time.Minute)
		docs = append(docs, apptDoc{ID: fmt.Sprintf("bench%05d", i), HallID: "h1", DepartmentID: "d1", Date: day.Format(time.DateOnly),
			Status: StatusCompleted, CreatedAt: day.Add(-24 * time.Hour), CheckedInAt: &in, CalledAt: &called, CompletedAt: &called})
	}
	if _, err := f.db.Collection("appointments").InsertMany(f.ctx, docs); err != nil {
		b.Fatal(err)
	}
	r, err := platform.ParseDayRange("2026-03-01", "2026-03-14", platform.MaxStatsDays)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := f.svc.Stats(f.ctx, r, "h1")
		if err != nil || len(got) != 14 || got[0].Completed+got[13].Completed == 0 {
			b.Fatalf("%v %v", got, err)
		}
	}
}
