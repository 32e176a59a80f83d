package payments

import (
	"time"

	"banshi/internal/platform"
)

// LateFeeFen is the late fee of bill b as of now: for each day from
// late_fee.from to today (Asia/Shanghai dates, both counted: days = today −
// from + 1 when today ≥ from, else no fee), permille_per_day ‰ of the
// amount, that is, with the rate r in hundredths of ‰ (Permille),
//
//	fee = min(cap_fen, amount_fen, floor(amount_fen × r × days / 100000))
//
// in fen. Rounding is down (floor), in the payer's favour: a fraction of a
// fen is never charged. The fee never exceeds the amount itself (行政强制法
// article 45; a cap_fen above the amount, possible after an adjust lowered
// the amount, is held to it). A day begins at 00:00 in Shanghai (16:00 UTC
// the day before). No overflow for any bill ParseBillEvent accepts and any
// now. A bill without a late fee has none.
func LateFeeFen(b billDoc, now time.Time) int64 {
	lf := b.LateFee
	if lf == nil || lf.PermillePerDay <= 0 || b.AmountFen <= 0 {
		return 0
	}
	from, err := time.Parse(time.DateOnly, lf.From)
	if err != nil {
		return 0
	}
	days := civilDay(now.In(platform.Shanghai())) - civilDay(from) + 1
	if days <= 0 {
		return 0
	}
	limit := min(lf.CapFen, b.AmountFen)
	if limit <= 0 {
		return 0
	}
	// r × days ≥ 100000 means the uncapped fee is the whole amount or more,
	// so the limit applies; below that, amount × (r × days) < 10^10 × 10^5
	// cannot overflow.
	const whole = 1000 * PermilleScale
	r := int64(lf.PermillePerDay)
	if days >= (whole+r-1)/r {
		return limit
	}
	return min(limit, b.AmountFen*r*days/whole)
}

// DueFen is what paying bill b costs as of now: its amount and LateFeeFen.
func DueFen(b billDoc, now time.Time) int64 { return b.AmountFen + LateFeeFen(b, now) }

// civilDay numbers the calendar date of t (in t's location): days since
// 1970-01-01.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
