package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	gofcm "github.com/appleboy/go-fcm"

	"banshi/internal/platform"
)

// Push is what one device is sent: the notification shown and the data the
// app reads (strings only).
type Push struct {
	Title string
	Body  string
	Data  map[string]string
}

// Sender sends a push to one device token. FCM is one; a vendor push channel
// (Huawei, Xiaomi, OPPO, vivo, Honor: FCM reaches few phones in mainland
// China) implements the same interface, so the channel's rules (devices,
// unregistered tokens, per-device records) serve it unchanged.
//
// Send returns nil once the service accepted the push, or:
//   - an error matching ErrUnregistered: the token is dead, forget it;
//   - a *SendError: Permanent (never worth retrying: the push or the token is
//     refused as invalid, the project is not the token's) or a retry, with
//     RetryAfter when the service said when;
//   - any other error: transient (network, a deadline), retry with backoff.
type Sender interface {
	Send(ctx context.Context, token string, p Push) error
}

// ErrUnregistered: the token is no longer registered (the app was
// uninstalled, its data cleared, the token rotated).
var ErrUnregistered = errors.New("push token unregistered")

// SendError is a classified refusal by the push service.
type SendError struct {
	Code       string        // short and stable: "invalid_argument", "quota_exceeded", "unavailable", …
	Permanent  bool          // never worth retrying
	RetryAfter time.Duration // when the service said when; 0 otherwise
	Err        error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("push refused (%s): %v", e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Config configures the FCM sender.
type Config struct {
	// Endpoint is FCM's HTTP v1 base, "https://fcm.googleapis.com/v1" when
	// empty; "http://host:port/sim/fcm/v1" for the simulator.
	Endpoint string
	// ProjectID is the Firebase project; empty takes the credential's
	// project_id.
	ProjectID string
	// CredentialsJSON is the service-account key file. Its token_uri is
	// where the SDK exchanges its signed JWT for access tokens.
	CredentialsJSON []byte
	// HTTPClient, when set, carries the requests (a proxy, a timeout).
	HTTPClient *http.Client
	// Breaker, when set, guards every request (token fetches and sends);
	// while it is open Send fails at once with its refusal
	// (platform.ErrUpstreamUnavailable), before the SDK, which would retry
	// the refusal for seconds.
	Breaker *platform.Breaker
}

// FCM sends through Firebase Cloud Messaging's HTTP v1 API with
// appleboy/go-fcm (the Firebase Admin SDK beneath), authenticated by a
// service account. The SDK retries 503s and network errors itself (at most
// 4 times, about 7 s); Send's context bounds that.
type FCM struct {
	client  *gofcm.Client
	breaker *platform.Breaker
}

// NewSender returns the FCM sender of cfg. Errors: credentials that are not
// a service-account key file, a project that is not a project id.
func NewSender(ctx context.Context, cfg Config) (*FCM, error) {
	sa, _, err := platform.ParseServiceAccount(cfg.CredentialsJSON)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	project := cfg.ProjectID
	if project == "" {
		project = sa.ProjectID
	}
	if !platform.ValidProjectID(project) {
		return nil, fmt.Errorf("fcm: project %q is not a Google Cloud project id", project)
	}
	opts := []gofcm.Option{gofcm.WithProjectID(project), gofcm.WithCredentialsJSON(cfg.CredentialsJSON)}
	if cfg.Endpoint != "" {
		opts = append(opts, gofcm.WithEndpoint(cfg.Endpoint))
	}
	hc := cfg.HTTPClient
	if cfg.Breaker != nil {
		guarded := &http.Client{}
		if hc != nil {
			*guarded = *hc
		}
		guarded.Transport = &platform.BreakerTransport{Breaker: cfg.Breaker, Next: guarded.Transport}
		hc = guarded
	}
	if hc != nil {
		opts = append(opts, gofcm.WithHTTPClient(hc))
	}
	// The SDK keeps this context for its token fetches: it must outlive
	// start-up.
	c, err := gofcm.NewClient(context.WithoutCancel(ctx), opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &FCM{client: c, breaker: cfg.Breaker}, nil
}

// Send sends p to token (Sender). Android messages go at high priority (they
// show a notification).
func (f *FCM) Send(ctx context.Context, token string, p Push) error {
	if f.breaker != nil {
		if err := f.breaker.Ready(); err != nil {
			return err
		}
	}
	m := &messaging.Message{
		Token:   token,
		Data:    p.Data,
		Android: &messaging.AndroidConfig{Priority: "high"},
	}
	if p.Title != "" || p.Body != "" {
		m.Notification = &messaging.Notification{Title: p.Title, Body: p.Body}
	}
	br, err := f.client.Send(ctx, m)
	if err == nil {
		if len(br.Responses) != 1 {
			return fmt.Errorf("fcm: %d responses for one message", len(br.Responses))
		}
		err = br.Responses[0].Error
	}
	return classify(err)
}

// classify turns the SDK's error into the Sender contract's.
func classify(err error) error {
	if err == nil {
		return nil
	}
	after := retryAfter(err)
	switch {
	case messaging.IsUnregistered(err):
		return fmt.Errorf("%w: %v", ErrUnregistered, err)
	case messaging.IsInvalidArgument(err):
		return &SendError{Code: "invalid_argument", Permanent: true, Err: err}
	case messaging.IsSenderIDMismatch(err):
		return &SendError{Code: "sender_id_mismatch", Permanent: true, Err: err}
	case messaging.IsQuotaExceeded(err):
		return &SendError{Code: "quota_exceeded", RetryAfter: max(after, time.Minute), Err: err}
	case messaging.IsUnavailable(err):
		return &SendError{Code: "unavailable", RetryAfter: after, Err: err}
	case messaging.IsInternal(err):
		return &SendError{Code: "internal", RetryAfter: after, Err: err}
	case messaging.IsThirdPartyAuthError(err):
		// The APNs key or certificate in the Firebase console is wrong:
		// an operator must fix it; try again much later.
		return &SendError{Code: "third_party_auth", RetryAfter: 10 * time.Minute, Err: err}
	case errorutils.IsUnauthenticated(err) || errorutils.IsPermissionDenied(err):
		// Our credential or project is wrong (or was revoked): every send
		// fails the same until an operator fixes it.
		return &SendError{Code: "unauthenticated", RetryAfter: 5 * time.Minute, Err: err}
	case errorutils.IsNotFound(err):
		return &SendError{Code: "not_found", Permanent: true, Err: err}
	case errorutils.IsInvalidArgument(err):
		return &SendError{Code: "invalid_argument", Permanent: true, Err: err}
	}
	if r := errorutils.HTTPResponse(err); r != nil && r.StatusCode >= 500 {
		return &SendError{Code: "http_" + strconv.Itoa(r.StatusCode), RetryAfter: after, Err: err}
	}
	return err
}

// retryAfter is the Retry-After (seconds) of the answer behind err, or 0.
func retryAfter(err error) time.Duration {
	r := errorutils.HTTPResponse(err)
	if r == nil {
		return 0
	}
	s, perr := strconv.Atoi(r.Header.Get("Retry-After"))
	if perr != nil || s <= 0 {
		return 0
	}
	return min(time.Duration(s)*time.Second, time.Hour)
}
