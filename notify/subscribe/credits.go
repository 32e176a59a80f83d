package subscribe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Where a credit change came from.
const (
	sourceClient = "client" // the mini-program's result of wx.requestSubscribeMessage
	sourcePush   = "push"   // WeChat's message push
	sourceSend   = "send"   // subscribe/send's answer
)

// Results of wx.requestSubscribeMessage per template.
const (
	ResultAccept = "accept"
	ResultReject = "reject"
	ResultBan    = "ban"    // the user turned subscriptions off in the settings
	ResultFilter = "filter" // WeChat filtered the template (a duplicate title)
)

// Bounds of the per-document lists.
const (
	maxSeen    = 64 // push items applied, for idempotency
	maxLog     = 20 // entries of the credit's event log
	casRetries = 20
)

// creditDoc is a subscribe_credits document: one user's one-time sends for
// one template. Count is what Banshi believes WeChat holds; PendingClient and
// PendingPush are accepts one source reported and the other has not yet
// (matched within Window, so one accept never counts twice). Epoch grows
// whenever the count is set to zero, so a credit taken before is not given
// back into a count that was zeroed since. Every change but a take and a
// give-back is compare-and-swap on Version.
type creditDoc struct {
	ID            string      `bson:"_id"`
	UserID        string      `bson:"user_id"`
	TemplateID    string      `bson:"template_id"`
	Count         int         `bson:"count"`
	PendingClient []time.Time `bson:"pending_client"`
	PendingPush   []time.Time `bson:"pending_push"`
	Seen          []string    `bson:"seen"`
	Log           []LogEntry  `bson:"log"`
	Epoch         int64       `bson:"epoch"`
	Version       int64       `bson:"version"`
	UpdatedAt     time.Time   `bson:"updated_at"`
}

// LogEntry is one thing that happened to a credit: who said what, and the
// count after it.
type LogEntry struct {
	At     time.Time `json:"at" bson:"at"`
	Source string    `json:"source" bson:"source"` // client, push, send
	What   string    `json:"what" bson:"what"`     // accept, accept_confirmed, reject, ban, filter, turned_off, sent, 43101
	Code   string    `json:"code,omitempty" bson:"code,omitempty"`
	Count  int       `json:"count" bson:"count"`
}

func creditID(userID, templateID string) string { return userID + "|" + templateID }

// credits is the subscribe_credits collection.
type credits struct {
	coll   *mongo.Collection
	clock  platform.Clock
	window time.Duration
}

// errContended: a credit document kept changing under a compare-and-swap.
var errContended = errors.New("subscribe credit: too many concurrent changes")

// change applies fn to the credit of (userID, templateID) by
// compare-and-swap, creating it when missing. A non-empty key names a push
// item: a key already applied changes nothing (WeChat's retries, and
// PushEvents handing an event over again).
func (c *credits) change(ctx context.Context, userID, templateID, key string, fn func(d *creditDoc, now time.Time)) (creditDoc, error) {
	id := creditID(userID, templateID)
	for range casRetries {
		var d creditDoc
		err := c.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
		exists := err == nil
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			d = creditDoc{ID: id, UserID: userID, TemplateID: templateID}
		case err != nil:
			return creditDoc{}, fmt.Errorf("read credit: %w", err)
		}
		if key != "" && slices.Contains(d.Seen, key) {
			return d, nil
		}
		now := c.clock.Now().UTC().Truncate(time.Millisecond)
		d.PendingClient = fresh(d.PendingClient, now.Add(-c.window))
		d.PendingPush = fresh(d.PendingPush, now.Add(-c.window))
		fn(&d, now)
		if key != "" {
			d.Seen = lastN(append(d.Seen, key), maxSeen)
		}
		d.Log = lastN(d.Log, maxLog)
		old := d.Version
		d.Version++
		d.UpdatedAt = now
		if !exists {
			if _, err := c.coll.InsertOne(ctx, d); err != nil {
				if platform.IsDuplicateKey(err) {
					continue
				}
				return creditDoc{}, fmt.Errorf("write credit: %w", err)
			}
			return d, nil
		}
		res, err := c.coll.ReplaceOne(ctx, bson.M{"_id": id, "version": old}, d)
		if err != nil {
			return creditDoc{}, fmt.Errorf("write credit: %w", err)
		}
		if res.MatchedCount == 1 {
			return d, nil
		}
	}
	return creditDoc{}, errContended
}

func fresh(ts []time.Time, since time.Time) []time.Time {
	out := ts[:0:0]
	for _, t := range ts {
		if !t.Before(since) {
			out = append(out, t)
		}
	}
	return out
}

func lastN[T any](s []T, n int) []T {
	if len(s) > n {
		return append(s[:0:0], s[len(s)-n:]...)
	}
	return s
}

func (d *creditDoc) log(now time.Time, source, what, code string) {
	d.Log = append(d.Log, LogEntry{At: now, Source: source, What: what, Code: code, Count: d.Count})
}

// accept records one accept reported by source: it confirms the oldest
// unconfirmed accept the other source reported within the window, or else
// adds a credit that waits for the other source's confirmation.
func (d *creditDoc) accept(now time.Time, source string) {
	mine, other := &d.PendingClient, &d.PendingPush
	if source == sourcePush {
		mine, other = other, mine
	}
	if len(*other) > 0 {
		*other = (*other)[1:]
		d.log(now, source, "accept_confirmed", "")
		return
	}
	d.Count++
	*mine = append(*mine, now)
	d.log(now, source, "accept", "")
}

// zero records that WeChat holds no credit (turned off, banned, 43101).
func (d *creditDoc) zero(now time.Time, source, what, code string) {
	d.Count = 0
	d.PendingClient, d.PendingPush = nil, nil
	d.Epoch++
	d.log(now, source, what, code)
}

// take spends one credit if there is one (no projection: FerretDB takes none
// in findAndModify) (a conditional update: of any
// number of racing takers of the last credit, one wins). It returns the
// epoch the credit was taken in, ok false when there was none.
func (c *credits) take(ctx context.Context, userID, templateID string) (int64, bool, error) {
	var d creditDoc
	err := c.coll.FindOneAndUpdate(ctx, bson.M{"_id": creditID(userID, templateID), "count": bson.M{"$gt": 0}},
		bson.M{"$inc": bson.M{"count": -1, "version": 1}, "$set": bson.M{"updated_at": c.clock.Now().UTC().Truncate(time.Millisecond)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("take credit: %w", err)
	}
	return d.Epoch, true, nil
}

// giveBack returns a credit WeChat did not spend, unless the count was set
// to zero since it was taken (epoch changed).
func (c *credits) giveBack(ctx context.Context, userID, templateID string, epoch int64) error {
	_, err := c.coll.UpdateOne(ctx, bson.M{"_id": creditID(userID, templateID), "epoch": epoch},
		bson.M{"$inc": bson.M{"count": 1, "version": 1}, "$set": bson.M{"updated_at": c.clock.Now().UTC().Truncate(time.Millisecond)}})
	if err != nil {
		return fmt.Errorf("give credit back: %w", err)
	}
	return nil
}

// get returns the credit document, zero when there is none.
func (c *credits) get(ctx context.Context, userID, templateID string) (creditDoc, error) {
	var d creditDoc
	err := c.coll.FindOne(ctx, bson.M{"_id": creditID(userID, templateID)}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return creditDoc{ID: creditID(userID, templateID), UserID: userID, TemplateID: templateID}, nil
	}
	if err != nil {
		return creditDoc{}, fmt.Errorf("read credit: %w", err)
	}
	return d, nil
}
