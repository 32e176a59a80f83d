package payments

import (
	"errors"

	"banshi/internal/platform"
)

// Errors of bills; package api maps their codes to HTTP answers. Bad events
// are platform.Invalid errors naming the field (ParseBillEvent).
var (
	// ErrBillNotFound: no such bill — also when the verification code is
	// wrong, or when a department names a bill another department issued,
	// so that nobody learns which numbers exist.
	ErrBillNotFound = platform.NewError("bill_not_found", "未找到该账单，请核对账单编号和查验码")
	// ErrBillConflict: an issue names a bill number that exists already
	// (issued again, or held by another department).
	ErrBillConflict = platform.NewError("bill_conflict", "该账单编号已存在")
	// ErrBillInPayment: the bill is being paid (an order is open); it cannot
	// be cancelled or adjusted until the payment ends.
	ErrBillInPayment = platform.NewError("bill_in_payment", "该账单正在缴费中，暂不能撤销或调整")
	// ErrBillPaid: the bill is paid.
	ErrBillPaid = platform.NewError("bill_paid", "该账单已缴费")
	// ErrBillCancelled: the department withdrew the bill.
	ErrBillCancelled = platform.NewError("bill_cancelled", "该账单已撤销")

	// ErrBillPaidByOther: markPaid found the bill paid by another order; the
	// caller refunds the payment it holds. Never shown to a client as such.
	ErrBillPaidByOther = errors.New("payments: the bill was paid by another order")
	// errBillChanged: a compare-and-swap found the bill changed since it was
	// read; the caller re-reads and decides.
	errBillChanged = errors.New("payments: the bill changed")
	// errBillContended: a bill kept changing under one event for
	// billCASAttempts tries.
	errBillContended = errors.New("payments: the bill changed under every attempt")
)
