package payments

import (
	"banshi/internal/platform"

	"errors"
	"fmt"
)

// Errors of the channel adapters (Provider). Those that reach a client are
// mapped by the service to platform.Errors.
var (
	// ErrChannelUnavailable: the channel could not be reached, timed out or
	// answered 5xx; try again later.
	ErrChannelUnavailable = errors.New("payments: channel unavailable")
	// ErrPaidAtChannel: Close found the order paid.
	ErrPaidAtChannel = errors.New("payments: the order was paid at the channel")
	// ErrNotVerified: a callback's signature, certificate, timestamp or
	// origin did not verify; it must be refused and nothing recorded.
	ErrNotVerified = errors.New("payments: callback not verified")
	// ErrMalformed: a verified callback or a bill that cannot be parsed.
	ErrMalformed = errors.New("payments: malformed channel data")
)

// ChannelError is a business refusal of the channel (WeChat Pay's code such
// as ORDERPAID or NOT_ENOUGH; Alipay's sub_code such as ACQ.TRADE_HAS_SUCCESS).
type ChannelError struct {
	Provider string
	Code     string
	Message  string
}

func (e *ChannelError) Error() string {
	return fmt.Sprintf("%s refused: %s: %s", e.Provider, e.Code, e.Message)
}

// Errors of the order service for clients; api/errors.go gives their
// statuses.
var (
	ErrOrderNotFound         = platform.NewError("order_not_found", "未找到该订单")
	ErrRealnameRequired      = platform.NewError("realname_required", "缴纳个人费用需要先完成实名认证")
	ErrChannelNotEnabled     = platform.Invalid("channel", "enum", "支付方式应为已开通的 wechat_jsapi、wechat_app、alipay_app、alipay_wap 之一")
	ErrMiniProgramLogin      = platform.NewError("miniprogram_login_required", "请在小程序中登录后再使用微信支付")
	ErrIdempotencyKey        = platform.Invalid("Idempotency-Key", "format", "请提供 1～255 个可见 ASCII 字符的 Idempotency-Key 请求头")
	ErrIdempotencyMismatch   = platform.NewError("idempotency_mismatch", "该幂等键已用于另一个请求")
	ErrPayChannelUnavailable = platform.NewError("payment_channel_unavailable", "支付渠道暂时不可用，请稍后再试")
	ErrPayChannelRefused     = platform.NewError("payment_channel_refused", "支付渠道拒绝了该请求")
	// ErrPayChannelDown: the channel's circuit breaker is open (it failed
	// repeatedly just now); nothing was sent or created.
	ErrPayChannelDown    = platform.NewError("upstream_unavailable", "支付渠道暂时不可用，请稍后再试")
	ErrBillBusy          = platform.NewError("bill_busy", "该缴费单正在被处理，请稍后再试")
	ErrNotRefundable     = platform.NewError("order_not_refundable", "该订单当前状态不能退款")
	ErrRefundableChanged = platform.NewError("refundable_changed", "可退金额已变化，请刷新后再试")
	ErrRefundTooLarge    = platform.NewError("refund_exceeds_refundable", "退款金额超过可退金额")
)
