package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// BillsDeps is what Bills needs.
type BillsDeps struct {
	DB       *mongo.Database
	Clock    platform.Clock
	Log      *slog.Logger // nil: discard
	Index    Indexer      // blind index of ID numbers and verification codes (account.Cipher)
	Owners   Owners       // who proved an ID number
	Notifier Notifier     // publishes citizens' messages (notify.Outbox)
	// PageChanged runs after a bill of userID changed (it drops the cached
	// views of the citizen's page). Optional.
	PageChanged func(ctx context.Context, userID string)
}

// Bills receives departments' bills (查) and shows them to citizens, to
// enterprises and to anyone holding a paper notice; the order service moves
// them through payment with the compare-and-swap helpers of bill_state.go.
type Bills struct {
	bills   *mongo.Collection
	events  *mongo.Collection
	clock   platform.Clock
	log     *slog.Logger
	index   Indexer
	owners  Owners
	notify  Notifier
	changed func(ctx context.Context, userID string)
}

// NewBills returns the bill service. Errors: a missing dependency.
func NewBills(d BillsDeps) (*Bills, error) {
	if d.DB == nil || d.Clock == nil || d.Index == nil || d.Owners == nil || d.Notifier == nil {
		return nil, errors.New("payments: bills need DB, Clock, Index, Owners and Notifier")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bills{
		bills: d.DB.Collection(CollBills), events: d.DB.Collection(CollBillEvents),
		clock: d.Clock, log: log, index: d.Index, owners: d.Owners, notify: d.Notifier, changed: d.PageChanged,
	}, nil
}

// EnsureIndexes creates the indexes citizens' and enterprises' lists read
// by. Idempotent.
func (b *Bills) EnsureIndexes(ctx context.Context) error {
	for _, keys := range []bson.D{
		{{Key: "id_index", Value: 1}, {Key: "state", Value: 1}, {Key: "due_date", Value: 1}},
		{{Key: "uscc", Value: 1}, {Key: "state", Value: 1}, {Key: "due_date", Value: 1}},
	} {
		if _, err := b.bills.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
			return fmt.Errorf("bill indexes: %w", err)
		}
	}
	return nil
}

// billEventDoc is a bill_events document: the record that a department's
// event was applied, which makes a delivery of it again a duplicate.
// Refused events are never recorded.
type billEventDoc struct {
	ID         string    `bson:"_id"` // "<source>|<event_id>"
	Source     string    `bson:"source"`
	EventID    string    `bson:"event_id"`
	Action     string    `bson:"action"`
	BillNo     string    `bson:"bill_no"`
	ReceivedAt time.Time `bson:"received_at"`
}

func billEventID(source, eventID string) string { return source + "|" + eventID }

// BillReceipt is Banshi's answer to a department's bill event.
type BillReceipt struct {
	EventID string `json:"event_id"`
	// BillNo is the bill of the event as first received (a duplicate that
	// names another bill changes nothing).
	BillNo string `json:"bill_no"`
	// Duplicate: the event was applied before; this delivery changed nothing.
	Duplicate bool `json:"duplicate"`
	// State is the bill's state now.
	State string `json:"state"`
}

// billCASAttempts bounds the compare-and-swap retries of one event on one
// bill; each retry means the bill changed meanwhile.
const billCASAttempts = 50

// Receive takes one bill event from source, a department system whose
// signature and scope the caller has verified. body is parsed and validated
// (ParseBillEvent) before anything is read or stored.
//
// An event is idempotent by "<source>|<event_id>": one applied before
// answers Duplicate and changes nothing. issue creates the bill (state
// unpaid). cancel and adjust are compare-and-swap on the bill's version and
// apply only to an unpaid bill of the same source. Once applied, the event
// is recorded and the proven owner of a person's bill is told (message kinds
// bill_issued, bill_cancelled, bill_adjusted, deterministic ids).
//
// Errors (the event is then neither applied nor recorded, so that a retry
// after the payment ends is decided afresh): platform.Invalid naming the
// field; ErrBillConflict (issue of a bill number that exists, this source's
// or another's); ErrBillNotFound (cancel or adjust of a bill that does not
// exist or is another source's); ErrBillInPayment, ErrBillPaid,
// ErrBillCancelled (cancel or adjust of a bill in that state); storage
// errors. After a storage error the event may be applied and not yet
// recorded or told: sending it again finishes it (the bill lists the events
// applied to it).
func (b *Bills) Receive(ctx context.Context, source string, body []byte) (BillReceipt, error) {
	now := b.clock.Now()
	ev, err := ParseBillEvent(body, now)
	if err != nil {
		return BillReceipt{}, err
	}
	id := billEventID(source, ev.EventID)
	var known billEventDoc
	switch err := b.events.FindOne(ctx, bson.M{"_id": id}).Decode(&known); {
	case err == nil:
		if known.BillNo != ev.BillNo || known.Action != ev.Action {
			b.log.WarnContext(ctx, "bill event id reused with other content; kept the first",
				"source", source, "event_id", ev.EventID)
		}
		r := BillReceipt{EventID: ev.EventID, BillNo: known.BillNo, Duplicate: true}
		if d, err := b.load(ctx, known.BillNo); err == nil {
			r.State = d.State
		}
		return r, nil
	case !errors.Is(err, mongo.ErrNoDocuments):
		return BillReceipt{}, fmt.Errorf("read bill event: %w", err)
	}

	var doc billDoc
	var had bool // the bill had the event already: a retry after a failure, or a concurrent delivery
	if ev.Action == BillIssue {
		doc, had, err = b.issue(ctx, source, ev, now)
	} else {
		doc, had, err = b.change(ctx, source, ev)
	}
	if err != nil {
		return BillReceipt{}, err
	}
	if err := b.publish(ctx, source, ev, doc); err != nil {
		return BillReceipt{}, err
	}
	rec := billEventDoc{ID: id, Source: source, EventID: ev.EventID, Action: ev.Action, BillNo: ev.BillNo,
		ReceivedAt: now.UTC().Truncate(time.Millisecond)}
	if _, err := b.events.InsertOne(ctx, rec); err != nil && !platform.IsDuplicateKey(err) {
		return BillReceipt{}, fmt.Errorf("record bill event: %w", err)
	}
	return BillReceipt{EventID: ev.EventID, BillNo: ev.BillNo, Duplicate: had, State: doc.State}, nil
}

// newBillDoc is the bill an issue event creates.
func (b *Bills) newBillDoc(source string, ev BillEvent, now time.Time) billDoc {
	at := now.UTC().Truncate(time.Millisecond)
	d := billDoc{
		ID: ev.BillNo, Source: source, Kind: ev.Kind, Item: ev.Item,
		Payer:     payerDoc{Type: ev.Payer.Type},
		AmountFen: ev.AmountFen, DueDate: ev.DueDate, LateFee: lateFeeOf(ev.LateFee),
		Unit:       unitDoc{Code: ev.Unit.Code, Name: ev.Unit.Name},
		CodeDigest: b.codeDigest(ev.BillNo, ev.VerificationCode),
		State:      BillUnpaid, LastEvent: ev.EventID, Events: []string{ev.EventID},
		Version: 1, IssuedAt: at, UpdatedAt: at,
	}
	switch ev.Payer.Type {
	case PayerPerson:
		d.Payer.IDIndex = b.index.BlindIndex(IDNumberKind, ev.Payer.IDNumber)
		d.Payer.NameMasked = account.MaskName(ev.Payer.Name)
		d.IDIndex = d.Payer.IDIndex
	case PayerEnterprise:
		d.Payer.USCC, d.Payer.Name = ev.Payer.USCC, ev.Payer.Name
		d.USCC = ev.Payer.USCC
	}
	return d
}

// codeDigest is the blind index of a bill's verification code: only it is
// stored.
func (b *Bills) codeDigest(billNo, code string) string {
	return b.index.BlindIndex(CodeKind, billNo+"|"+code)
}

// lateFeeOf is the stored late fee of an event's; an absent cap is stored
// as MaxBillAmountFen, which LateFeeFen holds to the bill's amount.
func lateFeeOf(lf *BillLateFee) *lateFeeDoc {
	if lf == nil {
		return nil
	}
	c := int64(MaxBillAmountFen)
	if lf.CapFen != nil {
		c = *lf.CapFen
	}
	return &lateFeeDoc{From: lf.From, PermillePerDay: lf.PermillePerDay, CapFen: c}
}

// issue creates the bill; the unique _id (bill_no) decides between
// concurrent issues. had reports a bill that already holds this very event
// (its earlier delivery).
func (b *Bills) issue(ctx context.Context, source string, ev BillEvent, now time.Time) (billDoc, bool, error) {
	d := b.newBillDoc(source, ev, now)
	_, err := b.bills.InsertOne(ctx, d)
	if err == nil {
		return d, false, nil
	}
	if !platform.IsDuplicateKey(err) {
		return billDoc{}, false, fmt.Errorf("create bill: %w", err)
	}
	cur, err := b.load(ctx, ev.BillNo)
	if err != nil {
		return billDoc{}, false, err
	}
	if cur.Source == source && slices.Contains(cur.Events, ev.EventID) {
		return cur, true, nil
	}
	return billDoc{}, false, ErrBillConflict
}

// change applies a cancel or an adjust to an unpaid bill of source,
// compare-and-swap on its version, retrying when it lost to another change
// that left the bill unpaid.
func (b *Bills) change(ctx context.Context, source string, ev BillEvent) (billDoc, bool, error) {
	for attempt := range billCASAttempts {
		d, err := b.load(ctx, ev.BillNo)
		if err != nil {
			return billDoc{}, false, err
		}
		if d.Source != source {
			return billDoc{}, false, ErrBillNotFound
		}
		if slices.Contains(d.Events, ev.EventID) {
			return d, true, nil
		}
		if err := billStateError(d.State); err != nil {
			return billDoc{}, false, err
		}
		set := bson.M{}
		nd := d
		switch ev.Action {
		case BillCancel:
			nd.State = BillCancelled
			set["state"] = BillCancelled
		case BillAdjust:
			if ev.AmountFen > 0 {
				nd.AmountFen = ev.AmountFen
				set["amount_fen"] = ev.AmountFen
			}
			if ev.DueDate != "" {
				nd.DueDate = ev.DueDate
				set["due_date"] = ev.DueDate
			}
			if ev.LateFee != nil {
				if ev.LateFee.CapFen != nil && *ev.LateFee.CapFen > nd.AmountFen {
					return billDoc{}, false, platform.Invalid("late_fee.cap_fen", "range", "滞纳金上限不应超过账单金额")
				}
				nd.LateFee = lateFeeOf(ev.LateFee)
				set["late_fee"] = nd.LateFee
			}
		}
		nd.Version++
		nd.LastEvent = ev.EventID
		nd.Events = append(slices.Clip(d.Events), ev.EventID)
		nd.UpdatedAt = b.clock.Now().UTC().Truncate(time.Millisecond)
		set["version"], set["last_event"], set["events"], set["updated_at"] = nd.Version, nd.LastEvent, nd.Events, nd.UpdatedAt
		res, err := b.bills.UpdateOne(ctx, bson.M{"_id": d.ID, "version": d.Version, "state": BillUnpaid}, bson.M{"$set": set})
		if err != nil {
			return billDoc{}, false, fmt.Errorf("update bill: %w", err)
		}
		if res.MatchedCount == 1 {
			return nd, false, nil
		}
		// Another change won: read again after a short random pause, so
		// that racers spread out.
		select {
		case <-ctx.Done():
			return billDoc{}, false, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(1+min(attempt, 10))) * time.Millisecond):
		}
	}
	return billDoc{}, false, errBillContended
}

// billStateError is why a bill in state cannot be cancelled or adjusted; nil
// for an unpaid one.
func billStateError(state string) error {
	switch state {
	case BillUnpaid:
		return nil
	case BillPaying:
		return ErrBillInPayment
	case BillPaid:
		return ErrBillPaid
	case BillCancelled:
		return ErrBillCancelled
	}
	return fmt.Errorf("payments: bill in unknown state %q", state)
}

// publish tells the proven owner of a person's bill about the event (none
// for an enterprise's bill, or when nobody proved the ID number), and drops
// their cached page.
func (b *Bills) publish(ctx context.Context, source string, ev BillEvent, d billDoc) error {
	if d.Payer.Type != PayerPerson || d.IDIndex == "" {
		return nil
	}
	owner, err := b.owners.ProvenOwner(ctx, d.IDIndex)
	if err != nil {
		return fmt.Errorf("find payer: %w", err)
	}
	if owner == "" {
		return nil
	}
	err = b.notify.Notify(ctx, billMessage(source, ev, d, owner, b.clock.Now()))
	if b.changed != nil {
		b.changed(ctx, owner) // the bill changed, whether or not the message is out
	}
	if err != nil {
		return fmt.Errorf("publish bill message: %w", err)
	}
	return nil
}
