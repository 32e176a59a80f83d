package payments

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// BillPayerView is a bill's payer as shown: a person only by the masked
// name; an enterprise by name and USCC.
type BillPayerView struct {
	Type string `json:"type"`
	Name string `json:"name"`
	USCC string `json:"uscc,omitempty"`
}

// BillLateFeeView is a bill's late fee as shown; CapFen is the cap in
// effect (never above the amount).
type BillLateFeeView struct {
	From           string   `json:"from"`
	PermillePerDay Permille `json:"permille_per_day"`
	CapFen         int64    `json:"cap_fen"`
}

// BillView is a bill as citizens, enterprises and holders of its paper
// notice see it. LateFeeFen and DueFen (amount + late fee) are as of today
// in Asia/Shanghai for a bill not paid, as of the payment for a paid one
// (PaidFen is then what was paid), and 0 for a cancelled one. OrderNo is the
// order that paid it.
type BillView struct {
	BillNo         string           `json:"bill_no"`
	Kind           string           `json:"kind"`
	Item           string           `json:"item"`
	Payer          BillPayerView    `json:"payer"`
	AmountFen      int64            `json:"amount_fen"`
	LateFeeFen     int64            `json:"late_fee_fen"`
	DueFen         int64            `json:"due_fen"`
	DueDate        string           `json:"due_date"`
	LateFee        *BillLateFeeView `json:"late_fee,omitempty"`
	CollectingUnit CollectingUnit   `json:"collecting_unit"`
	State          string           `json:"state"`
	OrderNo        string           `json:"order_no,omitempty"`
	PaidFen        int64            `json:"paid_fen,omitempty"`
	PaidAt         *time.Time       `json:"paid_at,omitempty"`
	IssuedAt       time.Time        `json:"issued_at"`
}

// viewOf is d as shown at now.
func viewOf(d billDoc, now time.Time) BillView {
	v := BillView{
		BillNo: d.ID, Kind: d.Kind, Item: d.Item, Payer: BillPayerView{Type: d.Payer.Type},
		AmountFen: d.AmountFen, DueDate: d.DueDate, CollectingUnit: CollectingUnit{Code: d.Unit.Code, Name: d.Unit.Name},
		State: d.State, IssuedAt: platform.Local(d.IssuedAt),
	}
	if d.Payer.Type == PayerPerson {
		v.Payer.Name = d.Payer.NameMasked
	} else {
		v.Payer.Name, v.Payer.USCC = d.Payer.Name, d.Payer.USCC
	}
	if lf := d.LateFee; lf != nil {
		v.LateFee = &BillLateFeeView{From: lf.From, PermillePerDay: lf.PermillePerDay, CapFen: min(lf.CapFen, d.AmountFen)}
	}
	switch d.State {
	case BillPaid:
		v.LateFeeFen = LateFeeFen(d, d.PaidAt)
		v.DueFen = d.AmountFen + v.LateFeeFen
		v.OrderNo, v.PaidFen = d.PaidOrder, d.PaidFen
		at := platform.Local(d.PaidAt)
		v.PaidAt = &at
	case BillCancelled:
	default:
		v.LateFeeFen = LateFeeFen(d, now)
		v.DueFen = d.AmountFen + v.LateFeeFen
	}
	return v
}

// Most bills a list shows: the open ones (unpaid, paying), then the most
// recently paid.
const (
	MaxOpenBills = 100
	MaxPaidBills = 20
)

// ForUser returns the bills of the ID number userID proved (real-name level
// 3 or more; a level-2 declaration shows none): unpaid and paying first,
// by due date (then bill number), then paid, most recently paid first;
// cancelled bills are left out. Errors: storage only.
func (b *Bills) ForUser(ctx context.Context, userID string) ([]BillView, error) {
	idx, err := b.owners.ProvenIndex(ctx, userID)
	if err != nil {
		return nil, err
	}
	if idx == "" {
		return []BillView{}, nil
	}
	return b.list(ctx, bson.M{"id_index": idx})
}

// ForEnterprise returns the bills of the enterprise uscc, ordered as
// ForUser's. The caller decides who may see them. Errors: platform.Invalid
// (field uscc, the check platform.ParseUSCC names: uscc malformed); storage.
func (b *Bills) ForEnterprise(ctx context.Context, uscc string) ([]BillView, error) {
	if _, err := platform.ParseUSCC(uscc); err != nil {
		return nil, err
	}
	return b.list(ctx, bson.M{"uscc": uscc})
}

func (b *Bills) list(ctx context.Context, who bson.M) ([]BillView, error) {
	now := b.clock.Now()
	out := []BillView{}
	for _, q := range []struct {
		state bson.M
		sort  bson.D
		limit int64
	}{
		{bson.M{"$in": bson.A{BillUnpaid, BillPaying}}, bson.D{{Key: "due_date", Value: 1}, {Key: "_id", Value: 1}}, MaxOpenBills},
		{bson.M{"$eq": BillPaid}, bson.D{{Key: "paid_at", Value: -1}, {Key: "_id", Value: 1}}, MaxPaidBills},
	} {
		f := bson.M{"state": q.state}
		for k, v := range who {
			f[k] = v
		}
		cur, err := b.bills.Find(ctx, f, options.Find().SetSort(q.sort).SetLimit(q.limit))
		if err != nil {
			return nil, fmt.Errorf("list bills: %w", err)
		}
		var docs []billDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("list bills: %w", err)
		}
		for _, d := range docs {
			out = append(out, viewOf(d, now))
		}
	}
	return out, nil
}

// Lookup returns the bill billNo to whoever holds its paper notice, which
// shows the verification code. A wrong code answers exactly as an unknown
// bill does (the code's digest is computed and compared either way, in
// constant time). Errors: ErrBillNotFound (unknown bill, malformed number,
// wrong code); storage.
func (b *Bills) Lookup(ctx context.Context, billNo, code string) (BillView, error) {
	digest := b.codeDigest(billNo, code)
	if !BillNoPattern.MatchString(billNo) {
		return BillView{}, ErrBillNotFound
	}
	d, err := b.load(ctx, billNo)
	if err != nil {
		return BillView{}, err
	}
	if subtle.ConstantTimeCompare([]byte(digest), []byte(d.CodeDigest)) != 1 {
		return BillView{}, ErrBillNotFound
	}
	return viewOf(d, b.clock.Now()), nil
}

// View returns the bill billNo (for the order service and staff; no check
// of who asks). Errors: ErrBillNotFound; storage.
func (b *Bills) View(ctx context.Context, billNo string) (BillView, error) {
	if !BillNoPattern.MatchString(billNo) {
		return BillView{}, ErrBillNotFound
	}
	d, err := b.load(ctx, billNo)
	if err != nil {
		return BillView{}, err
	}
	return viewOf(d, b.clock.Now()), nil
}
