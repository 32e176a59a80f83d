package payments

// TEMPORARY: the bills helper's branch replaces this file (bills.go,
// bill_state.go). Only what the order service calls, per the agreed contract.

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

var (
	ErrBillNotFound    = platform.NewError("bill_not_found", "未找到该缴费单，或验证码不正确")
	ErrBillPaidByOther = errors.New("payments: bill paid by another order")
	errBillChanged     = errors.New("payments: bill changed")
)

type Bills struct {
	coll  *mongo.Collection
	clock platform.Clock
}

func (b *Bills) load(ctx context.Context, billNo string) (billDoc, error) {
	var d billDoc
	err := b.coll.FindOne(ctx, bson.M{"_id": billNo}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, ErrBillNotFound
	}
	return d, err
}

func (b *Bills) cas(ctx context.Context, d billDoc, set bson.M) (billDoc, error) {
	set["version"] = d.Version + 1
	set["updated_at"] = b.clock.Now()
	r, err := b.coll.UpdateOne(ctx, bson.M{"_id": d.ID, "version": d.Version}, bson.M{"$set": set})
	if err != nil {
		return d, err
	}
	cur, err := b.load(ctx, d.ID)
	if err != nil {
		return d, err
	}
	if r.ModifiedCount == 0 {
		return cur, errBillChanged
	}
	return cur, nil
}

func (b *Bills) openOrder(ctx context.Context, d billDoc, orderNo string) (billDoc, error) {
	if d.State != BillUnpaid {
		return d, errBillChanged
	}
	return b.cas(ctx, d, bson.M{"state": BillPaying, "open_order": orderNo})
}

func (b *Bills) releaseOrder(ctx context.Context, billNo, orderNo string) (billDoc, error) {
	for {
		d, err := b.load(ctx, billNo)
		if err != nil || d.State != BillPaying || d.OpenOrder != orderNo {
			return d, err
		}
		d, err = b.cas(ctx, d, bson.M{"state": BillUnpaid, "open_order": ""})
		if !errors.Is(err, errBillChanged) {
			return d, err
		}
	}
}

func (b *Bills) markPaid(ctx context.Context, billNo, orderNo string, paidFen int64, paidAt time.Time) (billDoc, bool, error) {
	for {
		d, err := b.load(ctx, billNo)
		if err != nil {
			return d, false, err
		}
		if d.State == BillPaid {
			if d.PaidOrder == orderNo {
				return d, false, nil
			}
			return d, false, ErrBillPaidByOther
		}
		d, err = b.cas(ctx, d, bson.M{"state": BillPaid, "open_order": "", "paid_order": orderNo, "paid_fen": paidFen, "paid_at": paidAt})
		if !errors.Is(err, errBillChanged) {
			return d, err == nil, err
		}
	}
}

func LateFeeFen(b billDoc, now time.Time) int64 { return 0 }

func NewBillsForWiring(db *mongo.Database, clock platform.Clock) *Bills {
	return &Bills{coll: db.Collection(CollBills), clock: clock}
}
