package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"banshi/internal/platform"
)

// deptMaxEvents is how many received events the simulator keeps per
// integration.
const deptMaxEvents = 1000

// DepartmentEvent is one of Banshi's events the department received,
// verified, and how it answered.
type DepartmentEvent struct {
	ReceivedAt time.Time       `json:"received_at"`
	Event      json.RawMessage `json:"event"`              // the body, exactly as received
	EventID    string          `json:"event_id,omitempty"` // the body's event_id, when a string
	Type       string          `json:"type,omitempty"`     // the body's type, when a string
	Outcome    string          `json:"outcome"`            // what the simulator was told to do
	Status     int             `json:"status"`             // what it answered
	Accepted   bool            `json:"accepted"`           // 2xx
}

// Events returns a copy of the events integration id received and
// verified, oldest first (nil when it knows no such integration).
func (d *Department) Events(id string) []DepartmentEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	in := d.integrations[id]
	if in == nil {
		return nil
	}
	out := make([]DepartmentEvent, len(in.events))
	for i, e := range in.events {
		out[i] = *e
	}
	return out
}

// deptSecrets gives the hook verifier the secret the simulator was told.
type deptSecrets struct{ d *Department }

// HookSecrets answers the integration's secret, none when it was not told.
func (k deptSecrets) HookSecrets(_ context.Context, source string) ([]string, error) {
	if s, ok := k.d.secret(source); ok {
		return []string{s}, nil
	}
	return nil, nil
}

// deptNonceStore remembers the nonces of verified deliveries, as a department
// must to refuse replays. Safe for concurrent use.
type deptNonceStore struct {
	clock platform.Clock
	mu    sync.Mutex
	seen  map[string]time.Time // source|nonce → forgotten at
}

// deptNoncePrune is the size beyond which expired nonces are dropped.
const deptNoncePrune = 4096

// Seen records (source, nonce) for ttl and reports whether it was recorded
// and not yet forgotten.
func (n *deptNonceStore) Seen(_ context.Context, source, nonce string, ttl time.Duration) (bool, error) {
	now := n.clock.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.seen) > deptNoncePrune {
		for k, until := range n.seen {
			if !now.Before(until) {
				delete(n.seen, k)
			}
		}
	}
	k := source + "|" + nonce
	if until, ok := n.seen[k]; ok && now.Before(until) {
		return true, nil
	}
	n.seen[k] = now.Add(ttl)
	return false, nil
}

// handleEvent receives one of Banshi's outbound events: verified first,
// then recorded and answered per the integration's outcome.
func (d *Department) handleEvent(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integration_id")
	if _, ok := d.secret(id); !ok {
		writeControlError(rw, http.StatusNotFound, "unknown_integration",
			"the simulator does not know this integration's secret: PUT /sim/department/"+id+` {"secret":"…"} first`)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body unreadable or too large")
		return
	}
	err = platform.ErrSignatureInvalid // a delivery signed for another source
	if r.Header.Get(platform.HeaderHookSource) == id {
		_, err = d.verifier.Verify(r.Context(), r.Method, r.URL.EscapedPath(), r.Header, body)
	}
	if err != nil {
		d.mu.Lock()
		d.integrationLocked(id).refusedSignatures++
		d.mu.Unlock()
		code := platform.CodeOf(err)
		d.log.Warn("sim department: event refused", "integration", id, "code", code)
		writeControlError(rw, http.StatusUnauthorized, code, "the signature does not verify with the integration's secret, is stale or replayed")
		return
	}
	if !json.Valid(body) {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "the event is not JSON")
		return
	}
	ev := &DepartmentEvent{ReceivedAt: d.clock.Now(), Event: json.RawMessage(body)}
	var head struct {
		EventID any `json:"event_id"`
		Type    any `json:"type"`
	}
	if json.Unmarshal(body, &head) == nil {
		ev.EventID, _ = head.EventID.(string)
		ev.Type, _ = head.Type.(string)
	}
	d.mu.Lock()
	in := d.integrationLocked(id)
	ev.Outcome = in.outcome
	switch ev.Outcome {
	case DepartmentRefuse:
		ev.Status = http.StatusConflict
	case DepartmentTimeout:
		ev.Status = http.StatusGatewayTimeout
	default:
		ev.Status, ev.Accepted = http.StatusOK, true
	}
	in.events = keepLatest(in.events, ev, deptMaxEvents)
	d.mu.Unlock()
	d.log.Debug("sim department: event", "integration", id, "type", ev.Type, "event_id", ev.EventID, "status", ev.Status)
	switch ev.Status {
	case http.StatusConflict:
		writeControlError(rw, ev.Status, "bill_not_payable", "该缴款书已不可缴纳（模拟部门系统拒绝）")
	case http.StatusGatewayTimeout:
		writeControlError(rw, ev.Status, "timeout", "部门系统未在时限内处理（模拟超时）")
	default:
		writeControl(rw, ev.Status, map[string]bool{"accepted": true})
	}
}

// handleEvents lists what the integration received.
func (d *Department) handleEvents(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integration_id")
	d.mu.Lock()
	in := d.integrations[id]
	refused := 0
	if in != nil {
		refused = in.refusedSignatures
	}
	d.mu.Unlock()
	if in == nil {
		writeControlError(rw, http.StatusNotFound, "unknown_integration", "the simulator knows no integration "+id)
		return
	}
	events := d.Events(id)
	if events == nil {
		events = []DepartmentEvent{}
	}
	writeControl(rw, http.StatusOK, map[string]any{"events": events, "refused_signatures": refused})
}
