package appointments

import (
	"fmt"
	"time"

	"banshi/internal/platform"
)

func shanghai() *time.Location { return platform.Shanghai() }

const dateLayout = "2006-01-02"

// parseDate reads "YYYY-MM-DD" as midnight in Asia/Shanghai.
func parseDate(s string) (time.Time, bool) {
	if len(s) != len(dateLayout) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(dateLayout, s, shanghai())
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// dateOf is the Asia/Shanghai calendar date of t.
func dateOf(t time.Time) string { return t.In(shanghai()).Format(dateLayout) }

func addDays(date string, n int) string {
	t, _ := parseDate(date)
	return t.AddDate(0, 0, n).Format(dateLayout)
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	var h, m int
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
		return 0, false
	}
	if h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// at is the instant of minute min after midnight of date (Asia/Shanghai), UTC.
func at(date string, min int) time.Time {
	t, _ := parseDate(date)
	return t.Add(time.Duration(min) * time.Minute).UTC()
}

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
