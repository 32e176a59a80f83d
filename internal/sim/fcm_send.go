package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"banshi/internal/platform"
)

// FCM HTTP v1 messages:send: the request {"validate_only"?, "message"} and
// the rules FCM applies to it.

const (
	maxFCMPayload   = 4096 // bytes of data and notification text
	maxFCMTokenLen  = 4096
	fcmErrorType    = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
	unauthenticated = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

// fcmSendRequest is the body of messages:send.
type fcmSendRequest struct {
	ValidateOnly bool             `json:"validate_only"`
	Message      *json.RawMessage `json:"message"`
}

// fcmWireMessage is a v1 Message as the API accepts it; unknown fields are
// refused. The platform blocks are taken as objects without further checks.
type fcmWireMessage struct {
	Name         string                     `json:"name"`
	Data         map[string]json.RawMessage `json:"data"`
	Notification *FCMNotification           `json:"notification"`
	Android      map[string]any             `json:"android"`
	Webpush      map[string]any             `json:"webpush"`
	APNS         map[string]any             `json:"apns"`
	FCMOptions   map[string]any             `json:"fcm_options"`
	Token        string                     `json:"token"`
	Topic        string                     `json:"topic"`
	Condition    string                     `json:"condition"`
}

// validateSend parses and checks a messages:send body as FCM does: a JSON
// object with a message and nothing unknown; exactly one of token, topic and
// condition; a token or topic of the right shape; data values that are
// strings, under keys that are not reserved ("from", "message_type",
// "notification", or starting with "google" or "gcm"); data and
// notification text of at most 4096 bytes. The problem is described the way
// FCM's INVALID_ARGUMENT message would.
func validateSend(body []byte) (msg FCMMessage, validateOnly bool, problem string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req fcmSendRequest
	if err := dec.Decode(&req); err != nil {
		return msg, false, "Invalid JSON payload received. " + clipString(err.Error(), 200)
	}
	if dec.More() {
		return msg, false, "Invalid JSON payload received. Unexpected data after the request."
	}
	if req.Message == nil || string(*req.Message) == "null" {
		return msg, false, "Request contains an invalid argument: message is required."
	}
	dec = json.NewDecoder(bytes.NewReader(*req.Message))
	dec.DisallowUnknownFields()
	var m fcmWireMessage
	if err := dec.Decode(&m); err != nil {
		return msg, false, "Invalid JSON payload received. " + clipString(err.Error(), 200)
	}
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	switch {
	case targets != 1:
		return msg, false, "Exactly one of token, topic or condition must be specified."
	case m.Token != "" && !fcmTokenShaped(m.Token):
		return msg, false, "The registration token is not a valid FCM registration token"
	case m.Topic != "" && !topicShaped(strings.TrimPrefix(m.Topic, "/topics/")):
		return msg, false, "Invalid topic name " + strconv.Quote(clipString(m.Topic, 100))
	}
	size := 0
	data := make(map[string]string, len(m.Data))
	for k, raw := range m.Data {
		var v string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
			return msg, false, fmt.Sprintf("Invalid value at 'message.data[%s].value' (TYPE_STRING)", clipString(k, 50))
		}
		if reservedDataKey(k) {
			return msg, false, fmt.Sprintf("Invalid data payload key: %s", clipString(k, 50))
		}
		data[k] = v
		size += len(k) + len(v)
	}
	if n := m.Notification; n != nil {
		size += len(n.Title) + len(n.Body) + len(n.Image)
	}
	if size > maxFCMPayload {
		return msg, false, fmt.Sprintf("Message is too big: %d bytes of data and notification, at most %d", size, maxFCMPayload)
	}
	if len(data) == 0 {
		data = nil
	}
	return FCMMessage{Token: m.Token, Topic: m.Topic, Condition: m.Condition, Data: data, Notification: m.Notification}, req.ValidateOnly, ""
}

// reservedDataKey reports a data key FCM refuses.
func reservedDataKey(k string) bool {
	l := strings.ToLower(k)
	return l == "" || l == "from" || l == "message_type" || l == "notification" ||
		strings.HasPrefix(l, "google") || strings.HasPrefix(l, "gcm")
}

// fcmTokenShaped reports whether t could be a registration token: 1 to 4096
// characters of letters, digits, '-', '_', ':' and '.'.
func fcmTokenShaped(t string) bool {
	if len(t) == 0 || len(t) > maxFCMTokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

// topicShaped reports a topic name FCM accepts: [a-zA-Z0-9-_.~%]{1,900}.
func topicShaped(t string) bool {
	if len(t) == 0 || len(t) > 900 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~%", c) >= 0) {
			return false
		}
	}
	return true
}

// googleError is the error body of Google's JSON APIs.
type googleError struct {
	Error googleErrorBody `json:"error"`
}

type googleErrorBody struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details,omitempty"`
}

// writeGoogleError answers a Google API error; fcmCode, when not empty, is
// the FcmError errorCode in its details.
func writeGoogleError(rw http.ResponseWriter, status int, googleStatus, message, fcmCode string) {
	body := googleError{Error: googleErrorBody{Code: status, Message: message, Status: googleStatus}}
	if fcmCode != "" {
		body.Error.Details = []map[string]any{{"@type": fcmErrorType, "errorCode": fcmCode}}
	}
	writeJSON(rw, status, body)
}

// handleSend is messages:send.
func (f *FCM) handleSend(rw http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	auth := r.Header.Get("Authorization")
	bearer, ok := strings.CutPrefix(auth, "Bearer ")
	now := f.authNow()
	f.mu.Lock()
	tok := f.tokens[bearer]
	f.mu.Unlock()
	switch {
	case !ok || tok == nil || !now.Before(tok.expires):
		rw.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		writeGoogleError(rw, http.StatusUnauthorized, "UNAUTHENTICATED", unauthenticated, "")
		return
	case tok.project != project:
		writeGoogleError(rw, http.StatusForbidden, "PERMISSION_DENIED",
			fmt.Sprintf("Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s' (or it may not exist).", clipString(project, 100)), "")
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeGoogleError(rw, http.StatusBadRequest, "INVALID_ARGUMENT", "Request payload size exceeds the limit.", "INVALID_ARGUMENT")
		return
	}
	msg, validateOnly, problem := validateSend(body)
	if problem != "" {
		writeGoogleError(rw, http.StatusBadRequest, "INVALID_ARGUMENT", problem, "INVALID_ARGUMENT")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if msg.Token != "" && f.unregistered[msg.Token] {
		writeGoogleError(rw, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
		return
	}
	f.sent++
	msg.Name = fmt.Sprintf("projects/%s/messages/%d", project, f.sent)
	msg.ReceivedAt = platform.Local(f.now()) // the simulated clock, as every record of the simulators
	if !validateOnly && msg.Token != "" {
		list := append(f.messages[msg.Token], msg)
		if len(list) > maxFCMMessages {
			list = list[len(list)-maxFCMMessages:]
		}
		f.messages[msg.Token] = list
	}
	f.log.Debug("sim fcm: message", "name", msg.Name, "validate_only", validateOnly)
	writeJSON(rw, http.StatusOK, map[string]string{"name": msg.Name})
}
