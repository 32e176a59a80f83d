package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"banshi/internal/platform"
	"banshi/licences/licsig"
)

// LicencesHookPath is Banshi's licence hook the department posts to.
const LicencesHookPath = "/api/v1/hooks/licences"

// Licence event actions the simulator fills defaults for (the protocol's).
const (
	simLicenceIssue  = "issue"
	simLicenceRevoke = "revoke"
)

// The demo licence type the simulator issues when the body names none: the
// reference's test vector's defining and issuing authorities.
const (
	simLicenceTypeCode = "11100000000013338W032"
	simLicenceDefiner  = "11100000000013338W"
	simLicenceIssuer   = "11220000013544541J"
)

// deptLicenceKey is the simulator's own SM2 key, minted on first use: the
// key a registered integration's licences are signed with (Banshi is told
// its public half, LicencePublicKey).
type deptLicenceKey struct {
	once sync.Once
	key  *sm2.PrivateKey
	err  error
}

func (d *Department) licenceKey() (*sm2.PrivateKey, error) {
	k := &d.licence
	k.once.Do(func() { k.key, k.err = licsig.GenerateKey() })
	return k.key, k.err
}

// LicencePublicKey is the PEM public key the simulator signs licences with,
// to be registered on the integrations it signs for
// (PUT /api/v1/staff/admin/integrations/{id}/sm2-key).
func (d *Department) LicencePublicKey() (string, error) {
	k, err := d.licenceKey()
	if err != nil {
		return "", err
	}
	return licsig.PublicKeyPEM(&k.PublicKey), nil
}

// handleLicencePublicKey serves GET /sim/department/licence-key → 200
// {"sm2_public_key": PEM}.
func (d *Department) handleLicencePublicKey(rw http.ResponseWriter, _ *http.Request) {
	p, err := d.LicencePublicKey()
	if err != nil {
		writeControlError(rw, http.StatusInternalServerError, "internal", "no key")
		return
	}
	writeControl(rw, http.StatusOK, map[string]string{"sm2_public_key": p})
}

// simLicenceRequest is the control body of POST …/licences.
type simLicenceRequest struct {
	EventID string         `json:"event_id"`
	Action  string         `json:"action"`
	Licence map[string]any `json:"licence"`
}

// handleLicence serves POST /sim/department/{integration_id}/licences: a
// licence event for Banshi, signed twice as a department does — the
// metadata with the simulator's SM2 key (canonical JSON, SM2-with-SM3), the
// request with the integration's secret. The body is
// {"event_id"?,"action"?:"issue"|"update"|"revoke","licence":{…}}; the
// licence's missing fields are filled (a fresh identifier of the demo type
// with a random serial, names, dates from today, status valid — revoked for
// a revoke), so {"licence":{"holder":{"name","code","code_type":"111"}}}
// issues a licence. Banshi's status and body are relayed, the event id in
// X-Sim-Event-Id and the identifier in X-Sim-Licence-Id. 404 when the
// integration's secret is unknown, 400 for a bad body, 502 when Banshi does
// not answer.
func (d *Department) handleLicence(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("integration_id")
	secret, ok := d.secret(id)
	if !ok {
		writeControlError(rw, http.StatusNotFound, "unknown_integration",
			"the simulator does not know this integration's secret: PUT /sim/department/"+id+` {"secret":"…"} first`)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	var req simLicenceRequest
	if err != nil || len(raw) > maxBodyBytes || json.Unmarshal(raw, &req) != nil || req.Licence == nil {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", `body must be {"licence":{"holder":{"name","code","code_type"}},"action"?,"event_id"?}`)
		return
	}
	if req.Action == "" {
		req.Action = simLicenceIssue
	}
	if req.EventID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		req.EventID = "sim-" + hex.EncodeToString(b)
	}
	d.fillLicence(req.Licence, req.Action)
	msg, err := licsig.CanonicalJSON(req.Licence)
	if err != nil {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "licence: every value must be a string or an object")
		return
	}
	key, err := d.licenceKey()
	if err != nil {
		writeControlError(rw, http.StatusInternalServerError, "internal", "no key")
		return
	}
	sig, err := licsig.Sign(key, msg)
	if err != nil {
		writeControlError(rw, http.StatusInternalServerError, "internal", "signing failed")
		return
	}
	body, _ := json.Marshal(map[string]any{"event_id": req.EventID, "action": req.Action, "licence": req.Licence,
		"signature": map[string]any{"algorithm": licsig.SignatureAlgorithm, "value": base64.StdEncoding.EncodeToString(sig),
			"signed_at": platform.Local(d.clock.Now()).Truncate(time.Second).Format(time.RFC3339)}})
	status, header, answer, err := d.post(r, id, secret, LicencesHookPath, body)
	if err != nil {
		d.log.Warn("sim department: Banshi did not answer", "integration", id, "err", err)
		writeControlError(rw, http.StatusBadGateway, "banshi_unreachable", "Banshi did not answer at "+d.banshi.String())
		return
	}
	rw.Header().Set("X-Sim-Event-Id", req.EventID)
	if s, ok := req.Licence["identifier"].(string); ok {
		rw.Header().Set("X-Sim-Licence-Id", s)
	}
	if ct := header.Get("Content-Type"); ct != "" {
		rw.Header().Set("Content-Type", ct)
	}
	rw.WriteHeader(status)
	_, _ = io.Copy(rw, bytes.NewReader(answer))
}

// fillLicence fills the demo defaults of a licence's missing fields.
func (d *Department) fillLicence(l map[string]any, action string) {
	today := d.clock.Now().In(platform.Shanghai())
	if _, ok := l["identifier"]; !ok {
		b := make([]byte, 5)
		_, _ = rand.Read(b)
		l["identifier"] = licsig.WithCheck(simLicenceTypeCode, simLicenceIssuer, strings.ToUpper(hex.EncodeToString(b)), "001")
	}
	set := func(k string, v any) {
		if _, ok := l[k]; !ok {
			l[k] = v
		}
	}
	set("name", "居民户口簿")
	set("number", "SIM"+today.Format("20060102"))
	set("type_name", "户口簿")
	set("type_code", simLicenceTypeCode)
	set("version", "001")
	set("defining_authority", map[string]any{"name": "公安部", "code": simLicenceDefiner})
	set("issuing_authority", map[string]any{"name": "演示公安厅", "code": simLicenceIssuer})
	set("issue_date", today.Format(time.DateOnly))
	set("valid_from", today.Format(time.DateOnly))
	set("valid_until", today.AddDate(10, 0, -1).Format(time.DateOnly))
	set("area_code", "220000")
	status := "valid"
	if action == simLicenceRevoke {
		status = "revoked"
	}
	set("status", status)
	set("extensions", map[string]any{})
}
