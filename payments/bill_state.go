package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// The bill's compare-and-swap helpers the order service calls. Every change
// is one conditional update of one document (atomic), and every change
// advances the version, so that a change computed from a read of version v
// applies only while the bill is still at v.

// load returns the bill billNo. Errors: ErrBillNotFound; storage errors.
func (b *Bills) load(ctx context.Context, billNo string) (billDoc, error) {
	var d billDoc
	err := b.bills.FindOne(ctx, bson.M{"_id": billNo}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return billDoc{}, ErrBillNotFound
	}
	if err != nil {
		return billDoc{}, fmt.Errorf("read bill: %w", err)
	}
	return d, nil
}

// openOrder moves bill, as read at its version, from unpaid to paying with
// open_order = orderNo and the version advanced, and returns the new bill.
//
//   - bill was not unpaid when read: nothing is written; it returns bill and
//     its state's error (ErrBillInPayment, ErrBillPaid, ErrBillCancelled).
//   - The bill changed since it was read (another order, a cancel, an
//     adjust): nothing is written; it returns the bill as it is now and
//     errBillChanged (ErrBillNotFound if it is gone). The caller decides
//     again from that bill.
//
// Other errors: storage.
func (b *Bills) openOrder(ctx context.Context, bill billDoc, orderNo string) (billDoc, error) {
	if err := billStateError(bill.State); err != nil {
		return bill, err
	}
	nd := bill
	nd.State, nd.OpenOrder = BillPaying, orderNo
	nd.Version++
	nd.UpdatedAt = b.now()
	res, err := b.bills.UpdateOne(ctx, bson.M{"_id": bill.ID, "version": bill.Version, "state": BillUnpaid},
		bson.M{"$set": bson.M{"state": nd.State, "open_order": orderNo, "version": nd.Version, "updated_at": nd.UpdatedAt}})
	if err != nil {
		return billDoc{}, fmt.Errorf("open order on bill: %w", err)
	}
	if res.MatchedCount == 1 {
		return nd, nil
	}
	cur, err := b.load(ctx, bill.ID)
	if err != nil {
		return billDoc{}, err
	}
	return cur, errBillChanged
}

// releaseOrder makes a bill paying with open_order == orderNo unpaid again
// (the order closed unpaid), advancing its version, and returns the bill as
// it is then. A bill in any other state, or paying with another order, is
// left as it is and returned. Idempotent. Errors: ErrBillNotFound; storage.
func (b *Bills) releaseOrder(ctx context.Context, billNo, orderNo string) (billDoc, error) {
	_, err := b.bills.UpdateOne(ctx, bson.M{"_id": billNo, "state": BillPaying, "open_order": orderNo}, bson.M{
		"$set":   bson.M{"state": BillUnpaid, "updated_at": b.now()},
		"$unset": bson.M{"open_order": ""},
		"$inc":   bson.M{"version": int64(1)},
	})
	if err != nil {
		return billDoc{}, fmt.Errorf("release bill: %w", err)
	}
	return b.load(ctx, billNo)
}

// markPaid records that order orderNo paid the bill (paidFen at paidAt, the
// channel's success time), advancing its version, and returns the bill and
// true. A bill unpaid, paying (whatever its open order: a callback of an
// order Banshi had replaced still paid it) or cancelled (the money came
// anyway; the department refuses it and it is refunded) becomes paid, with
// no open order.
//
// Already paid by orderNo: nothing changes; it returns the bill and false
// (a duplicate callback). Paid by another order: nothing changes; it returns
// the bill, false and ErrBillPaidByOther — the caller refunds orderNo's
// payment. Idempotent and safe for concurrent calls: exactly one order pays
// a bill. Errors: ErrBillNotFound; storage.
func (b *Bills) markPaid(ctx context.Context, billNo, orderNo string, paidFen int64, paidAt time.Time) (billDoc, bool, error) {
	res, err := b.bills.UpdateOne(ctx,
		bson.M{"_id": billNo, "state": bson.M{"$in": bson.A{BillUnpaid, BillPaying, BillCancelled}}},
		bson.M{
			"$set": bson.M{"state": BillPaid, "paid_order": orderNo, "paid_fen": paidFen,
				"paid_at": paidAt.UTC().Truncate(time.Millisecond), "updated_at": b.now()},
			"$unset": bson.M{"open_order": ""},
			"$inc":   bson.M{"version": int64(1)},
		})
	if err != nil {
		return billDoc{}, false, fmt.Errorf("mark bill paid: %w", err)
	}
	// Paid ends only by unmarkPaid (the paying order refunded because the
	// department did not handle it): what is read now is what the update
	// saw or made, or, rarely, that unmarking, which a retry decides.
	d, err := b.load(ctx, billNo)
	if err != nil {
		return billDoc{}, false, err
	}
	switch {
	case res.MatchedCount == 1:
		return d, true, nil
	case d.State == BillPaid && d.PaidOrder == orderNo:
		return d, false, nil
	case d.State == BillPaid:
		return d, false, ErrBillPaidByOther
	}
	return billDoc{}, false, fmt.Errorf("payments: bill %s in unknown state %q", billNo, d.State)
}

// unmarkPaid makes a bill paid by orderNo payable again (unpaid, no paid
// order): the department did not handle that payment and it is refunded in
// full, so the bill is owed once more (and the department may cancel it).
// A bill not paid by orderNo is left as it is. Idempotent; it returns the
// bill as it then is. Errors: ErrBillNotFound, storage errors.
func (b *Bills) unmarkPaid(ctx context.Context, billNo, orderNo string) (billDoc, error) {
	if _, err := b.bills.UpdateOne(ctx,
		bson.M{"_id": billNo, "state": BillPaid, "paid_order": orderNo},
		bson.M{
			"$set":   bson.M{"state": BillUnpaid, "updated_at": b.now()},
			"$unset": bson.M{"paid_order": "", "paid_fen": "", "paid_at": ""},
			"$inc":   bson.M{"version": int64(1)},
		}); err != nil {
		return billDoc{}, fmt.Errorf("mark bill unpaid: %w", err)
	}
	return b.load(ctx, billNo)
}

// now is the clock's time as stored (UTC, milliseconds).
func (b *Bills) now() time.Time { return b.clock.Now().UTC().Truncate(time.Millisecond) }
