package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"banshi/internal/platform"
)

// upstreamBreakers are the circuit breakers of the upstreams Banshi calls,
// one each (issue 15): every call to WeChat, WeChat Pay, Alipay and FCM goes
// through its own, so one upstream's outage fails its calls at once without
// touching the others.
type upstreamBreakers struct {
	wechat, wechatpay, alipay, fcm *platform.Breaker
}

// newBreakers builds the breakers of cfg (BANSHI_BREAKER_FAILURES,
// BANSHI_BREAKER_OPEN) with their series on reg. They run on the wall
// clock, not development's movable one: an outage lasts real seconds, and
// Retry-After is counted in them.
func newBreakers(cfg platform.Config, reg prometheus.Registerer, log *slog.Logger) upstreamBreakers {
	m := platform.NewBreakerMetrics(reg)
	bc := platform.BreakerConfig{Failures: cfg.BreakerFailures, Open: cfg.BreakerOpen}
	log = log.With("component", "breaker")
	b := func(name string) *platform.Breaker {
		return platform.NewBreaker(name, bc, platform.SystemClock{}, log, m)
	}
	return upstreamBreakers{wechat: b("wechat"), wechatpay: b("wechatpay"), alipay: b("alipay"), fcm: b("fcm")}
}
