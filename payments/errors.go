package payments

import (
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
