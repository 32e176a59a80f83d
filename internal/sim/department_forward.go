package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"banshi/internal/platform"
)

// forward serves POST /sim/department/{integration_id}/applications and
// …/bills: the body, a JSON object, gets an event_id when it has none (and
// occurred_at now when fillOccurred and it has none), is signed as the
// integration and posted to Banshi's hookPath; Banshi's status, content
// type and body are relayed, the event id in X-Sim-Event-Id. 404 when the
// secret is unknown, 400 for a body that is not a JSON object, 502 when
// Banshi does not answer.
func (d *Department) forward(hookPath string, fillOccurred bool) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
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
			writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body must be a JSON object: the event (event_id may be left out)")
			return
		}
		if v, ok := event["event_id"]; !ok || v == "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			event["event_id"] = "sim-" + hex.EncodeToString(b)
		}
		if _, ok := event["occurred_at"]; fillOccurred && !ok {
			event["occurred_at"] = platform.Local(d.clock.Now()).Truncate(time.Second).Format(time.RFC3339)
		}
		body, err := json.Marshal(event)
		if err != nil {
			writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body does not encode as JSON")
			return
		}
		status, header, answer, err := d.post(r, id, secret, hookPath, body)
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
