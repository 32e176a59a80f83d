package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// How reconciliations and their items are stored.

// reconDoc is a reconciliations document.
type reconDoc struct {
	ID         string       `bson:"_id"` // "<date>|<channel>"
	Date       string       `bson:"date"`
	Channel    string       `bson:"channel"`
	Status     string       `bson:"status"`
	RunID      string       `bson:"run_id"` // the latest run's
	Runs       int64        `bson:"runs"`
	Error      string       `bson:"error,omitempty"`
	Summary    ReconSummary `bson:"summary"`
	StartedAt  time.Time    `bson:"started_at"`
	FinishedAt time.Time    `bson:"finished_at,omitempty"`
	CreatedAt  time.Time    `bson:"created_at"`
}

// reconItemDoc is a reconciliation_items document. Everything but the
// resolution is rewritten by each run that finds it; the resolution only by
// Resolve.
type reconItemDoc struct {
	ID               string              `bson:"_id"`
	Date             string              `bson:"date"`
	Channel          string              `bson:"channel"`
	Kind             string              `bson:"kind"`
	OrderNo          string              `bson:"order_no"`
	RefundNo         string              `bson:"refund_no,omitempty"`
	ChannelTradeNo   string              `bson:"channel_trade_no,omitempty"`
	AmountFen        int64               `bson:"amount_fen"`
	ChannelAmountFen int64               `bson:"channel_amount_fen"`
	BanshiState      string              `bson:"banshi_state,omitempty"`
	BanshiPaid       bool                `bson:"banshi_paid"` // Banshi counts the order as paid (a refund would pay back twice)
	Detail           string              `bson:"detail"`
	RunID            string              `bson:"run_id"` // the last run that found it
	Gone             bool                `bson:"gone"`
	Resolution       *reconResolutionDoc `bson:"resolution"`
	FirstSeen        time.Time           `bson:"first_seen"`
	LastSeen         time.Time           `bson:"last_seen"`
}

// reconResolutionDoc is an item's resolution as stored.
type reconResolutionDoc struct {
	Action string    `bson:"action"`
	Note   string    `bson:"note"`
	By     string    `bson:"by"`
	At     time.Time `bson:"at"`
	Done   bool      `bson:"done"`
	Token  string    `bson:"token"` // who is running its action
}

// reconID is the _id of a reconciliation.
func reconID(date, channel string) string { return date + "|" + channel }

// reconItemID is an item's stable _id: the same discrepancy found again by
// a re-run of the same day is the same item. 32 hex characters, safe in a
// URL path.
func reconItemID(date, channel, kind, orderNo, refundNo string) string {
	sum := sha256.Sum256([]byte(date + "\x00" + channel + "\x00" + kind + "\x00" + orderNo + "\x00" + refundNo))
	return hex.EncodeToString(sum[:16])
}

// reconItemBatch is how many item upserts go to MongoDB at once.
const reconItemBatch = 500

// reconItemWriter writes a run's items in batches, so a bill full of
// discrepancies costs neither a round trip per item nor memory that grows
// with the bill.
type reconItemWriter struct {
	coll    *mongo.Collection
	runID   string
	now     time.Time
	pending []mongo.WriteModel
	// kinds are the pending items' kinds, counted (under channel) when
	// their upsert inserts them: a discrepancy counts when first found.
	kinds   []string
	channel string
	metrics *Metrics
}

// add queues the upsert of d: its fields are set, its resolution and first
// sighting only when it is new; it is no longer gone.
func (w *reconItemWriter) add(ctx context.Context, d reconItemDoc) error {
	set := bson.M{
		"date": d.Date, "channel": d.Channel, "kind": d.Kind, "order_no": d.OrderNo, "refund_no": d.RefundNo,
		"channel_trade_no": d.ChannelTradeNo, "amount_fen": d.AmountFen, "channel_amount_fen": d.ChannelAmountFen,
		"banshi_state": d.BanshiState, "banshi_paid": d.BanshiPaid, "detail": d.Detail,
		"run_id": w.runID, "gone": false, "last_seen": w.now,
	}
	w.pending = append(w.pending, mongo.NewUpdateOneModel().
		SetFilter(bson.D{{Key: "_id", Value: d.ID}}).
		SetUpdate(bson.M{"$set": set, "$setOnInsert": bson.M{"resolution": nil, "first_seen": w.now}}).
		SetUpsert(true))
	w.kinds = append(w.kinds, d.Kind)
	if len(w.pending) >= reconItemBatch {
		return w.flush(ctx)
	}
	return nil
}

// flush writes the queued upserts.
func (w *reconItemWriter) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	res, err := w.coll.BulkWrite(ctx, w.pending, options.BulkWrite().SetOrdered(false))
	kinds := w.kinds
	w.pending, w.kinds = w.pending[:0], w.kinds[:0]
	if res != nil {
		for i := range res.UpsertedIDs {
			if int(i) < len(kinds) {
				w.metrics.discrepancy(w.channel, kinds[i])
			}
		}
	}
	if err != nil {
		return fmt.Errorf("reconciliation: write items: %w", err)
	}
	return nil
}

// markGone marks the items of date and channel that run runID did not find.
func (r *Reconciler) markGone(ctx context.Context, date, channel, runID string) error {
	_, err := r.items.UpdateMany(ctx,
		bson.D{{Key: "date", Value: date}, {Key: "channel", Value: channel}, {Key: "run_id", Value: bson.M{"$ne": runID}}, {Key: "gone", Value: false}},
		bson.M{"$set": bson.M{"gone": true}})
	if err != nil {
		return fmt.Errorf("reconciliation: mark gone items: %w", err)
	}
	return nil
}

// begin records that run runID of date and channel started; created is true
// when the date and channel were never run before.
func (r *Reconciler) begin(ctx context.Context, date, channel, runID string, now time.Time) (created bool, err error) {
	res, err := r.recons.UpdateOne(ctx, bson.D{{Key: "_id", Value: reconID(date, channel)}},
		bson.M{
			"$set": bson.M{"date": date, "channel": channel, "status": ReconRunning, "run_id": runID,
				"error": "", "started_at": now, "finished_at": time.Time{}},
			"$inc":         bson.M{"runs": int64(1)},
			"$setOnInsert": bson.M{"created_at": now, "summary": ReconSummary{}},
		}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return false, fmt.Errorf("reconciliation: record start: %w", err)
	}
	return res.UpsertedCount == 1, nil
}

// finish records run runID's outcome (only while it is still the latest
// run: a run that lost its lease never overwrites its successor's).
func (r *Reconciler) finish(ctx context.Context, date, channel, runID, status, why string, sum ReconSummary, now time.Time) error {
	set := bson.M{"status": status, "error": why, "finished_at": now}
	if status == ReconDone {
		set["summary"] = sum
	}
	_, err := r.recons.UpdateOne(ctx, bson.D{{Key: "_id", Value: reconID(date, channel)}, {Key: "run_id", Value: runID}},
		bson.M{"$set": set})
	if err != nil {
		return fmt.Errorf("reconciliation: record end: %w", err)
	}
	return nil
}

// readRecon reads the reconciliation of date and channel, with its items
// when withItems. ErrReconNotFound when it was never run.
func (r *Reconciler) readRecon(ctx context.Context, date, channel string, withItems bool) (Reconciliation, error) {
	var d reconDoc
	err := r.recons.FindOne(ctx, bson.D{{Key: "_id", Value: reconID(date, channel)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Reconciliation{}, ErrReconNotFound
	}
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconciliation: read: %w", err)
	}
	rec := Reconciliation{
		Date: d.Date, Channel: d.Channel, Status: d.Status, Error: d.Error, Runs: d.Runs, Summary: d.Summary,
		StartedAt: platform.Local(d.StartedAt), FinishedAt: platform.Local(d.FinishedAt),
	}
	if d.FinishedAt.Unix() <= 0 {
		rec.FinishedAt = time.Time{}
	}
	if !withItems {
		return rec, nil
	}
	cur, err := r.items.Find(ctx, bson.D{{Key: "date", Value: date}, {Key: "channel", Value: channel}})
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconciliation: read items: %w", err)
	}
	var docs []reconItemDoc
	if err := cur.All(ctx, &docs); err != nil {
		return Reconciliation{}, fmt.Errorf("reconciliation: read items: %w", err)
	}
	sort.Slice(docs, func(i, j int) bool {
		a, b := docs[i], docs[j]
		if a.Gone != b.Gone {
			return !a.Gone
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.OrderNo != b.OrderNo {
			return a.OrderNo < b.OrderNo
		}
		return a.RefundNo < b.RefundNo
	})
	rec.Items = make([]ReconItem, 0, len(docs))
	for _, d := range docs {
		rec.Items = append(rec.Items, d.item())
	}
	return rec, nil
}

// item is the document as shown.
func (d reconItemDoc) item() ReconItem {
	it := ReconItem{
		ID: d.ID, Kind: d.Kind, OrderNo: d.OrderNo, RefundNo: d.RefundNo, ChannelTradeNo: d.ChannelTradeNo,
		AmountFen: d.AmountFen, ChannelAmountFen: d.ChannelAmountFen, BanshiState: d.BanshiState,
		Detail: d.Detail, Gone: d.Gone,
	}
	if res := d.Resolution; res != nil {
		it.Resolution = &ReconResolution{Action: res.Action, Note: res.Note, By: res.By, At: platform.Local(res.At), Done: res.Done}
	}
	return it
}

// EnsureIndexes creates the indexes a run reads by: orders by paid day and
// channel, refunds by channel and acceptance time, items by day and
// channel. Idempotent. On MongoDB they make a run's two scans read only the
// day; the embedded engine scans the collection whatever the indexes.
func (r *Reconciler) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		keys bson.D
	}{
		{r.orders, bson.D{{Key: "paid_date", Value: 1}, {Key: "provider", Value: 1}}},
		{r.refunds, bson.D{{Key: "provider", Value: 1}, {Key: "created_at", Value: 1}}},
		{r.items, bson.D{{Key: "date", Value: 1}, {Key: "channel", Value: 1}}},
	} {
		if _, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("reconciliation indexes: %w", err)
		}
	}
	return nil
}
