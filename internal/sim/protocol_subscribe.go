package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// subscribeSendRequest is subscribe/send's body. Page, lang and the data
// items' color may be empty (silenceper sends them so).
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

// handleSubscribeSend serves POST /cgi-bin/message/subscribe/send. It
// answers, in this order: 40003 for an unknown touser; 40037 for a
// template_id the app has not added; 41030 for a page (before any "?") not in
// the released version; 47003 for a template key without a value, a value
// that is not a JSON string or breaks its kind's rule (errmsg naming the
// key); 43101 when the user holds no credit for the template. Otherwise it
// spends one credit, records the message and pushes
// subscribe_msg_sent_event.
func (w *WeChat) handleSubscribeSend(rw http.ResponseWriter, r *http.Request, appID string) {
	var req subscribeSendRequest
	if err := decodeBody(r, &req); err != nil {
		writeWXError(rw, errDataFormat, "data format error")
		return
	}
	w.mu.Lock()
	known := w.users[req.ToUser] != nil
	var tpl *template
	released := false
	if app := w.appLocked(appID); app != nil {
		tpl = app.templates[req.TemplateID]
		path, _, _ := strings.Cut(strings.TrimPrefix(req.Page, "/"), "?")
		released = req.Page == "" || app.released[path]
	}
	w.mu.Unlock()
	switch {
	case !known:
		writeWXError(rw, errInvalidOpenID, "invalid openid")
		return
	case tpl == nil:
		writeWXError(rw, errInvalidTemplateID, "invalid template_id")
		return
	case !released:
		writeWXError(rw, errInvalidPage, "invalid page")
		return
	}
	data, msg := checkTemplateData(tpl, req.Data)
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
	w.pushLocked(appID, req.ToUser, eventSubscribeSent, []pushItem{{
		{"TemplateId", req.TemplateID}, {"MsgID", strconv.FormatInt(id, 10)}, {"ErrorCode", "0"}, {"ErrorStatus", "success"},
	}})
	w.mu.Unlock()
	w.log.Debug("sim wechat: subscribe message delivered", "template_id", req.TemplateID, "msgid", id)
	writeWX(rw, subscribeSendResponse{ErrMsg: "ok", MsgID: id})
}

// checkTemplateData checks data against the template: every key of the
// template needs a value that is a non-empty JSON string respecting its
// kind's rule; keys the template lacks are not delivered. It returns the
// values, or a 47003 errmsg naming the first bad key (in template order).
func checkTemplateData(tpl *template, raw map[string]json.RawMessage) (map[string]dataValue, string) {
	out := make(map[string]dataValue, len(tpl.keys))
	for _, k := range tpl.keys {
		var item struct {
			Value json.RawMessage `json:"value"`
		}
		field := "argument invalid! data." + k + ".value "
		if r, ok := raw[k]; !ok || json.Unmarshal(r, &item) != nil || len(item.Value) == 0 || string(item.Value) == "null" {
			return nil, field + "is empty"
		}
		var value string
		if err := json.Unmarshal(item.Value, &value); err != nil {
			return nil, field + "must be a string"
		}
		if strings.TrimSpace(value) == "" {
			return nil, field + "is empty"
		}
		if problem := checkValue(k, value, tpl.enums[k]); problem != "" {
			return nil, field + problem
		}
		out[k] = dataValue{Value: value}
	}
	return out, ""
}
