package integrations

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"banshi/internal/platform"
	"banshi/notify"
)

// ChannelDepartment is the outbox channel of events to department systems.
const ChannelDepartment = "department"

// Outbound delivers Banshi's events to department systems over the signed
// protocol (reference integrations.md, "Outbound requests"): a notify.Channel
// the outbox dispatchers call at least once per event, with the same
// event_id on every retry. A notify.Message to a department carries the
// integration's id as UserID, the event type as Kind and the event's JSON as
// Body; it is published with Outbox.PublishTo(ctx, ChannelDepartment, …).
//
// Answers: 2xx acknowledges (sent); 409, 410 or 422 is the department's
// refusal (the event can never be accepted: dead at once with code
// "refused" — a payment it refuses is refunded by its owner); any other
// answer, a time-out or a network error is retried on the protocol's
// schedule (15 s, 30 s, 1 min, 5 min, 15 min, 1 h, then hourly) until the
// outbox's deadline. A disabled integration, or one without a callback URL,
// is never called (dead, code "no_callback").
type Outbound struct {
	reg   *Registry
	http  *http.Client
	clock platform.Clock
}

var (
	_ notify.Channel   = (*Outbound)(nil)
	_ notify.Backoffer = (*Outbound)(nil)
)

// NewOutbound returns the channel; client nil means a 10 s time-out client
// that follows no redirects.
func NewOutbound(reg *Registry, client *http.Client, clock platform.Clock) *Outbound {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Outbound{reg: reg, http: client, clock: clock}
}

// Name is ChannelDepartment.
func (o *Outbound) Name() string { return ChannelDepartment }

// outboundSchedule is the protocol's retry schedule; after it, hourly.
var outboundSchedule = []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

// Backoff is the protocol's schedule.
func (o *Outbound) Backoff(attempt int) time.Duration {
	if attempt >= 1 && attempt <= len(outboundSchedule) {
		return outboundSchedule[attempt-1]
	}
	return time.Hour
}

// Deliver signs the event and POSTs it to the integration's callback URL.
func (o *Outbound) Deliver(ctx context.Context, d notify.Delivery) error {
	target, secret, err := o.reg.Outbound(ctx, d.Message.UserID)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
		return notify.Permanent("no_callback", err)
	}
	if err != nil {
		return err
	}
	u, err := url.Parse(target)
	if err != nil {
		return notify.Permanent("no_callback", err)
	}
	body := []byte(d.Message.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent("no_callback", err)
	}
	req.Header.Set("Content-Type", "application/json")
	platform.SignHook(req.Header, d.Message.UserID, secret, http.MethodPost, u.EscapedPath(), o.clock.Now(), body)
	resp, err := o.http.Do(req)
	if err != nil {
		return fmt.Errorf("department %s: %w", d.Message.UserID, redactURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusUnprocessableEntity:
		return notify.Permanent("refused", fmt.Errorf("department %s refused the event: HTTP %d", d.Message.UserID, resp.StatusCode))
	default:
		return notify.RetryAfter(strconv.Itoa(resp.StatusCode), 0, fmt.Errorf("department %s answered HTTP %d", d.Message.UserID, resp.StatusCode))
	}
}

// redactURL keeps a callback URL's query (which might carry a token a
// department put there) out of errors.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, platform.RedactURL(stripQuery(ue.URL)), ue.Err)
	}
	return err
}

func stripQuery(s string) string {
	if u, err := url.Parse(s); err == nil {
		u.RawQuery = ""
		return u.String()
	}
	return ""
}
