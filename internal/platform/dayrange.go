package platform

import (
	"strconv"
	"time"
)

// DayRange is an inclusive range of Asia/Shanghai calendar days, as the
// statistics pages ask for them ("2026-03-01" to "2026-03-14").
type DayRange struct {
	From, To string // YYYY-MM-DD, From ≤ To
	start    time.Time
	days     int
}

// MaxStatsDays is the longest DayRange the statistics accept.
const MaxStatsDays = 31

// ParseDayRange checks from and to (YYYY-MM-DD, Asia/Shanghai) and returns
// the range of at most maxDays days. Errors: Invalid naming "from" or "to"
// (check "format"), "to" (check "order": before from) or "to" (check
// "range": longer than maxDays).
func ParseDayRange(from, to string, maxDays int) (DayRange, error) {
	f, err := time.ParseInLocation(time.DateOnly, from, shanghai)
	if err != nil {
		return DayRange{}, Invalid("from", "format", "开始日期格式应为 YYYY-MM-DD")
	}
	t, err := time.ParseInLocation(time.DateOnly, to, shanghai)
	if err != nil {
		return DayRange{}, Invalid("to", "format", "结束日期格式应为 YYYY-MM-DD")
	}
	if t.Before(f) {
		return DayRange{}, Invalid("to", "order", "结束日期不能早于开始日期")
	}
	// Shanghai has no daylight saving: every day is 24 hours.
	n := int(t.Sub(f)/(24*time.Hour)) + 1
	if n > maxDays {
		return DayRange{}, Invalid("to", "range", "统计区间最长为 "+strconv.Itoa(maxDays)+" 天")
	}
	return DayRange{From: f.Format(time.DateOnly), To: t.Format(time.DateOnly), start: f, days: n}, nil
}

// LastDays is the range of n days ending with the Shanghai day of now.
func LastDays(now time.Time, n int) DayRange {
	end := now.In(shanghai)
	last := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, shanghai)
	first := last.AddDate(0, 0, -(n - 1))
	return DayRange{From: first.Format(time.DateOnly), To: last.Format(time.DateOnly), start: first, days: n}
}

// Start is the first instant of the range (midnight in Shanghai).
func (r DayRange) Start() time.Time { return r.start }

// End is the first instant after the range.
func (r DayRange) End() time.Time { return r.start.AddDate(0, 0, r.days) }

// Days lists the range's days in order (YYYY-MM-DD).
func (r DayRange) Days() []string {
	out := make([]string, r.days)
	for i := range out {
		out[i] = r.start.AddDate(0, 0, i).Format(time.DateOnly)
	}
	return out
}

// Contains reports whether the instant t falls in the range.
func (r DayRange) Contains(t time.Time) bool {
	return !t.Before(r.start) && t.Before(r.End())
}

// DayOf is the Shanghai day (YYYY-MM-DD) of t.
func DayOf(t time.Time) string { return t.In(shanghai).Format(time.DateOnly) }
