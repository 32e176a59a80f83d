package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Reading and resolving discrepancies.

// ReconPendingTimeout is how long a resolution whose action did not finish
// (its process died midway) blocks the item; after it, Resolve may be
// called again and runs the (idempotent) action again.
const ReconPendingTimeout = 5 * time.Minute

// reconActionsFor are the actions each kind allows. A refund of a status
// mismatch is allowed only while Banshi does not count the order as paid
// (checked in Resolve); a gone item only allows explained.
var reconActionsFor = map[string][]string{
	ReconChannelOnly:      {ReconRefund, ReconExplained},
	ReconMissingAtChannel: {ReconTakeChannel, ReconExplained},
	ReconAmountMismatch:   {ReconTakeChannel, ReconExplained},
	ReconStatusMismatch:   {ReconTakeChannel, ReconRefund, ReconExplained},
	ReconRefundMismatch:   {ReconTakeChannel, ReconExplained},
}

// reconCheckKey validates a date and channel that name a reconciliation.
func reconCheckKey(date, channel string) error {
	if d, err := time.Parse(time.DateOnly, date); err != nil || d.Format(time.DateOnly) != date {
		return platform.Invalid("date", "format", "日期格式应为 YYYY-MM-DD")
	}
	if channel != ProviderWeChatPay && channel != ProviderAlipay {
		return platform.Invalid("channel", "enum", "渠道应为 wechatpay 或 alipay")
	}
	return nil
}

// Get returns the reconciliation of date and channel with its discrepancy
// items (those found by the latest run first, then the gone ones; by kind,
// order and refund number). Errors: platform.Invalid (date or channel
// malformed), ErrReconNotFound, storage errors.
func (r *Reconciler) Get(ctx context.Context, date, channel string) (Reconciliation, error) {
	if err := reconCheckKey(date, channel); err != nil {
		return Reconciliation{}, err
	}
	return r.readRecon(ctx, date, channel, true)
}

// Resolve resolves the discrepancy itemID of date and channel ("": the
// item's own; an item id is unique across channels) on behalf of
// actor (a finance username): action ReconTakeChannel calls
// ReconActions.TakeChannel, ReconRefund ReconActions.RefundChannelOnly of the
// channel's amount, ReconExplained nothing; note (required, at most
// ReconNoteMax characters) says why. The resolution is recorded before the
// action runs, so two clerks never both act; if the action fails, the
// resolution is withdrawn and the action's error returned. A later run of
// the same day keeps it.
//
// Errors: platform.Invalid (date, channel, action or note); ErrReconItemNotFound;
// ErrReconActionNotAllowed (the action does not fit the kind — take_channel
// of money only the channel has, refund of an order Banshi counts as paid —
// or the item is gone and the action is not explained); ErrReconItemResolved
// (resolved already, or being resolved); ReconActions' errors; storage errors.
func (r *Reconciler) Resolve(ctx context.Context, actor, date, channel, itemID, action, note string) (ReconItem, error) {
	keyChannel := channel
	if keyChannel == "" {
		keyChannel = ProviderWeChatPay // only the date is checked
	}
	if err := reconCheckKey(date, keyChannel); err != nil {
		return ReconItem{}, err
	}
	if action != ReconTakeChannel && action != ReconRefund && action != ReconExplained {
		return ReconItem{}, platform.Invalid("action", "enum", "处理方式应为 take_channel、refund 或 explained")
	}
	note = strings.TrimSpace(note)
	switch {
	case note == "":
		return ReconItem{}, platform.Invalid("note", "required", "请填写处理说明")
	case !utf8.ValidString(note) || utf8.RuneCountInString(note) > ReconNoteMax:
		return ReconItem{}, platform.Invalid("note", "length", fmt.Sprintf("处理说明不能超过 %d 个字", ReconNoteMax))
	}
	var d reconItemDoc
	err := r.items.FindOne(ctx, bson.D{{Key: "_id", Value: itemID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && (d.Date != date || (channel != "" && d.Channel != channel))) {
		return ReconItem{}, ErrReconItemNotFound
	}
	if err != nil {
		return ReconItem{}, fmt.Errorf("reconciliation: read item: %w", err)
	}
	channel = d.Channel
	now := r.clock.Now()
	if res := d.Resolution; res != nil && (res.Done || now.Sub(res.At) < ReconPendingTimeout) {
		return ReconItem{}, ErrReconItemResolved
	}
	if !slices.Contains(reconActionsFor[d.Kind], action) ||
		(action == ReconRefund && (d.BanshiPaid || d.ChannelAmountFen <= 0 || d.ChannelTradeNo == "")) ||
		(d.Gone && action != ReconExplained) {
		return ReconItem{}, ErrReconActionNotAllowed
	}

	// Claim the item: only while unresolved (or its pending resolution is
	// the stale one just read).
	token := platform.NewLeaseHolder()
	res := reconResolutionDoc{Action: action, Note: note, By: actor, At: now, Done: action == ReconExplained, Token: token}
	filter := bson.D{{Key: "_id", Value: itemID}, {Key: "resolution", Value: nil}}
	if d.Resolution != nil {
		filter = bson.D{{Key: "_id", Value: itemID}, {Key: "resolution.token", Value: d.Resolution.Token}, {Key: "resolution.done", Value: false}}
	}
	claimed, err := r.items.UpdateOne(ctx, filter, bson.M{"$set": bson.M{"resolution": res}})
	if err != nil {
		return ReconItem{}, fmt.Errorf("reconciliation: record resolution: %w", err)
	}
	if claimed.MatchedCount == 0 {
		return ReconItem{}, ErrReconItemResolved
	}
	log := r.log.With("item", itemID, "date", date, "channel", channel, "kind", d.Kind, "action", action, "by", actor)

	if action != ReconExplained {
		var aerr error
		if action == ReconTakeChannel {
			aerr = r.actions.TakeChannel(ctx, channel, d.OrderNo)
		} else {
			aerr = r.actions.RefundChannelOnly(ctx, channel, d.OrderNo, d.ChannelTradeNo, d.ChannelAmountFen, note)
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reconFinishTimeout)
		defer cancel()
		mine := bson.D{{Key: "_id", Value: itemID}, {Key: "resolution.token", Value: token}}
		if aerr != nil {
			if _, err := r.items.UpdateOne(bctx, mine, bson.M{"$set": bson.M{"resolution": nil}}); err != nil {
				log.Error("reconciliation resolution not withdrawn after its action failed; it expires", "err", err)
			}
			log.Warn("reconciliation action failed", "err", aerr)
			return ReconItem{}, aerr
		}
		if _, err := r.items.UpdateOne(bctx, mine, bson.M{"$set": bson.M{"resolution.done": true}}); err != nil {
			return ReconItem{}, fmt.Errorf("reconciliation: record resolution done: %w", err)
		}
		res.Done = true
	}
	log.Info("reconciliation item resolved")
	d.Resolution = &res
	return d.item(), nil
}
