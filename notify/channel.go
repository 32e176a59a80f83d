package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Channel delivers one message to one citizen on one medium (WeChat subscribe
// messages, FCM, a vendor push channel later). The dispatcher calls Deliver at
// least once per delivery; a channel that can tell a repeat (an idempotency
// key, a message id) should pass Delivery.ID along.
//
// Deliver returns nil when the message was handed over, or an error that
// classifies the outcome: *Outcome built by Skip (nothing to do: no credit, no
// device, turned off — not a failure), Permanent (never worth retrying) or
// RetryAfter (try again, not before the time given). Any other error is
// transient and retried with backoff until the delivery's deadline.
type Channel interface {
	Name() string
	Deliver(ctx context.Context, d Delivery) error
}

// Backoffer is a Channel with a retry schedule of its own (a department's
// callbacks follow the protocol's 15 s, 30 s, 1 min, …): Backoff is the delay
// before the try after attempt (1 for the first). Channels without it back off
// exponentially from DispatcherConfig.Backoff.
type Backoffer interface {
	Backoff(attempt int) time.Duration
}

// Delivery is one message for one channel, as the dispatcher hands it over.
type Delivery struct {
	ID      string  // "<message id>|<channel>": stable across retries
	Message Message // what to say, to whom
	Attempt int     // 1 for the first try
}

// Outcome classifies a failed or skipped delivery. Code is short and stable
// (a WeChat errcode as text, "unregistered", "no_credit", ...): it labels
// metrics and is shown to admins.
type Outcome struct {
	kind  outcomeKind
	Code  string
	After time.Duration // RetryAfter only
	Err   error
}

type outcomeKind int

const (
	outcomeSkip outcomeKind = iota + 1
	outcomePermanent
	outcomeRetry
)

func (o *Outcome) Error() string {
	kind := map[outcomeKind]string{outcomeSkip: "skipped", outcomePermanent: "permanent failure", outcomeRetry: "retry"}[o.kind]
	if o.Err != nil {
		return fmt.Sprintf("%s (%s): %v", kind, o.Code, o.Err)
	}
	return fmt.Sprintf("%s (%s)", kind, o.Code)
}

func (o *Outcome) Unwrap() error { return o.Err }

// Skip says there is nothing to deliver on this channel (no credit, no
// device, the citizen turned it off): the delivery ends as skipped.
func Skip(code string) error { return &Outcome{kind: outcomeSkip, Code: code} }

// Permanent says the delivery can never succeed (a bad template, a dead
// token): it ends as dead at once.
func Permanent(code string, err error) error {
	return &Outcome{kind: outcomePermanent, Code: code, Err: err}
}

// RetryAfter says the channel is busy: try again, not before after.
func RetryAfter(code string, after time.Duration, err error) error {
	return &Outcome{kind: outcomeRetry, Code: code, After: after, Err: err}
}

// outcomeOf classifies err; a plain error is a retry with the default backoff.
func outcomeOf(err error) *Outcome {
	var o *Outcome
	if errors.As(err, &o) {
		return o
	}
	return &Outcome{kind: outcomeRetry, Code: "error", Err: err}
}
