package payments

import "time"

// Collection names.
const (
	CollBills      = "bills"          // billDoc, _id bill_no
	CollBillEvents = "bill_events"    // billEventDoc, _id "<source>|<event_id>"
	CollOrders     = "pay_orders"     // orderDoc, _id order_no (the out_trade_no at the channel)
	CollRefunds    = "pay_refunds"    // refundDoc, _id refund_no (out_refund_no / out_request_no)
	CollOrderIdem  = "pay_order_idem" // idempotency records of order creation, _id "<user>|<key digest>"
)

// Bill states.
const (
	BillUnpaid    = "unpaid"    // payable
	BillPaying    = "paying"    // an order is open (bill.open_order); not cancellable nor adjustable
	BillPaid      = "paid"      // bill.paid_order paid it
	BillCancelled = "cancelled" // the department withdrew it
)

// Payer types.
const (
	PayerPerson     = "person"
	PayerEnterprise = "enterprise"
)

// payerDoc is a bill's payer as stored: a person only by the blind index of
// the ID number and the masked name; an enterprise by USCC and name.
type payerDoc struct {
	Type       string `bson:"type"`
	IDIndex    string `bson:"id_index,omitempty"`
	NameMasked string `bson:"name_masked,omitempty"`
	USCC       string `bson:"uscc,omitempty"`
	Name       string `bson:"name,omitempty"` // enterprise only
}

// lateFeeDoc is a bill's late fee (滞纳金 / 加处罚款): from the day From
// (YYYY-MM-DD, Asia/Shanghai) on, PermillePerDay (in hundredths of ‰) of the amount per day,
// never more than CapFen in all.
type lateFeeDoc struct {
	From           string   `bson:"from" json:"from"`
	PermillePerDay Permille `bson:"permille_e2_per_day" json:"permille_per_day"` // hundredths of ‰
	CapFen         int64    `bson:"cap_fen" json:"cap_fen"`
}

// unitDoc is the collecting unit (执收单位).
type unitDoc struct {
	Code string `bson:"code" json:"code"`
	Name string `bson:"name" json:"name"`
}

// billDoc is a bills document. Version grows with every change: every update
// is compare-and-swap on it (and on State), which is what makes "one open
// order per bill" and "a bill being paid cannot be cancelled" exact.
type billDoc struct {
	ID         string      `bson:"_id"` // bill_no
	Source     string      `bson:"source"`
	Kind       string      `bson:"kind"`
	Item       string      `bson:"item"`
	Payer      payerDoc    `bson:"payer"`
	IDIndex    string      `bson:"id_index,omitempty"` // copied up from Payer for the index
	USCC       string      `bson:"uscc,omitempty"`
	AmountFen  int64       `bson:"amount_fen"`
	DueDate    string      `bson:"due_date"`
	LateFee    *lateFeeDoc `bson:"late_fee,omitempty"`
	Unit       unitDoc     `bson:"collecting_unit"`
	CodeDigest string      `bson:"code_digest"` // blind index of the verification code, never the code
	State      string      `bson:"state"`
	OpenOrder  string      `bson:"open_order,omitempty"` // BillPaying: the order that is open
	PaidOrder  string      `bson:"paid_order,omitempty"` // BillPaid: the order that paid it
	PaidFen    int64       `bson:"paid_fen,omitempty"`
	PaidAt     time.Time   `bson:"paid_at,omitempty"`
	LastEvent  string      `bson:"last_event"` // the department's event_id that last changed it
	Events     []string    `bson:"events"`     // every event_id of the department applied to it (issue, adjusts, cancel)
	Version    int64       `bson:"version"`
	IssuedAt   time.Time   `bson:"issued_at"`
	UpdatedAt  time.Time   `bson:"updated_at"`
}

// Order states.
const (
	OrderPaying            = "paying"
	OrderPaid              = "paid"
	OrderHandled           = "handled"
	OrderHandleFailed      = "handle_failed"
	OrderRefunding         = "refunding"
	OrderRefunded          = "refunded"
	OrderPartiallyRefunded = "partially_refunded"
	OrderClosed            = "closed"
)

// transitionDoc is one change of an order's state with its cause.
type transitionDoc struct {
	From  string    `bson:"from" json:"from"`
	To    string    `bson:"to" json:"to"`
	Cause string    `bson:"cause" json:"cause"`
	At    time.Time `bson:"at" json:"at"`
}

// orderDoc is a pay_orders document. Version grows with every change; every
// update is compare-and-swap on it.
type orderDoc struct {
	ID             string         `bson:"_id"` // order_no
	BillNo         string         `bson:"bill_no"`
	Source         string         `bson:"source"` // the bill's department integration
	UserID         string         `bson:"user_id"`
	Method         string         `bson:"method"`
	Provider       string         `bson:"provider"`
	AmountFen      int64          `bson:"amount_fen"`
	PayParams      map[string]any `bson:"pay_params,omitempty"`
	State          string         `bson:"state"`
	ExpiresAt      time.Time      `bson:"expires_at"`
	CheckedAt      time.Time      `bson:"checked_at"` // the channel was last asked
	ChannelTradeNo string         `bson:"channel_trade_no,omitempty"`
	PaidFen        int64          `bson:"paid_fen,omitempty"`
	PaidAt         time.Time      `bson:"paid_at,omitempty"`   // the channel's success time
	PaidDate       string         `bson:"paid_date,omitempty"` // YYYY-MM-DD of PaidAt in Asia/Shanghai: reconciliation's day
	RefundedFen    int64          `bson:"refunded_fen"`        // refunds that succeeded
	RefundingFen   int64          `bson:"refunding_fen"`       // refunds asked for and not settled
	HandleBy       time.Time      `bson:"handle_by,omitempty"` // the department must accept before this
	// Published: the effects of the payment (bill marked paid or the
	// payment refunded, the department's event, the citizen's message) are
	// all stored; until then the sweeper finishes them.
	Published bool `bson:"published"`
	// Refunds lists the refunds that hold part of the order's money
	// (RefundingFen, RefundedFen); a refund document the order does not list
	// never reached the channel.
	Refunds []string `bson:"refunds,omitempty"`
	// Settled lists the refunds whose outcome is counted in RefundedFen.
	Settled []string `bson:"settled,omitempty"`
	// BeforeRefund is the state a refund left from: the order returns to it
	// when every refund failed.
	BeforeRefund string `bson:"before_refund,omitempty"`
	// Handled: the department accepted the payment (its event was sent).
	HandleNote  string          `bson:"handle_note,omitempty"`
	Transitions []transitionDoc `bson:"transitions"`
	Version     int64           `bson:"version"`
	CreatedAt   time.Time       `bson:"created_at"`
	UpdatedAt   time.Time       `bson:"updated_at"`
}

// RefundRequested: a refund stored and not yet asked of the channel; the
// other states are those of Provider refunds (RefundProcessing,
// RefundSucceeded, RefundFailed).
const RefundRequested = "requested"

// refundDoc is a pay_refunds document.
type refundDoc struct {
	ID              string    `bson:"_id"` // refund_no
	OrderNo         string    `bson:"order_no"`
	Provider        string    `bson:"provider"`
	AmountFen       int64     `bson:"amount_fen"`
	Reason          string    `bson:"reason"`
	By              string    `bson:"by"` // a finance username, or "auto:<cause>"
	State           string    `bson:"state"`
	ChannelRefundNo string    `bson:"channel_refund_no,omitempty"`
	CreatedAt       time.Time `bson:"created_at"`
	SettledAt       time.Time `bson:"settled_at,omitempty"`
	SettledDate     string    `bson:"settled_date,omitempty"` // YYYY-MM-DD (Asia/Shanghai) of SettledAt
}
