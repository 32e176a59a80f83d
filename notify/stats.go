package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// ChannelDayStats is one channel on one Asia/Shanghai day: deliveries that
// reached their final outcome that day. Failed counts the dead letters
// (permanent failures, or still failing at the deadline); a delivery being
// retried is in none of the counts until it ends.
type ChannelDayStats struct {
	Date    string `json:"date"` // YYYY-MM-DD
	Channel string `json:"channel"`
	Sent    int    `json:"sent"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
}

// Stats counts the messages of r per day and channel, ordered by day then
// channel (the inbox, the channels this Outbox serves in its order, then
// any other channel with results by name); every day has a row for each
// (zeros included). The inbox (ChannelInbox) counts every message stored
// that day as sent.
// It reads the final results recorded in r (outbox_results, one
// per delivery) and the inbox messages created in r: a bounded read of at
// most 31 days. Errors: platform.Invalid (field "from": an empty range),
// storage errors.
func (o *Outbox) Stats(ctx context.Context, r platform.DayRange) ([]ChannelDayStats, error) {
	days := r.Days()
	if len(days) == 0 {
		return nil, platform.Invalid("from", "required", "请选择统计区间")
	}
	in := bson.M{"$gte": r.Start().UTC(), "$lt": r.End().UTC()}
	type key struct{ day, channel string }
	counts := map[key]*ChannelDayStats{}
	channels := append([]string{ChannelInbox}, o.channels...)
	get := func(day, ch string) *ChannelDayStats {
		k := key{day, ch}
		if counts[k] == nil {
			counts[k] = &ChannelDayStats{Date: day, Channel: ch}
			if !slices.Contains(channels, ch) {
				channels = append(channels, ch)
			}
		}
		return counts[k]
	}
	cur, err := o.results.Find(ctx, bson.M{"final": true, "at": in},
		options.Find().SetProjection(bson.M{"channel": 1, "state": 1, "at": 1}))
	if err != nil {
		return nil, fmt.Errorf("message stats: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var res struct {
			Channel string    `bson:"channel"`
			State   string    `bson:"state"`
			At      time.Time `bson:"at"`
		}
		if err := cur.Decode(&res); err != nil {
			return nil, fmt.Errorf("message stats: %w", err)
		}
		c := get(platform.DayOf(res.At), res.Channel)
		switch res.State {
		case StateSent:
			c.Sent++
		case StateDead:
			c.Failed++
		case StateSkipped:
			c.Skipped++
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("message stats: %w", err)
	}
	icur, err := o.inbox.coll.Find(ctx, bson.M{"created_at": in}, options.Find().SetProjection(bson.M{"created_at": 1}))
	if err != nil {
		return nil, fmt.Errorf("message stats: %w", err)
	}
	defer icur.Close(ctx)
	for icur.Next(ctx) {
		var m struct {
			CreatedAt time.Time `bson:"created_at"`
		}
		if err := icur.Decode(&m); err != nil {
			return nil, fmt.Errorf("message stats: %w", err)
		}
		get(platform.DayOf(m.CreatedAt), ChannelInbox).Sent++
	}
	if err := icur.Err(); err != nil {
		return nil, fmt.Errorf("message stats: %w", err)
	}
	known := 1 + len(o.channels)
	slices.Sort(channels[known:]) // channels no longer served, by name
	out := make([]ChannelDayStats, 0, len(days)*len(channels))
	for _, d := range days {
		for _, ch := range channels {
			if c := counts[key{d, ch}]; c != nil {
				out = append(out, *c)
			} else {
				out = append(out, ChannelDayStats{Date: d, Channel: ch})
			}
		}
	}
	return out, nil
}
