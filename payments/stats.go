package payments

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// PayDayStats is one channel (ProviderWeChatPay, ProviderAlipay) on one
// Asia/Shanghai day: payments by the day the channel reports them paid
// (paid_date, reconciliation's day) and refunds by the day they succeeded
// (settled_date). Money is int64 fen, exact.
type PayDayStats struct {
	Date        string `json:"date"` // YYYY-MM-DD
	Channel     string `json:"channel"`
	Paid        int    `json:"paid"`
	PaidFen     int64  `json:"paid_fen"`
	Refunded    int    `json:"refunded"`
	RefundedFen int64  `json:"refunded_fen"`
}

// Stats returns r's payments and refunds per day and channel, ordered by
// day then channel; every day has a row for each configured channel
// (zeros included) and for any other channel with money that day. A paid
// order counts on its paid day whatever it became later (refunded, closed
// after a late payment); a refund counts only once it succeeded. A bounded
// read of at most 31 days of orders and refunds, folded in Go. Errors:
// platform.Invalid (field "from": an empty range), storage errors.
func (s *Service) Stats(ctx context.Context, r platform.DayRange) ([]PayDayStats, error) {
	days := r.Days()
	if len(days) == 0 {
		return nil, platform.Invalid("from", "required", "请选择统计区间")
	}
	inDays := bson.M{"$gte": r.From, "$lte": r.To}
	type key struct{ day, channel string }
	counts := map[key]*PayDayStats{}
	var channels []string
	for name := range s.providers {
		channels = append(channels, name)
	}
	get := func(day, ch string) *PayDayStats {
		k := key{day, ch}
		if counts[k] == nil {
			counts[k] = &PayDayStats{Date: day, Channel: ch}
			if !slices.Contains(channels, ch) {
				channels = append(channels, ch)
			}
		}
		return counts[k]
	}
	err := fold(ctx, s.orders, bson.M{"paid_date": inDays}, bson.M{"provider": 1, "paid_date": 1, "paid_fen": 1}, func(cur *mongo.Cursor) error {
		var o struct {
			Provider string `bson:"provider"`
			PaidDate string `bson:"paid_date"`
			PaidFen  int64  `bson:"paid_fen"`
		}
		if err := cur.Decode(&o); err != nil {
			return err
		}
		c := get(o.PaidDate, o.Provider)
		c.Paid++
		c.PaidFen += o.PaidFen
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = fold(ctx, s.refunds, bson.M{"state": RefundSucceeded, "settled_date": inDays},
		bson.M{"provider": 1, "settled_date": 1, "amount_fen": 1}, func(cur *mongo.Cursor) error {
			var rf struct {
				Provider    string `bson:"provider"`
				SettledDate string `bson:"settled_date"`
				AmountFen   int64  `bson:"amount_fen"`
			}
			if err := cur.Decode(&rf); err != nil {
				return err
			}
			c := get(rf.SettledDate, rf.Provider)
			c.Refunded++
			c.RefundedFen += rf.AmountFen
			return nil
		})
	if err != nil {
		return nil, err
	}
	slices.Sort(channels)
	out := make([]PayDayStats, 0, len(days)*len(channels))
	for _, d := range days {
		for _, ch := range channels {
			if c := counts[key{d, ch}]; c != nil {
				out = append(out, *c)
			} else {
				out = append(out, PayDayStats{Date: d, Channel: ch})
			}
		}
	}
	return out, nil
}

// fold calls each with the cursor at every document of coll matching
// filter (projected); an error of each stops the read.
func fold(ctx context.Context, coll *mongo.Collection, filter, proj bson.M, each func(*mongo.Cursor) error) error {
	cur, err := coll.Find(ctx, filter, options.Find().SetProjection(proj))
	if err != nil {
		return fmt.Errorf("payment stats: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		if err := each(cur); err != nil {
			return fmt.Errorf("payment stats: %w", err)
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("payment stats: %w", err)
	}
	return nil
}
