package applications

import (
	"slices"
	"strings"
)

// The statuses a department reports, in the order an application usually
// goes through them.
const (
	StatusSubmitted      = "submitted"       // 已提交
	StatusAccepted       = "accepted"        // 已受理
	StatusNeedsMaterials = "needs_materials" // 需补正材料
	StatusUnderReview    = "under_review"    // 审核中
	StatusApproved       = "approved"        // 审批通过 (final)
	StatusRejected       = "rejected"        // 不予批准 (final)
	StatusDelivered      = "delivered"       // 结果已送达 (final)
	StatusWithdrawn      = "withdrawn"       // 已撤回 (final)
)

// Statuses lists every status in its usual order.
func Statuses() []string {
	return []string{StatusSubmitted, StatusAccepted, StatusNeedsMaterials, StatusUnderReview,
		StatusApproved, StatusRejected, StatusDelivered, StatusWithdrawn}
}

var statusList = strings.Join(Statuses(), "、")

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s string) bool { return slices.Contains(Statuses(), s) }

// Final reports whether s ends an application: approved, rejected, delivered
// or withdrawn. A final status is never replaced by a non-final one, nor by
// a final one that occurred earlier.
func Final(s string) bool {
	switch s {
	case StatusApproved, StatusRejected, StatusDelivered, StatusWithdrawn:
		return true
	}
	return false
}

// rank orders statuses that occurred at the same instant: the usual order,
// results before their delivery.
func rank(s string) int {
	switch s {
	case StatusSubmitted:
		return 0
	case StatusAccepted:
		return 1
	case StatusNeedsMaterials:
		return 2
	case StatusUnderReview:
		return 3
	case StatusApproved, StatusRejected, StatusWithdrawn:
		return 4
	case StatusDelivered:
		return 5
	}
	return -1
}

// before is the timeline order: by occurred_at, then by rank, then by event
// id, so that any set of events has exactly one order whatever the order of
// their arrival.
func before(a, b entryDoc) bool {
	if !a.OccurredAt.Equal(b.OccurredAt) {
		return a.OccurredAt.Before(b.OccurredAt)
	}
	if ra, rb := rank(a.Status), rank(b.Status); ra != rb {
		return ra < rb
	}
	return a.EventID < b.EventID
}

// insertEntry returns timeline (in timeline order) with e in its place.
func insertEntry(timeline []entryDoc, e entryDoc) []entryDoc {
	i := len(timeline)
	for i > 0 && before(e, timeline[i-1]) {
		i--
	}
	out := make([]entryDoc, 0, len(timeline)+1)
	out = append(out, timeline[:i]...)
	out = append(out, e)
	return append(out, timeline[i:]...)
}

// CurrentIndex returns the index, in a timeline in timeline order, of the
// event that gives the application its status: the last final event if there
// is one, else the last event; -1 for an empty timeline. So statuses never
// move backwards: a final status is replaced only by a final one that
// occurred later, and a late event (one that occurred before the current
// one) joins the timeline without changing the status.
func CurrentIndex(statuses []string) int {
	for i := len(statuses) - 1; i >= 0; i-- {
		if Final(statuses[i]) {
			return i
		}
	}
	return len(statuses) - 1
}

func current(timeline []entryDoc) int {
	s := make([]string, len(timeline))
	for i, e := range timeline {
		s[i] = e.Status
	}
	return CurrentIndex(s)
}
