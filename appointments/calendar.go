package appointments

import (
	"context"
	"slices"
	"time"
)

// dayPlan is how a hall works on one date.
type dayPlan struct {
	working bool
	weekday int      // the weekday whose hours and schedules apply (make-up days borrow one)
	periods [][2]int // opening periods, minutes after midnight
	entry   *CalendarDay
}

// dayEntry is the calendar override of date for hallID: the hall's own entry
// wins over the one for every hall.
func (c *catalog) dayEntry(hallID, date string) *CalendarDay {
	if d := c.days[calendarID(hallID, date)]; d != nil {
		return d
	}
	return c.days[calendarID("", date)]
}

// dayClosed reports whether the calendar closes hallID on date (a closure
// of the hall or a public holiday): its bookings cannot be kept, so they are
// never late to cancel and never become no-shows.
func (c *catalog) dayClosed(hallID, date string) bool {
	e := c.dayEntry(hallID, date)
	return e != nil && (e.Kind == DayClosure || e.Kind == DayHoliday)
}

// plan says whether and when hall h opens on date. With respectCalendar false
// the weekly pattern alone decides (used to tell a closed slot from an unknown
// one).
func (c *catalog) plan(h *Hall, date string, respectCalendar bool) dayPlan {
	t, ok := parseDate(date)
	if !ok {
		return dayPlan{}
	}
	p := dayPlan{weekday: int(t.Weekday())}
	if respectCalendar {
		if e := c.dayEntry(h.ID, date); e != nil {
			p.entry = e
			switch e.Kind {
			case DayHoliday, DayClosure:
				return p
			case DayWorkday:
				p.weekday = e.AsWeekday
			}
		}
	}
	for _, o := range h.OpeningHours {
		if o.Weekday != p.weekday {
			continue
		}
		open, _ := parseClock(o.Open)
		cl, _ := parseClock(o.Close)
		p.periods = append(p.periods, [2]int{open, cl})
	}
	slices.SortFunc(p.periods, func(a, b [2]int) int { return a[0] - b[0] })
	p.working = len(p.periods) > 0
	return p
}

// window is the hall's booking window at now: its next WindowDays working
// days, starting the day after today (Asia/Shanghai).
func (c *catalog) window(h *Hall, now time.Time) []string {
	var out []string
	d := dateOf(now)
	for i := 0; i < 366 && len(out) < h.Rules.WindowDays; i++ {
		d = addDays(d, 1)
		if c.plan(h, d, true).working {
			out = append(out, d)
		}
	}
	return out
}

// BookingWindow returns the dates ("YYYY-MM-DD", Asia/Shanghai) a citizen
// may book at the hall now: the next working days after today, as many as
// the hall's window_days, skipping closures and public holidays and counting
// make-up working days. Errors: ErrNotFound (unknown hall).
func (s *Service) BookingWindow(ctx context.Context, hallID string) ([]string, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	h := cat.halls[hallID]
	if h == nil {
		return nil, ErrNotFound
	}
	return cat.window(h, s.clock.Now()), nil
}
