package payments

import (
	"testing"
	"time"
)

func TestLateFeeFen(t *testing.T) {
	// 16:00 UTC is 00:00 the next day in Shanghai.
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// permille in ‰ (whole numbers here; the half-permille cases below).
	fee := func(amount, permille, capFen int64, from string) billDoc {
		return billDoc{AmountFen: amount, LateFee: &lateFeeDoc{From: from, PermillePerDay: Permille(permille * PermilleScale), CapFen: capFen}}
	}
	half := func(amount, capFen int64, from string) billDoc { // 万分之五: 0.5‰ a day
		return billDoc{AmountFen: amount, LateFee: &lateFeeDoc{From: from, PermillePerDay: 50, CapFen: capFen}}
	}
	for _, c := range []struct {
		name string
		bill billDoc
		now  time.Time
		want int64
	}{
		{"no late fee", billDoc{AmountFen: 20000}, at("2030-01-01T00:00:00Z"), 0},
		{"before from", fee(20000, 30, 20000, "2026-04-01"), at("2026-03-31T15:59:59Z"), 0},
		{"first day at 00:00 Shanghai", fee(20000, 30, 20000, "2026-04-01"), at("2026-03-31T16:00:00Z"), 600},
		{"first day, last second", fee(20000, 30, 20000, "2026-04-01"), at("2026-04-01T15:59:59Z"), 600},
		{"second day from 16:00 UTC", fee(20000, 30, 20000, "2026-04-01"), at("2026-04-01T16:00:00Z"), 1200},
		{"floor of a fraction of a fen", fee(333, 1, MaxBillAmountFen, "2026-04-01"), at("2026-04-02T04:00:00Z"), 0}, // 333×1×2/1000 = 0.666
		{"floor keeps whole fen", fee(3333, 3, MaxBillAmountFen, "2026-04-01"), at("2026-04-03T04:00:00Z"), 29},      // 3333×3×3/1000 = 29.997
		{"cap", fee(20000, 30, 5000, "2026-04-01"), at("2026-04-20T04:00:00Z"), 5000},
		{"cap of zero", fee(20000, 30, 0, "2026-04-01"), at("2026-04-20T04:00:00Z"), 0},
		{"never above the amount", fee(20000, 30, MaxBillAmountFen, "2026-04-01"), at("2026-12-31T04:00:00Z"), 20000},
		{"cap above a lowered amount", fee(1000, 30, 20000, "2026-04-01"), at("2026-12-31T04:00:00Z"), 1000},
		{"just below the amount", fee(1000, 1, MaxBillAmountFen, "2026-04-01"), at("2028-12-24T04:00:00Z"), 999}, // 999 days
		{"no overflow: largest amount and rate, far future", fee(MaxBillAmountFen, 1000, MaxBillAmountFen, "2000-01-01"), at("2262-04-11T00:00:00Z"), MaxBillAmountFen},
		{"no overflow: largest amount, smallest rate, 999 days", fee(MaxBillAmountFen, 1, MaxBillAmountFen, "2026-04-01"), at("2028-12-24T04:00:00Z"), MaxBillAmountFen / 1000 * 999},
		{"bad from", fee(20000, 30, 20000, "soon"), at("2026-04-20T04:00:00Z"), 0},
		// 万分之五 a day of 3,800.00 yuan for 10 days: 19.00 yuan exactly.
		{"half a permille, 10 days", half(380000, MaxBillAmountFen, "2026-04-01"), at("2026-04-10T04:00:00Z"), 1900},
		// 123.45 yuan × 0.5‰ × 3 days = 18.5175 fen: 18.
		{"half a permille, floor", half(12345, MaxBillAmountFen, "2026-04-01"), at("2026-04-03T04:00:00Z"), 18},
		{"smallest rate 0.01‰, largest amount", billDoc{AmountFen: MaxBillAmountFen, LateFee: &lateFeeDoc{From: "2026-04-01", PermillePerDay: 1, CapFen: MaxBillAmountFen}},
			at("2026-04-01T04:00:00Z"), MaxBillAmountFen / 100000},
	} {
		if got := LateFeeFen(c.bill, c.now); got != c.want {
			t.Errorf("%s: LateFeeFen = %d, want %d", c.name, got, c.want)
		}
		if got := DueFen(c.bill, c.now); got != c.bill.AmountFen+c.want {
			t.Errorf("%s: DueFen = %d", c.name, got)
		}
	}
}

// The first day past 999 (1000 days × 1‰) reaches the amount exactly.
func TestLateFeeFenReachesTheAmount(t *testing.T) {
	b := billDoc{AmountFen: 1000, LateFee: &lateFeeDoc{From: "2026-04-01", PermillePerDay: PermilleScale, CapFen: MaxBillAmountFen}}
	if got := LateFeeFen(b, time.Date(2028, 12, 25, 4, 0, 0, 0, time.UTC)); got != 1000 {
		t.Fatalf("day 1000: %d", got)
	}
}
