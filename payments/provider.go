package payments

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Method is how a citizen pays: the channel and the client it pays in.
type Method string

// The payment methods.
const (
	WeChatJSAPI Method = "wechat_jsapi" // WeChat Pay in the mini-program (wx.requestPayment)
	WeChatApp   Method = "wechat_app"   // WeChat Pay in the native app (APP payment)
	AlipayApp   Method = "alipay_app"   // Alipay in the native app (signed order string)
	AlipayWap   Method = "alipay_wap"   // Alipay in a mobile browser (gateway URL)
)

// Provider names: the channel families, as reconciliation and callbacks name them.
const (
	ProviderWeChatPay = "wechatpay"
	ProviderAlipay    = "alipay"
)

// ProviderOf is the provider of a method ("" for an unknown method).
func ProviderOf(m Method) string {
	switch m {
	case WeChatJSAPI, WeChatApp:
		return ProviderWeChatPay
	case AlipayApp, AlipayWap:
		return ProviderAlipay
	}
	return ""
}

// Provider is one payment channel (WeChat Pay v3, Alipay) as Banshi uses it,
// through gopay, against the real channel or its simulator. Every amount is
// int64 fen; yuan strings exist only inside the Alipay adapter. An order's
// OrderNo is its out_trade_no at the channel; a refund's RefundNo its
// out_refund_no (WeChat) / out_request_no (Alipay).
//
// Errors: a channel that cannot be reached or answers 5xx returns an error
// wrapping ErrChannelUnavailable (retry later); a business refusal returns
// a *ChannelError with the channel's code. Never an error that carries a key,
// a signature or a private key.
type Provider interface {
	// Name is ProviderWeChatPay or ProviderAlipay.
	Name() string
	// Prepay creates the order at the channel (WeChat: JSAPI or APP
	// transaction; Alipay: nothing is called, the order string or gateway URL
	// is signed locally) and returns the client's payment parameters: for
	// wechat_jsapi the wx.requestPayment object {appId, timeStamp, nonceStr,
	// package, signType:"RSA", paySign}; for wechat_app the APP parameters;
	// for alipay_app {"order_string"}; for alipay_wap {"url"}. Asking again
	// for the same OrderNo with the same amount is safe.
	Prepay(ctx context.Context, r PrepayRequest) (map[string]any, error)
	// Query asks the channel for the order's state.
	Query(ctx context.Context, orderNo string) (Trade, error)
	// Close closes an unpaid order at the channel. If the channel says it was
	// paid meanwhile, Close returns ErrPaidAtChannel (and Query tells the
	// trade). Closing an order already closed is not an error.
	Close(ctx context.Context, orderNo string) error
	// Refund asks for a refund of r.AmountFen of a paid order. Asking again
	// with the same RefundNo is safe (the channel answers the first refund).
	Refund(ctx context.Context, r RefundRequest) (Refund, error)
	// QueryRefund asks for a refund's state.
	QueryRefund(ctx context.Context, orderNo, refundNo string) (Refund, error)
	// ParseNotification verifies a callback the channel sent (signature —
	// WeChat Pay in both modes, chosen by Wechatpay-Serial, timestamp within 5
	// minutes; Alipay RSA2 over the form) BEFORE parsing it, then decrypts and
	// parses it. body is the exact bytes received. Errors: ErrNotVerified
	// (refuse it, record nothing), ErrMalformed.
	ParseNotification(ctx context.Context, h http.Header, body []byte) (Notification, error)
	// AckNotification writes the channel's "received" answer (WeChat: 200
	// with {"code":"SUCCESS"}; Alipay: the text "success").
	AckNotification(w http.ResponseWriter)
	// TradeBill downloads the channel's trade bill of date (YYYY-MM-DD,
	// Asia/Shanghai) and returns a reader of its rows, streaming: never the
	// whole file in memory. The caller closes it.
	TradeBill(ctx context.Context, date string) (BillReader, error)
}

// PrepayRequest is an order Banshi wants paid.
type PrepayRequest struct {
	OrderNo     string
	Method      Method
	AmountFen   int64
	Subject     string    // what is paid for, shown to the payer (≤ 127 bytes at WeChat)
	PayerOpenID string    // wechat_jsapi only: the payer's mini-program openid
	ExpiresAt   time.Time // time_expire at the channel
	NotifyURL   string    // where the channel sends its callbacks
	Attach      string    // echoed back by the channel (e.g. the bill number)
}

// Trade states as Banshi reads them from any channel.
const (
	TradePaying   = "paying"   // created, not paid (WeChat NOTPAY/USERPAYING; Alipay WAIT_BUYER_PAY)
	TradePaid     = "paid"     // WeChat SUCCESS; Alipay TRADE_SUCCESS / TRADE_FINISHED
	TradeClosed   = "closed"   // WeChat CLOSED/REVOKED/PAYERROR; Alipay TRADE_CLOSED (unpaid)
	TradeRefunded = "refunded" // WeChat REFUND (some or all refunded)
	TradeUnknown  = "unknown"  // the channel does not know the order (never created)
)

// Trade is an order as the channel reports it.
type Trade struct {
	OrderNo        string
	ChannelTradeNo string // transaction_id / trade_no
	State          string // one of the Trade* states
	AmountFen      int64  // what the order is for
	PaidFen        int64  // what the payer paid (0 unless paid)
	PaidAt         time.Time
	MerchantID     string // WeChat mchid; Alipay seller/app id
	AppID          string // WeChat appid; Alipay app_id
	PayerID        string // WeChat payer openid; Alipay buyer id
}

// RefundRequest asks for money back.
type RefundRequest struct {
	OrderNo        string
	RefundNo       string
	AmountFen      int64 // this refund
	TotalFen       int64 // the order's amount
	Reason         string
	NotifyURL      string
	ChannelTradeNo string
}

// Refund states.
const (
	RefundProcessing = "processing"
	RefundSucceeded  = "succeeded"
	RefundFailed     = "failed" // abnormal or closed: the money did not go back
)

// Refund is a refund as the channel reports it.
type Refund struct {
	OrderNo         string
	RefundNo        string
	ChannelRefundNo string
	State           string // one of the Refund* states
	AmountFen       int64
	SucceededAt     time.Time
}

// Notification kinds.
const (
	NotifyPayment = "payment"
	NotifyRefund  = "refund"
)

// Notification is a verified, parsed callback.
type Notification struct {
	ID     string // the channel's notification id (WeChat id; Alipay notify_id): for logs, not for de-duplication
	Kind   string // NotifyPayment or NotifyRefund
	Trade  Trade  // the order as the callback reports it (payments, and the order ids of refunds)
	Refund Refund // refunds only
}

// BillReader yields the rows of a channel's trade bill one at a time, then
// the bill's totals. Next returns io.EOF after the last row.
type BillReader interface {
	Next() (BillRow, error)
	// Totals is valid after Next returned io.EOF.
	Totals() BillTotals
	io.Closer
}

// Bill row kinds.
const (
	BillPayment = "payment"
	BillRefund  = "refund"
)

// BillRow is one line of a trade bill. Fees are in milli-fen (1/1000 fen:
// WeChat states fees to 5 decimals of a yuan).
type BillRow struct {
	Kind           string // BillPayment or BillRefund
	TradeTime      time.Time
	OrderNo        string
	ChannelTradeNo string
	RefundNo       string // refunds only
	Status         string // the channel's word for it (SUCCESS, REFUND, 交易, 退款, …)
	AmountFen      int64  // the order amount (payments) or the refund amount (refunds), positive
	FeeMilliFen    int64
}

// BillTotals is the totals line of a trade bill.
type BillTotals struct {
	Trades      int64 // rows counted by the channel
	PaidFen     int64 // payments
	RefundedFen int64 // refunds
	FeeMilliFen int64
}
