package alipay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gopayalipay "github.com/go-pay/gopay/alipay"

	"banshi/payments"
)

// MaxNotifyBody is the largest notification body the adapter reads; the
// handler should read at most this many bytes.
const MaxNotifyBody = 64 << 10

// notVerified is ErrNotVerified with why (never a signature or key).
func notVerified(why string) error {
	return fmt.Errorf("alipay notification: %s: %w", why, payments.ErrNotVerified)
}

// malformed is ErrMalformed with why.
func malformed(why string) error {
	return fmt.Errorf("alipay notification: %s: %w", why, payments.ErrMalformed)
}

// ParseNotification verifies an Alipay asynchronous notification and only
// then reads it. body must be the exact form body received (the handler
// must not let anything parse it first); h is not used (Alipay signs the
// form alone). Verification: the body is a form with no parameter given
// twice, sign_type is RSA2, and the RSA2 signature over every other
// non-empty field (sign and sign_type left out, sorted) verifies with the
// Alipay public key (gopay's VerifySign); then app_id must be ours and
// seller_id, when configured, too. Alipay does not sign a time the adapter
// could judge: notifications are retried for ~25 h with the same notify_id.
//
// Payments (trade_status TRADE_SUCCESS / TRADE_FINISHED; also
// TRADE_CLOSED and WAIT_BUYER_PAY, reported in Trade.State) fill Trade.
// Refunds — a notification with out_biz_no and refund_fee — fill Refund
// (RefundNo = out_biz_no, State succeeded) and the order ids of Trade;
// Refund.AmountFen is the order's refunded total so far, as Alipay states
// refund_fee, not this refund's amount. Every amount must be an exact yuan
// string. Errors: payments.ErrNotVerified (refuse, record nothing),
// payments.ErrMalformed (verified but not understood).
func (p *Provider) ParseNotification(_ context.Context, _ http.Header, body []byte) (payments.Notification, error) {
	if len(body) > MaxNotifyBody {
		return payments.Notification{}, notVerified("body too large")
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return payments.Notification{}, notVerified("body is not a form")
	}
	f := make(map[string]string, len(values))
	for k, vs := range values {
		if len(vs) != 1 {
			return payments.Notification{}, notVerified("a parameter is given more than once")
		}
		f[k] = vs[0]
	}
	if f["sign"] == "" || f["sign_type"] != "RSA2" {
		return payments.Notification{}, notVerified("missing sign or sign_type not RSA2")
	}
	bm, _ := gopayalipay.ParseNotifyByURLValues(values)
	if ok, err := gopayalipay.VerifySign(p.keys.publicKeyB64, bm); !ok || err != nil {
		return payments.Notification{}, notVerified("signature does not verify")
	}
	if f["app_id"] != p.cfg.AppID {
		return payments.Notification{}, notVerified("notification of another app")
	}
	if p.cfg.SellerID != "" && f["seller_id"] != "" && f["seller_id"] != p.cfg.SellerID {
		return payments.Notification{}, notVerified("notification of another seller")
	}

	// Verified: from here on the fields are Alipay's.
	if c := f["charset"]; c != "" && !strings.EqualFold(c, "utf-8") {
		return payments.Notification{}, malformed("charset is not utf-8")
	}
	if f["notify_type"] != "trade_status_sync" {
		return payments.Notification{}, malformed("notify_type is not trade_status_sync")
	}
	if f["out_trade_no"] == "" || f["trade_no"] == "" {
		return payments.Notification{}, malformed("no out_trade_no or trade_no")
	}
	amounts := map[string]int64{}
	for _, k := range []string{"total_amount", "receipt_amount", "buyer_pay_amount", "invoice_amount", "point_amount", "refund_fee"} {
		if v, ok := f[k]; ok {
			fen, ok := fenOf(v)
			if !ok {
				return payments.Notification{}, malformed(k + " is not an exact yuan amount")
			}
			amounts[k] = fen
		}
	}
	total, ok := amounts["total_amount"]
	if !ok || total <= 0 {
		return payments.Notification{}, malformed("no positive total_amount")
	}
	paidAt, paid := parseTime(f["gmt_payment"])
	if f["gmt_payment"] != "" && !paid {
		return payments.Notification{}, malformed("gmt_payment is not a time")
	}
	n := payments.Notification{ID: f["notify_id"]}
	n.Trade = payments.Trade{
		OrderNo: f["out_trade_no"], ChannelTradeNo: f["trade_no"], State: tradeState(f["trade_status"], paid),
		AmountFen: total, MerchantID: f["seller_id"], AppID: f["app_id"], PayerID: f["buyer_id"],
	}
	if n.Trade.PayerID == "" {
		n.Trade.PayerID = f["buyer_open_id"]
	}
	if n.Trade.State == payments.TradeUnknown {
		return payments.Notification{}, malformed("unknown trade_status")
	}
	if paid {
		n.Trade.PaidAt = paidAt
		n.Trade.PaidFen = total
		if v, ok := amounts["buyer_pay_amount"]; ok {
			n.Trade.PaidFen = v
		}
	}
	if f["out_biz_no"] != "" && f["refund_fee"] != "" {
		n.Kind = payments.NotifyRefund
		n.Refund = payments.Refund{
			OrderNo: n.Trade.OrderNo, RefundNo: f["out_biz_no"], ChannelRefundNo: f["trade_no"],
			State: payments.RefundSucceeded, AmountFen: amounts["refund_fee"],
		}
		at, ok := parseTime(f["gmt_refund"])
		if !ok {
			return payments.Notification{}, malformed("gmt_refund is not a time")
		}
		n.Refund.SucceededAt = at
		return n, nil
	}
	n.Kind = payments.NotifyPayment
	if n.Trade.State == payments.TradePaid && !paid {
		return payments.Notification{}, malformed("a paid trade without gmt_payment")
	}
	return n, nil
}

// AckNotification answers Alipay that the notification was received: 200
// with the text "success" (anything else makes Alipay retry).
func (p *Provider) AckNotification(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("success"))
}

// RefuseNotification answers a notification that was not accepted (not
// verified, or not recorded): Alipay then retries on its schedule. status
// should be 4xx for a refused notification, 5xx for a failure to record it.
func RefuseNotification(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("fail"))
}
