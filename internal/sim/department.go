package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"banshi/internal/platform"
)

// Department simulates department business systems (审批系统, 非税收入系统,
// 证照库) reporting to Banshi over the signed protocol of reference
// integrations.md: it signs what it is given exactly as the protocol says and
// posts it to Banshi, so demos, tests and the README need no signing by hand.
//
//	PUT  /sim/department/{integration_id}               {"secret":"…"}  → 204
//	     the integration's secret, as Banshi showed it at creation or rotation
//	POST /sim/department/{integration_id}/applications  an application event
//	     (event_id generated when absent, occurred_at now when absent), signed
//	     and posted to Banshi's /api/v1/hooks/applications → Banshi's status and
//	     body, with the event id in X-Sim-Event-Id
//
// Control errors answer {"error":{"code","message"}}: 400 for a bad body or
// id, 404 for an integration whose secret it was not told, 502 when Banshi
// does not answer.
type Department struct {
	banshi *url.URL
	client *http.Client
	clock  platform.Clock
	log    *slog.Logger

	mu      sync.Mutex
	secrets map[string]string
}

// DepartmentOptions configure a Department.
type DepartmentOptions struct {
	BanshiURL string         // Banshi's base URL, e.g. http://127.0.0.1:8080
	Clock     platform.Clock // signs timestamps and fills occurred_at [system clock]
	Client    *http.Client   // [10 s timeout]
	Log       *slog.Logger   // [discard]
}

// ApplicationsHookPath is where Banshi takes application events.
const ApplicationsHookPath = "/api/v1/hooks/applications"

// maxSecretLen bounds a secret the simulator is told.
const maxSecretLen = 256

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
	return &Department{banshi: u, client: o.Client, clock: o.Clock, log: o.Log, secrets: map[string]string{}}
}

// SetSecret tells the simulator the secret of integration id.
func (d *Department) SetSecret(id, secret string) {
	d.mu.Lock()
	d.secrets[id] = secret
	d.mu.Unlock()
}

func (d *Department) secret(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.secrets[id]
	return s, ok
}

// Handler serves the simulator's paths under /sim/department/.
func (d *Department) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /sim/department/{integration_id}", d.handleSecret)
	mux.HandleFunc("POST /sim/department/{integration_id}/applications", d.handleApplication)
	return mux
}

type secretRequest struct {
	Secret string `json:"secret"`
}

func (d *Department) handleSecret(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integration_id")
	var req secretRequest
	switch err := decodeBody(r, &req); {
	case !platform.ValidCatalogID(id):
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "integration id: 1-48 lower-case letters, digits or '-'")
	case err != nil:
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", `body must be JSON: {"secret":"<the secret Banshi showed>"}`)
	case req.Secret == "" || len(req.Secret) > maxSecretLen:
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "secret: 1-256 bytes")
	default:
		d.SetSecret(id, req.Secret)
		writeControl(rw, http.StatusNoContent, nil)
	}
}

func (d *Department) handleApplication(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integration_id")
	secret, ok := d.secret(id)
	if !ok {
		writeControlError(rw, http.StatusNotFound, "unknown_integration",
			"the simulator does not know this integration's secret: PUT /sim/department/"+id+` {"secret":"…"} first`)
		return
	}
	var event map[string]any
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err == nil && len(raw) > maxBodyBytes {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body too large")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // pass numbers on as they came
	if err != nil || dec.Decode(&event) != nil || event == nil {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body must be a JSON object: an application event (event_id and occurred_at may be left out)")
		return
	}
	if v, ok := event["event_id"]; !ok || v == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		event["event_id"] = "sim-" + hex.EncodeToString(b)
	}
	if _, ok := event["occurred_at"]; !ok {
		event["occurred_at"] = platform.Local(d.clock.Now()).Truncate(time.Second).Format(time.RFC3339)
	}
	body, err := json.Marshal(event)
	if err != nil {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body does not encode as JSON")
		return
	}
	status, header, answer, err := d.post(r, id, secret, ApplicationsHookPath, body)
	if err != nil {
		d.log.Warn("sim department: Banshi did not answer", "integration", id, "err", err)
		writeControlError(rw, http.StatusBadGateway, "banshi_unreachable", "Banshi did not answer at "+d.banshi.String())
		return
	}
	if s, ok := event["event_id"].(string); ok {
		rw.Header().Set("X-Sim-Event-Id", s)
	}
	if ct := header.Get("Content-Type"); ct != "" {
		rw.Header().Set("Content-Type", ct)
	}
	rw.WriteHeader(status)
	_, _ = rw.Write(answer)
}

// post signs body as integration id and posts it to Banshi at path,
// returning Banshi's answer.
func (d *Department) post(r *http.Request, id, secret, path string, body []byte) (int, http.Header, []byte, error) {
	target := *d.banshi
	target.Path = strings.TrimRight(target.Path, "/") + path
	target.RawPath = ""
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	platform.SignHook(req.Header, id, secret, http.MethodPost, target.Path, d.clock.Now(), body)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, answer, nil
}
