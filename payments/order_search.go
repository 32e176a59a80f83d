package payments

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// OrderSearchLimit is the most orders SearchOrders returns.
const OrderSearchLimit = 100

// OrderSearch is finance's order search; every field is optional. From and
// To are days (YYYY-MM-DD, Asia/Shanghai) of the order's creation, both
// included. Channel matches the pay method or the provider.
type OrderSearch struct {
	OrderNo string
	BillNo  string
	Status  string
	Channel string
	From    string
	To      string
}

// OrderRow is one order of a search result.
type OrderRow struct {
	OrderNo   string    `json:"order_no"`
	BillNo    string    `json:"bill_no"`
	Channel   string    `json:"channel"`
	Provider  string    `json:"provider"`
	AmountFen int64     `json:"amount_fen"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

var orderStates = []string{OrderPaying, OrderPaid, OrderHandled, OrderHandleFailed, OrderRefunding, OrderRefunded,
	OrderPartiallyRefunded, OrderClosed}

// OrderStates lists the order states, in their life's order.
func OrderStates() []string { return append([]string(nil), orderStates...) }

// searchFilter validates q and builds its filter.
func (q OrderSearch) searchFilter() (bson.D, error) {
	f := bson.D{}
	for _, p := range []struct{ field, value, key string }{
		{"order_no", q.OrderNo, "_id"}, {"bill_no", q.BillNo, "bill_no"}, {"channel", q.Channel, ""},
	} {
		if p.value == "" {
			continue
		}
		if len(p.value) > 64 {
			return nil, platform.Invalid(p.field, "length", "查询条件过长")
		}
		if p.key != "" {
			f = append(f, bson.E{Key: p.key, Value: p.value})
		}
	}
	if q.Channel != "" {
		f = append(f, bson.E{Key: "$or", Value: bson.A{bson.D{{Key: "method", Value: q.Channel}}, bson.D{{Key: "provider", Value: q.Channel}}}})
	}
	if q.Status != "" {
		known := false
		for _, s := range orderStates {
			known = known || s == q.Status
		}
		if !known {
			return nil, platform.Invalid("status", "enum", "没有这个订单状态")
		}
		f = append(f, bson.E{Key: "state", Value: q.Status})
	}
	created := bson.D{}
	var from, to time.Time
	if q.From != "" {
		t, err := time.ParseInLocation(time.DateOnly, q.From, platform.Shanghai())
		if err != nil {
			return nil, platform.Invalid("from", "format", "起始日期格式应为 YYYY-MM-DD")
		}
		from = t
		created = append(created, bson.E{Key: "$gte", Value: t})
	}
	if q.To != "" {
		t, err := time.ParseInLocation(time.DateOnly, q.To, platform.Shanghai())
		if err != nil {
			return nil, platform.Invalid("to", "format", "截止日期格式应为 YYYY-MM-DD")
		}
		to = t
		created = append(created, bson.E{Key: "$lt", Value: t.AddDate(0, 0, 1)})
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return nil, platform.Invalid("to", "range", "截止日期不能早于起始日期")
	}
	if len(created) > 0 {
		f = append(f, bson.E{Key: "created_at", Value: created})
	}
	return f, nil
}

// SearchOrders finds orders for finance, newest first, at most
// OrderSearchLimit. Errors: platform.Invalid on a bad filter; storage errors.
func (s *Service) SearchOrders(ctx context.Context, q OrderSearch) ([]OrderRow, error) {
	f, err := q.searchFilter()
	if err != nil {
		return nil, err
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(OrderSearchLimit).
		SetProjection(bson.D{{Key: "pay_params", Value: 0}, {Key: "transitions", Value: 0}})
	cur, err := s.orders.Find(ctx, f, opts)
	if err != nil {
		return nil, fmt.Errorf("search orders: %w", err)
	}
	var docs []orderDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("search orders: %w", err)
	}
	rows := make([]OrderRow, 0, len(docs))
	for _, d := range docs {
		rows = append(rows, OrderRow{OrderNo: d.ID, BillNo: d.BillNo, Channel: d.Method, Provider: d.Provider,
			AmountFen: d.AmountFen, Status: d.State, CreatedAt: platform.Local(d.CreatedAt)})
	}
	return rows, nil
}
