package payments_test

import (
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/payments"
)

func TestOrderSearch(t *testing.T) {
	f := newFixture(t)
	f.bill("B-SEARCH-1", 12345)
	f.bill("B-SEARCH-2", 500)
	first := f.order("B-SEARCH-1", "k1")
	f.clock.Advance(time.Minute)
	second := f.order("B-SEARCH-2", "k2")

	rows, err := f.svc.SearchOrders(f.ctx, payments.OrderSearch{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].OrderNo != second.OrderNo || rows[1].OrderNo != first.OrderNo {
		t.Fatalf("not newest first: %+v", rows)
	}
	if r := rows[1]; r.BillNo != "B-SEARCH-1" || r.AmountFen != 12345 || r.Status != payments.OrderPaying ||
		r.Channel != string(payments.WeChatJSAPI) || r.Provider != payments.ProviderWeChatPay || r.CreatedAt.Location() != platform.Shanghai() {
		t.Fatalf("row %+v", r)
	}
	day := platform.Local(f.clock.Now()).Format(time.DateOnly)
	for _, tc := range []struct {
		name string
		q    payments.OrderSearch
		want int
	}{
		{"by order", payments.OrderSearch{OrderNo: first.OrderNo}, 1},
		{"by bill", payments.OrderSearch{BillNo: "B-SEARCH-2"}, 1},
		{"by status", payments.OrderSearch{Status: payments.OrderPaying}, 2},
		{"other status", payments.OrderSearch{Status: payments.OrderPaid}, 0},
		{"by method", payments.OrderSearch{Channel: string(payments.WeChatJSAPI)}, 2},
		{"by provider", payments.OrderSearch{Channel: payments.ProviderAlipay}, 0},
		{"day included", payments.OrderSearch{From: day, To: day}, 2},
		{"before", payments.OrderSearch{To: "2000-01-01"}, 0},
	} {
		rows, err := f.svc.SearchOrders(f.ctx, tc.q)
		if err != nil || len(rows) != tc.want {
			t.Errorf("%s: %d rows, %v", tc.name, len(rows), err)
		}
	}
	for _, q := range []payments.OrderSearch{{From: "2026-13-01"}, {To: "yesterday"}, {Status: "nope"},
		{From: "2026-11-02", To: "2026-11-01"}} {
		if _, err := f.svc.SearchOrders(f.ctx, q); platform.CodeOf(err) != platform.CodeInvalid {
			t.Errorf("%+v: %v", q, err)
		}
	}
}
