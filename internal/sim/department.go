package sim

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"banshi/internal/platform"
)

// Department simulates department business systems (审批系统, 非税收入系统,
// 证照库) on both sides of the signed protocol of reference integrations.md:
// it signs what it is given exactly as the protocol says and posts it to
// Banshi, so demos, tests and the README need no signing by hand, and it
// receives Banshi's outbound events at the integration's callback_url,
// verifies them and answers as it was told to.
//
//	PUT  /sim/department/{integration_id}  {"secret":"…","outcome":"accept"|"refuse"|"timeout"}  → 204
//	     (the secret may be left out to change only the outcome of an integration
//	     whose secret the simulator knows; 404 when it knows none)
//	     the integration's secret, as Banshi showed it at creation or
//	     rotation, and how to answer Banshi's events (outcome optional:
//	     accept when absent)
//	POST /sim/department/{integration_id}/events   Banshi's outbound events
//	     (the callback_url): the signature (X-Banshi-Source = the
//	     integration id, timestamp within 5 minutes, nonce not replayed) is
//	     verified with the secret first — 401 signature_invalid otherwise,
//	     nothing recorded; 404 unknown_integration when no secret was told;
//	     400 when the body is not JSON. The event is recorded, then answered
//	     per outcome: accept → 200 {"accepted":true}; refuse → 409
//	     {"error":{"code":"bill_not_payable",…}} (the bill can no longer be
//	     paid: Banshi refunds); timeout → 504 at once (a system that never
//	     accepts; the connection is not held)
//	GET  /sim/department/{integration_id}/events
//	     → 200 {"events":[{"received_at","event","event_id","type","outcome","status","accepted"}],
//	     "refused_signatures":n}, oldest first (the latest 1000); 404
//	     unknown_integration
//	POST /sim/department/{integration_id}/applications  an application event
//	     (event_id generated when absent, occurred_at now when absent), signed
//	     and posted to Banshi's /api/v1/hooks/applications → Banshi's status and
//	     body, with the event id in X-Sim-Event-Id
//	POST /sim/department/{integration_id}/bills  a bill event (event_id
//	     generated when absent; nothing else added), signed and posted to
//	     Banshi's /api/v1/hooks/bills → Banshi's status and body, with the
//	     event id in X-Sim-Event-Id
//
// Control errors answer {"error":{"code","message"}}: 400 for a bad body or
// id, 404 for an integration whose secret it was not told, 502 when Banshi
// does not answer.
type Department struct {
	banshi   *url.URL
	client   *http.Client
	clock    platform.Clock
	log      *slog.Logger
	verifier *platform.HookVerifier
	nonces   *deptNonceStore

	mu           sync.Mutex
	integrations map[string]*deptIntegration

	licence deptLicenceKey // the SM2 key licences are signed with (department_licences.go)
}

// deptIntegration is what the simulator knows of one integration.
type deptIntegration struct {
	secret            string
	outcome           string
	events            []*DepartmentEvent // the latest deptMaxEvents, oldest first
	refusedSignatures int                // deliveries refused before recording
}

// DepartmentOptions configure a Department.
type DepartmentOptions struct {
	BanshiURL string         // Banshi's base URL, e.g. http://127.0.0.1:8080
	Clock     platform.Clock // signs timestamps, judges Banshi's, fills occurred_at [system clock]
	Client    *http.Client   // [10 s timeout]
	Log       *slog.Logger   // [discard]
}

// How the department answers Banshi's events.
const (
	DepartmentAccept  = "accept"  // 200 {"accepted":true}
	DepartmentRefuse  = "refuse"  // 409 bill_not_payable
	DepartmentTimeout = "timeout" // 504 at once
)

// Paths of Banshi's hooks the department posts to.
const (
	ApplicationsHookPath = "/api/v1/hooks/applications"
	BillsHookPath        = "/api/v1/hooks/bills"
)

// maxSecretLen bounds a secret the simulator is told.
const maxSecretLen = 256

// errDeptOutcome is an outcome the simulator does not know.
var errDeptOutcome = errors.New(`outcome must be "accept", "refuse" or "timeout"`)

// NewDepartment returns the simulator posting to o.BanshiURL. It panics on a
// URL that does not parse (a programming error: the URL is configuration
// checked before).
func NewDepartment(o DepartmentOptions) *Department {
	u, err := url.Parse(strings.TrimRight(o.BanshiURL, "/"))
	if err != nil {
		panic("sim: Banshi URL: " + err.Error())
	}
	if o.Clock == nil {
		o.Clock = platform.SystemClock{}
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Department{banshi: u, client: o.Client, clock: o.Clock, log: o.Log,
		nonces: &deptNonceStore{clock: o.Clock, seen: map[string]time.Time{}}, integrations: map[string]*deptIntegration{}}
	d.verifier = platform.NewHookVerifier(deptSecrets{d}, d.nonces, o.Clock)
	return d
}

// integrationLocked returns (creating) integration id.
func (d *Department) integrationLocked(id string) *deptIntegration {
	in := d.integrations[id]
	if in == nil {
		in = &deptIntegration{outcome: DepartmentAccept}
		d.integrations[id] = in
	}
	return in
}

// SetSecret tells the simulator the secret of integration id; how it
// answers events stays as it was (accept for a new one).
func (d *Department) SetSecret(id, secret string) {
	d.mu.Lock()
	d.integrationLocked(id).secret = secret
	d.mu.Unlock()
}

// SetOutcome sets how the simulator answers integration id's events:
// DepartmentAccept, DepartmentRefuse or DepartmentTimeout. Errors:
// errDeptOutcome (nothing changed).
func (d *Department) SetOutcome(id, outcome string) error {
	if outcome != DepartmentAccept && outcome != DepartmentRefuse && outcome != DepartmentTimeout {
		return errDeptOutcome
	}
	d.mu.Lock()
	d.integrationLocked(id).outcome = outcome
	d.mu.Unlock()
	return nil
}

// secret returns integration id's secret; ok is false when none was told.
func (d *Department) secret(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in := d.integrations[id]
	if in == nil || in.secret == "" {
		return "", false
	}
	return in.secret, true
}

// Handler serves the simulator's paths under /sim/department/.
func (d *Department) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /sim/department/{integration_id}", d.handleSecret)
	mux.HandleFunc("POST /sim/department/{integration_id}/events", d.handleEvent)
	mux.HandleFunc("GET /sim/department/{integration_id}/events", d.handleEvents)
	mux.HandleFunc("POST /sim/department/{integration_id}/applications", d.forward(ApplicationsHookPath, true))
	mux.HandleFunc("POST /sim/department/{integration_id}/bills", d.forward(BillsHookPath, false))
	mux.HandleFunc("POST /sim/department/{integration_id}/licences", d.handleLicence)
	mux.HandleFunc("GET /sim/department/licence-key", d.handleLicencePublicKey)
	return mux
}

type secretRequest struct {
	Secret  string `json:"secret"`
	Outcome string `json:"outcome"`
}

func (d *Department) handleSecret(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integration_id")
	var req secretRequest
	switch err := decodeBody(r, &req); {
	case !platform.ValidCatalogID(id):
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "integration id: 1-48 lower-case letters, digits or '-'")
	case err != nil:
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", `body must be JSON: {"secret":"<the secret Banshi showed>","outcome":"accept"|"refuse"|"timeout"}`)
	case len(req.Secret) > maxSecretLen || (req.Secret == "" && req.Outcome == ""):
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "secret: 1-256 bytes (it may be left out to change only the outcome of an integration whose secret is known)")
	case req.Outcome != "" && req.Outcome != DepartmentAccept && req.Outcome != DepartmentRefuse && req.Outcome != DepartmentTimeout:
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", errDeptOutcome.Error())
	default:
		d.mu.Lock()
		if known := d.integrations[id]; req.Secret == "" && (known == nil || known.secret == "") {
			d.mu.Unlock()
			writeControlError(rw, http.StatusNotFound, "not_found", "the simulator was not told this integration's secret")
			return
		}
		in := d.integrationLocked(id)
		if req.Secret != "" {
			in.secret = req.Secret
			if req.Outcome == "" {
				req.Outcome = DepartmentAccept
			}
		}
		if req.Outcome != "" {
			in.outcome = req.Outcome
		}
		d.mu.Unlock()
		writeControl(rw, http.StatusNoContent, nil)
	}
}
