package payments

import (
	"fmt"
	"log/slog"
	"time"

	"banshi/internal/platform"
)

// What the channel adapters (payments/wechatpay, payments/alipay) share.

// Default limits of an adapter's calls.
const (
	DefaultCallTimeout     = 10 * time.Second // one API or gateway call
	DefaultDownloadTimeout = 5 * time.Minute  // one bill download
)

// FillAdapterDefaults fills the settings an adapter's Config left zero:
// clock (nil: platform.SystemClock{}), log (nil: discard), timeout (≤ 0:
// DefaultCallTimeout) and download (≤ 0: DefaultDownloadTimeout).
func FillAdapterDefaults(clock *platform.Clock, log **slog.Logger, timeout, download *time.Duration) {
	if *clock == nil {
		*clock = platform.SystemClock{}
	}
	if *log == nil {
		*log = slog.New(slog.DiscardHandler)
	}
	if *timeout <= 0 {
		*timeout = DefaultCallTimeout
	}
	if *download <= 0 {
		*download = DefaultDownloadTimeout
	}
}

// GopayLogger sends gopay's warnings and errors to Log (as "gopay" records
// with the text in "msg"); its debug and info output (request parameters
// and bodies, off anyway) is dropped. It is gopay's xlog.XLogger.
type GopayLogger struct{ Log *slog.Logger }

func (g GopayLogger) Debug(...any)          {}
func (g GopayLogger) Debugf(string, ...any) {}
func (g GopayLogger) Info(...any)           {}
func (g GopayLogger) Infof(string, ...any)  {}
func (g GopayLogger) Warn(args ...any)      { g.Log.Warn("gopay", "msg", fmt.Sprint(args...)) }
func (g GopayLogger) Warnf(f string, a ...any) {
	g.Log.Warn("gopay", "msg", fmt.Sprintf(f, a...))
}
func (g GopayLogger) Error(args ...any) { g.Log.Error("gopay", "msg", fmt.Sprint(args...)) }
func (g GopayLogger) Errorf(f string, a ...any) {
	g.Log.Error("gopay", "msg", fmt.Sprintf(f, a...))
}
