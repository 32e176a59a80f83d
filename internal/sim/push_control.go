package sim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pushView is the answer of GET and PUT /sim/wechat/apps/{appid}/push: the
// settings without their secrets.
type pushView struct {
	URL          string `json:"url"`
	Safe         bool   `json:"safe"`
	Format       string `json:"format"`
	Duplicates   int    `json:"duplicates"`
	TokenSet     bool   `json:"token_set"`
	AESKeySet    bool   `json:"aes_key_set"`
	OriginalID   string `json:"original_id"`
	PushesActive bool   `json:"pushes_active"` // URL and token set
}

func (w *WeChat) pushView(appID string) (pushView, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.appLocked(appID)
	if app == nil {
		return pushView{}, false
	}
	c := app.push
	format := c.Format
	if format == "" {
		format = "json"
	}
	return pushView{URL: c.URL, Safe: c.Safe, Format: format, Duplicates: c.Duplicates, TokenSet: c.Token != "",
		AESKeySet: c.EncodingAESKey != "", OriginalID: originalID(appID), PushesActive: c.URL != "" && c.Token != ""}, true
}

// handleGetPush answers a mini-program's push settings; 404 for an unknown appid.
func (w *WeChat) handleGetPush(rw http.ResponseWriter, r *http.Request) {
	v, ok := w.pushView(r.PathValue("appid"))
	if !ok {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown mini-program appid")
		return
	}
	writeControl(rw, http.StatusOK, v)
}

// pushSettingsRequest is PUT /sim/wechat/apps/{appid}/push's body: the
// fields given replace the current ones (so a URL set by `banshi sim
// --push-url` can be completed with the token and key).
type pushSettingsRequest struct {
	URL            *string `json:"url"`
	Token          *string `json:"token"`
	EncodingAESKey *string `json:"encoding_aes_key"`
	Safe           *bool   `json:"safe"`
	Format         *string `json:"format"`
	Duplicates     *int    `json:"duplicates"`
}

// handlePutPush plays the owner submitting the push settings in WeChat's
// console: the fields given (pushSettingsRequest) replace the current ones,
// and the result — which needs a url and a token — is saved only after the
// URL check (a GET with signature, timestamp, nonce and echostr that must
// answer the echostr) succeeds. 200 with the settings; 400 for bad settings;
// 404 for an unknown appid; 422 when the URL check fails.
func (w *WeChat) handlePutPush(rw http.ResponseWriter, r *http.Request) {
	var req pushSettingsRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"url","token","encoding_aes_key","safe","format","duplicates"}`)
		return
	}
	appID := r.PathValue("appid")
	w.mu.Lock()
	app := w.appLocked(appID)
	var c PushConfig
	if app != nil {
		c = app.push
	}
	w.mu.Unlock()
	if app == nil {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown mini-program appid")
		return
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.URL, req.URL)
	set(&c.Token, req.Token)
	set(&c.EncodingAESKey, req.EncodingAESKey)
	set(&c.Format, req.Format)
	if req.Safe != nil {
		c.Safe = *req.Safe
	}
	if req.Duplicates != nil {
		c.Duplicates = *req.Duplicates
	}
	problem := c.check()
	if problem == "" && (c.URL == "" || c.Token == "") {
		problem = "url and token are required"
	}
	if problem != "" {
		writeControlError(rw, http.StatusBadRequest, "bad_request", problem)
		return
	}
	if answer, ok := w.checkPushURL(r.Context(), c); !ok {
		writeControlError(rw, http.StatusUnprocessableEntity, "url_check_failed", "the URL did not answer the echostr: "+answer)
		return
	}
	if err := w.SetPush(appID, c); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	w.handleGetPush(rw, r)
}

// checkPushURL makes WeChat's URL check of c.URL and reports whether it
// answered the echostr, and what it answered.
func (w *WeChat) checkPushURL(ctx context.Context, c PushConfig) (string, bool) {
	ts, nonce, echostr := strconv.FormatInt(w.now().Unix(), 10), randomDigits(10), randomDigits(19)
	q := url.Values{"signature": {pushSignature(c.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echostr}}
	sep := "?"
	if strings.Contains(c.URL, "?") {
		sep = "&"
	}
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+sep+q.Encode(), nil)
	if err != nil {
		return err.Error(), false
	}
	resp, err := w.pushClient.Do(req)
	if err != nil {
		return err.Error(), false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strconv.Itoa(resp.StatusCode) + " " + string(b), resp.StatusCode == http.StatusOK && string(b) == echostr
}

// pushesResponse lists pushes, oldest first.
type pushesResponse struct {
	Pushes []pushRecord `json:"pushes"`
}

// handleListPushes answers the latest pushes (?openid= narrows to one user).
func (w *WeChat) handleListPushes(rw http.ResponseWriter, r *http.Request) {
	openID := r.URL.Query().Get("openid")
	w.mu.Lock()
	out := pushesResponse{Pushes: []pushRecord{}}
	for _, p := range w.pushes {
		if openID == "" || p.OpenID == openID {
			out.Pushes = append(out.Pushes, *p)
		}
	}
	w.mu.Unlock()
	writeControl(rw, http.StatusOK, out)
}

// Pushes returns the pushes to openID ("" for all), oldest first.
func (w *WeChat) Pushes(openID string) []pushRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []pushRecord
	for _, p := range w.pushes {
		if openID == "" || p.OpenID == openID {
			out = append(out, *p)
		}
	}
	return out
}

// turnOffRequest is POST /sim/wechat/subscriptions/off's body.
type turnOffRequest struct {
	OpenID     string `json:"openid"`
	TemplateID string `json:"template_id"`
}

// handleTurnOff plays the user turning a template off in the mini-program's
// settings: the credits are gone (sends answer 43101) and
// subscribe_msg_change_event is pushed with "reject". 204; 404 for an unknown
// openid or template.
func (w *WeChat) handleTurnOff(rw http.ResponseWriter, r *http.Request) {
	var req turnOffRequest
	if err := decodeBody(r, &req); err != nil || blank(req.TemplateID) {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"openid","template_id"}`)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	appID := w.templateAppLocked(req.TemplateID)
	switch {
	case w.users[req.OpenID] == nil:
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown openid")
		return
	case appID == "":
		writeControlError(rw, http.StatusNotFound, "not_found", "no mini-program has added this template")
		return
	}
	delete(w.credits, creditKey{openID: req.OpenID, templateID: req.TemplateID})
	w.pushLocked(appID, req.OpenID, eventSubscribeChange, []pushItem{{{"TemplateId", req.TemplateID}, {"SubscribeStatusString", "reject"}}})
	writeControl(rw, http.StatusNoContent, nil)
}
