package sim

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"banshi/internal/platform"
)

// FCM simulates Firebase Cloud Messaging's HTTP v1 API and Google's OAuth 2.0
// token endpoint as the Firebase Admin SDK (under appleboy/go-fcm) reaches
// them, and the phones holding the registration tokens. Build it with NewFCM,
// trust service accounts with AddServiceAccount, and serve Handler under
// "/sim/fcm/":
//
//	POST /sim/fcm/token                              OAuth 2.0 JWT-bearer grant
//	     (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>):
//	     the JWT is RS256-signed by a trusted service account (iss = its
//	     client_email, kid = its private_key_id), aud is this endpoint's URL,
//	     scope names firebase.messaging or cloud-platform, it lives at most
//	     an hour and has not expired → {"access_token","expires_in":3599,
//	     "token_type":"Bearer"}; otherwise Google's OAuth error JSON
//	     ({"error":"invalid_grant","error_description"} 400, …).
//	POST /sim/fcm/v1/projects/{id}/messages:send    FCM HTTP v1 send: a Bearer
//	     token this simulator issued, not expired, of a service account of
//	     project {id}; the message validated as FCM does → {"name":
//	     "projects/{id}/messages/{n}"}; otherwise Google's error JSON
//	     {"error":{"code","message","status","details":[{"@type":
//	     "type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode"}]}}:
//	     401 UNAUTHENTICATED, 403 PERMISSION_DENIED (another project),
//	     400 INVALID_ARGUMENT, 404 UNREGISTERED, and the injected faults
//	     (SetFault, send only): 429 QUOTA_EXCEEDED, 500 INTERNAL, 503
//	     UNAVAILABLE.
//
// Control endpoints (the phones' side, and the test's):
//
//	GET  /sim/fcm/messages?token=…                  → {"messages":[…]} received by that token, oldest first
//	POST /sim/fcm/tokens/{token}/unregister         → 204; sends to it answer 404 UNREGISTERED from now on
//	POST /sim/fcm/fault {"status":503,"retry_after":30}  → 204; 0 heals, -1 hangs
//
// So Banshi's FCM endpoint (the SDK's, default https://fcm.googleapis.com/v1)
// becomes "http://host:port/sim/fcm/v1", and the service account's token_uri
// "http://host:port/sim/fcm/token" (FCMTokenURI). Any token shaped like an
// FCM registration token reaches a phone until it is unregistered. State is in
// memory; time comes from the injected clock.
type FCM struct {
	clock     platform.Clock
	authClock platform.Clock
	log       *slog.Logger
	tokenTTL  time.Duration

	fault      atomic.Int64 // 0 healthy, >0 HTTP status, -1 hang
	retryAfter atomic.Int64 // seconds, sent with a 429 or 503 fault

	mu           sync.Mutex
	accounts     map[string]*fcmAccount     // by client_email
	tokens       map[string]*fcmAccessToken // by access token
	unregistered map[string]bool            // registration tokens
	messages     map[string][]FCMMessage    // by registration token
	sent         int64
	calls        map[string]int // "token", "send" → requests
}

// FCMOptions configures NewFCM.
type FCMOptions struct {
	Clock platform.Clock // nil => platform.SystemClock{}
	// AuthClock times the OAuth exchange and access tokens; nil => Clock.
	// The SDK signs its JWT and caches tokens by the wall clock, so a
	// simulator whose Clock is moved forward (development's clock
	// control) authenticates by the system clock.
	AuthClock platform.Clock
	Log       *slog.Logger  // nil => discard
	TokenTTL  time.Duration // access token lifetime; 0 => 1 h (expires_in 3599)
}

// fcmAccount is a trusted service account.
type fcmAccount struct {
	project string
	keyID   string
	key     *rsa.PublicKey
}

// fcmAccessToken is an access token the OAuth endpoint issued.
type fcmAccessToken struct {
	email   string
	project string
	expires time.Time
}

// FCMMessage is a message a registration token received, as sent.
type FCMMessage struct {
	Name         string            `json:"name"`
	Token        string            `json:"token,omitempty"`
	Topic        string            `json:"topic,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Notification *FCMNotification  `json:"notification,omitempty"`
	ReceivedAt   time.Time         `json:"received_at"`
}

// FCMNotification is the notification part of a message.
type FCMNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

const (
	fcmPrefix          = "/sim/fcm"
	fcmDefaultTokenTTL = time.Hour
	maxFCMMessages     = 200 // kept per registration token
)

// NewFCM returns a simulator that trusts no service account yet.
func NewFCM(o FCMOptions) *FCM {
	f := &FCM{
		clock: o.Clock, log: o.Log, tokenTTL: o.TokenTTL,
		accounts: map[string]*fcmAccount{}, tokens: map[string]*fcmAccessToken{},
		unregistered: map[string]bool{}, messages: map[string][]FCMMessage{}, calls: map[string]int{},
	}
	if f.clock == nil {
		f.clock = platform.SystemClock{}
	}
	f.authClock = o.AuthClock
	if f.authClock == nil {
		f.authClock = f.clock
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.tokenTTL <= 0 {
		f.tokenTTL = fcmDefaultTokenTTL
	}
	return f
}

// FCMTokenURI is the token_uri of a service account used against the
// simulator whose FCM endpoint is endpoint ("http://host:port/sim/fcm/v1" →
// "http://host:port/sim/fcm/token").
func FCMTokenURI(endpoint string) string {
	return strings.TrimSuffix(strings.TrimRight(endpoint, "/"), "/v1") + "/token"
}

// NewServiceAccount mints a service-account key file of projectID whose JWTs
// go to tokenURI (platform.NewServiceAccountKey); trust it with
// AddServiceAccount.
func NewServiceAccount(projectID, tokenURI string) ([]byte, error) {
	return platform.NewServiceAccountKey(projectID, tokenURI)
}

// AddServiceAccount trusts the service account of the key file jsonKey (the
// same bytes Banshi is given): JWTs signed by its key and naming its
// client_email are exchanged for access tokens of its project. Adding an
// account again replaces its key. Errors: not a service-account key file.
func (f *FCM) AddServiceAccount(jsonKey []byte) error {
	sa, key, err := platform.ParseServiceAccount(jsonKey)
	if err != nil {
		return fmt.Errorf("sim fcm: %w", err)
	}
	f.mu.Lock()
	f.accounts[sa.ClientEmail] = &fcmAccount{project: sa.ProjectID, keyID: sa.PrivateKeyID, key: &key.PublicKey}
	f.mu.Unlock()
	return nil
}

// Unregister makes token answer UNREGISTERED from now on, as when the app is
// uninstalled.
func (f *FCM) Unregister(token string) {
	f.mu.Lock()
	f.unregistered[token] = true
	f.mu.Unlock()
}

// Messages returns the messages token received, oldest first.
func (f *FCM) Messages(token string) []FCMMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FCMMessage{}, f.messages[token]...)
}

// SetFault injects a fault into messages:send (the token endpoint and the
// control endpoints keep working): 0 heals; 429 answers QUOTA_EXCEEDED, 503 UNAVAILABLE, 500
// INTERNAL (any other status: its Google status), with Retry-After when
// retryAfter > 0; -1 hangs each request until its context ends.
func (f *FCM) SetFault(status int, retryAfter time.Duration) {
	f.retryAfter.Store(int64(retryAfter / time.Second))
	f.fault.Store(int64(status))
}

// ExpireAccessTokens makes every access token issued so far answer 401.
func (f *FCM) ExpireAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		t.expires = time.Time{}
	}
}

// Calls reports how many requests reached "token" (the OAuth endpoint) or
// "send", faulted ones included.
func (f *FCM) Calls(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[what]
}

func (f *FCM) now() time.Time { return f.clock.Now().UTC() }

// authNow is the time of authentication (FCMOptions.AuthClock).
func (f *FCM) authNow() time.Time { return f.authClock.Now().UTC() }

// Handler serves the protocol and control endpoints under /sim/fcm/.
func (f *FCM) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+fcmPrefix+"/token", f.count("token", f.handleToken))
	mux.HandleFunc("POST "+fcmPrefix+"/v1/projects/{project}/messages:send", f.count("send", f.faulty(f.handleSend)))
	mux.HandleFunc("GET "+fcmPrefix+"/messages", f.handleListMessages)
	mux.HandleFunc("POST "+fcmPrefix+"/tokens/{token}/unregister", f.handleUnregister)
	mux.HandleFunc("POST "+fcmPrefix+"/fault", f.handleFault)
	return mux
}

// count counts the requests of a protocol endpoint.
func (f *FCM) count(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls[name]++
		f.mu.Unlock()
		h(rw, r)
	}
}

// faulty applies the injected fault to FCM's send endpoint (Google's token
// endpoint is another service and keeps working).
func (f *FCM) faulty(h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		switch fault := f.fault.Load(); {
		case fault < 0:
			_, _ = readBody(r)
			<-r.Context().Done()
			return
		case fault > 0:
			if ra := f.retryAfter.Load(); ra > 0 {
				rw.Header().Set("Retry-After", strconv.FormatInt(ra, 10))
			}
			status := int(fault)
			code := googleStatus(status)
			writeGoogleError(rw, status, code, "simulated fault: "+http.StatusText(status), fcmErrorCodeOf(code))
			return
		}
		h(rw, r)
	}
}

// googleStatus is the canonical Google status of an HTTP status.
func googleStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	default:
		return "INTERNAL"
	}
}

// fcmErrorCodeOf is the FcmError errorCode FCM puts beside a status.
func fcmErrorCodeOf(status string) string {
	switch status {
	case "RESOURCE_EXHAUSTED":
		return "QUOTA_EXCEEDED"
	case "UNAVAILABLE", "INTERNAL", "INVALID_ARGUMENT":
		return status
	}
	return ""
}

func (f *FCM) handleListMessages(rw http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "token is required")
		return
	}
	writeControl(rw, http.StatusOK, struct {
		Messages []FCMMessage `json:"messages"`
	}{f.Messages(token)})
}

func (f *FCM) handleUnregister(rw http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if !fcmTokenShaped(token) {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "not a registration token")
		return
	}
	f.Unregister(token)
	writeControl(rw, http.StatusNoContent, nil)
}

// faultRequest is POST /sim/fcm/fault's body.
type faultRequest struct {
	Status     int `json:"status"`      // 0 heals, -1 hangs, 429/500/503…
	RetryAfter int `json:"retry_after"` // seconds
}

func (f *FCM) handleFault(rw http.ResponseWriter, r *http.Request) {
	var req faultRequest
	if err := decodeBody(r, &req); err != nil || req.Status < -1 || (req.Status > 0 && (req.Status < 400 || req.Status > 599)) || req.RetryAfter < 0 {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"status": 0 | -1 | 400..599, "retry_after": seconds}`)
		return
	}
	f.SetFault(req.Status, time.Duration(req.RetryAfter)*time.Second)
	writeControl(rw, http.StatusNoContent, nil)
}
