package sim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// subscribeSendRequest is subscribe/send's body. Page, lang and the data
// items' color may be empty (silenceper sends them so) and are not checked.
type subscribeSendRequest struct {
	ToUser           string                     `json:"touser"`
	TemplateID       string                     `json:"template_id"`
	Page             string                     `json:"page"`
	Data             map[string]json.RawMessage `json:"data"`
	MiniprogramState string                     `json:"miniprogram_state"`
	Lang             string                     `json:"lang"`
}

// subscribeSendResponse is subscribe/send's success body.
type subscribeSendResponse struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	MsgID   int64  `json:"msgid"`
}

// dataLimit returns the longest value, in characters, of a template field
// kind (the key without its trailing digits); ok is false for kinds that are
// not checked.
func dataLimit(kind string) (limit int, ok bool) {
	switch kind {
	case "thing":
		return thingMaxRunes, true
	case "number", "letter", "character_string":
		return 32, true
	case "symbol", "phrase":
		return 5, true
	case "phone_number":
		return 17, true
	case "car_number":
		return 8, true
	}
	return 0, false
}

// handleSubscribeSend serves POST /cgi-bin/message/subscribe/send. It answers
// 40003 for an unknown touser, 40037 for an empty template_id, 47003 for empty
// data or a bad field value (naming the field), 43101 when the user holds no
// credit for the template; otherwise it spends one credit and records the
// message.
func (w *WeChat) handleSubscribeSend(rw http.ResponseWriter, r *http.Request, _ string) {
	var req subscribeSendRequest
	if err := decodeBody(r, &req); err != nil {
		writeWXError(rw, errDataFormat, "data format error")
		return
	}
	w.mu.Lock()
	known := w.users[req.ToUser] != nil
	w.mu.Unlock()
	switch {
	case !known:
		writeWXError(rw, errInvalidOpenID, "invalid openid")
		return
	case blank(req.TemplateID):
		writeWXError(rw, errInvalidTemplateID, "invalid template_id")
		return
	}
	data, msg := checkTemplateData(req.Data)
	if msg != "" {
		writeWXError(rw, errArgumentInvalid, msg)
		return
	}
	now := w.now()
	key := creditKey{openID: req.ToUser, templateID: req.TemplateID}
	w.mu.Lock()
	if w.credits[key] <= 0 {
		w.mu.Unlock()
		writeWXError(rw, errUserRefused, "user refuse to accept the msg")
		return
	}
	w.credits[key]--
	if w.credits[key] == 0 {
		delete(w.credits, key)
	}
	w.nextMsgID++
	id := w.nextMsgID
	w.messages[req.ToUser] = append(w.messages[req.ToUser], sentMessage{
		TemplateID:       req.TemplateID,
		Page:             req.Page,
		Data:             data,
		MiniprogramState: req.MiniprogramState,
		SentAt:           now,
	})
	w.mu.Unlock()
	w.log.Debug("sim wechat: subscribe message delivered", "template_id", req.TemplateID, "msgid", id)
	writeWX(rw, subscribeSendResponse{ErrMsg: "ok", MsgID: id})
}

// checkTemplateData parses and checks template data. It returns the values,
// or a 47003 errmsg naming the first bad field (in key order).
func checkTemplateData(raw map[string]json.RawMessage) (map[string]dataValue, string) {
	if len(raw) == 0 {
		return nil, "argument invalid! data is empty"
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]dataValue, len(raw))
	for _, k := range keys {
		var item struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw[k], &item); err != nil || len(item.Value) == 0 || string(item.Value) == "null" {
			return nil, "argument invalid! data." + k + ".value is empty"
		}
		value := string(item.Value)
		var s string
		if json.Unmarshal(item.Value, &s) == nil {
			value = s
		}
		if strings.TrimSpace(value) == "" {
			return nil, "argument invalid! data." + k + ".value is empty"
		}
		if !valueFits(k, value) {
			return nil, "argument invalid! data." + k + ".value exceeds limit"
		}
		out[k] = dataValue{Value: value}
	}
	return out, ""
}

// valueFits reports whether value respects the length limit of key's kind.
// A name holds at most 10 characters when any is non-ASCII, else 20 letters.
func valueFits(key, value string) bool {
	kind := strings.TrimRightFunc(key, unicode.IsDigit)
	n := utf8.RuneCountInString(value)
	if kind == "name" {
		for _, c := range value {
			if c >= utf8.RuneSelf {
				return n <= 10
			}
		}
		return n <= 20
	}
	limit, ok := dataLimit(kind)
	return !ok || n <= limit
}
