package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"banshi/internal/observe/tracing"
	"banshi/internal/platform"
	"banshi/internal/wechat"
)

// setupTracing builds the tracer provider of cfg for a process of role
// (serve or worker): a no-op one unless BANSHI_OTEL_ENDPOINT is set
// (internal/observe/tracing.Setup). The caller runs shutdown at exit.
func setupTracing(ctx context.Context, cfg platform.Config, role string, log *slog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	return tracing.Setup(ctx, tracing.Settings{Endpoint: cfg.OTelEndpoint, SampleRatio: cfg.OTelSampleRatio, Role: role}, log)
}

// configureWeChatSDKTraced is configureWeChatSDK with the SDK's calls
// traced by tp (unchanged when tp is off).
func configureWeChatSDKTraced(cfg platform.Config, tp trace.TracerProvider) {
	wechat.ConfigureSDK(weChatBase(cfg), tracedClient(tp, wechat.NewHTTPClient(5*time.Second)))
}

// tracedClient returns c with its transport traced by tp (c itself, changed,
// when tp is on; c unchanged when off).
func tracedClient(tp trace.TracerProvider, c *http.Client) *http.Client {
	if tracing.On(tp) {
		c.Transport = tracing.Transport(tp, c.Transport)
	}
	return c
}

// tracedClientOrNil is an http.Client with timeout whose calls tp traces,
// or nil when tp is off (the callee's own default client then).
func tracedClientOrNil(tp trace.TracerProvider, timeout time.Duration) *http.Client {
	if !tracing.On(tp) {
		return nil
	}
	return &http.Client{Timeout: timeout, Transport: tracing.Transport(tp, nil)}
}

// traceTransport wraps rt so that the App's tracer traces its calls (rt
// itself when tracing is off): the payment channels' WrapTransport.
func (a *App) traceTransport(rt http.RoundTripper) http.RoundTripper {
	return tracing.Transport(a.tracer, rt)
}

// departmentClient is integrations.NewOutbound's default client (10 s, no
// redirects followed) traced by tp, or nil when tp is off.
func departmentClient(tp trace.TracerProvider) *http.Client {
	c := tracedClientOrNil(tp, 10*time.Second)
	if c != nil {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// traceRedis instruments the App's Redis commands with tp (MongoDB's
// monitor is set at connect, in buildTraced).
func traceRedis(tp trace.TracerProvider, r *platform.Redis) error {
	return tracing.InstrumentRedis(tp, r.Client)
}
