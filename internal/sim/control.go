package sim

import (
	"net/http"
)

// Face outcomes accepted by POST /sim/wechat/face/{verify_id}/complete.
const (
	outcomeSuccess = "success"
	outcomeFail    = "fail"
)

// maxIDLen bounds client-chosen openids and unionids.
const maxIDLen = 128

// routeControl mounts the endpoints that play the user's phone.
func (w *WeChat) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("POST "+prefix+"/users", w.handleCreateUser)
	mux.HandleFunc("POST "+prefix+"/codes", w.handleCreateCode)
	mux.HandleFunc("POST "+prefix+"/realname-codes", w.handleCreateRealnameCode)
	mux.HandleFunc("POST "+prefix+"/face/{verify_id}/complete", w.handleCompleteFace)
	mux.HandleFunc("POST "+prefix+"/subscriptions", w.handleSubscribe)
	mux.HandleFunc("GET "+prefix+"/messages", w.handleListMessages)
	mux.HandleFunc("GET "+prefix+"/apps/{appid}/settings", w.handleGetSettings)
	mux.HandleFunc("PUT "+prefix+"/apps/{appid}/settings", w.handlePutSettings)
	mux.HandleFunc("PUT "+prefix+"/apps/{appid}/templates/{template_id}", w.handlePutTemplate)
	mux.HandleFunc("GET "+prefix+"/apps/{appid}/push", w.handleGetPush)
	mux.HandleFunc("PUT "+prefix+"/apps/{appid}/push", w.handlePutPush)
	mux.HandleFunc("GET "+prefix+"/pushes", w.handleListPushes)
	mux.HandleFunc("POST "+prefix+"/subscriptions/off", w.handleTurnOff)
}

// createUserRequest is POST /sim/wechat/users' body; every field is optional.
type createUserRequest struct {
	OpenID   string `json:"openid"`
	UnionID  string `json:"unionid"`
	RealName string `json:"real_name"`
	IDNumber string `json:"id_number"`
}

// userResponse names a registered user.
type userResponse struct {
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid"`
}

// handleCreateUser registers a WeChat user: 201 with its mini-program openid
// and unionid (generated when absent); 409 for a taken openid or unionid; 400
// for an id_number without real_name.
func (w *WeChat) handleCreateUser(rw http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "body must be a JSON object")
		return
	}
	switch {
	case len(req.OpenID) > maxIDLen || len(req.UnionID) > maxIDLen:
		writeControlError(rw, http.StatusBadRequest, "bad_request", "openid and unionid are at most 128 bytes")
		return
	case req.IDNumber != "" && blank(req.RealName):
		writeControlError(rw, http.StatusBadRequest, "bad_request", "id_number needs real_name")
		return
	}
	u := &wxUser{openID: req.OpenID, unionID: req.UnionID, realName: req.RealName, idNumber: req.IDNumber}
	if u.openID == "" {
		u.openID = "o" + randomURLSafe(27)
	}
	if u.unionID == "" {
		u.unionID = "u" + randomURLSafe(27)
	}
	w.mu.Lock()
	if w.users[u.openID] != nil || w.unionIDs[u.unionID] {
		w.mu.Unlock()
		writeControlError(rw, http.StatusConflict, "conflict", "openid or unionid already registered")
		return
	}
	w.users[u.openID] = u
	w.unionIDs[u.unionID] = true
	w.mu.Unlock()
	w.log.Debug("sim wechat: user registered", "openid", u.openID)
	writeControl(rw, http.StatusCreated, userResponse{OpenID: u.openID, UnionID: u.unionID})
}

// createCodeRequest is POST /sim/wechat/codes' body.
type createCodeRequest struct {
	OpenID string `json:"openid"`
	Kind   string `json:"kind"`
	AppID  string `json:"appid"`
}

// codeResponse carries a one-time code.
type codeResponse struct {
	Code string `json:"code"`
}

// handleCreateCode issues a one-time login code (wx.login in the
// mini-program, or the app's WeChat authorization) living codeTTL. The appid
// defaults to the only configured app of that kind. 400 for a bad kind or
// appid, 404 for an unknown openid.
func (w *WeChat) handleCreateCode(rw http.ResponseWriter, r *http.Request) {
	var req createCodeRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "body must be a JSON object")
		return
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	var apps map[string]string
	switch req.Kind {
	case kindMiniProgram:
		apps = w.miniApps
	case kindApp:
		apps = w.openApps
	default:
		writeControlError(rw, http.StatusBadRequest, "bad_request", `kind must be "miniprogram" or "app"`)
		return
	}
	if w.users[req.OpenID] == nil {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown openid")
		return
	}
	appID := req.AppID
	if appID == "" {
		if len(apps) != 1 {
			writeControlError(rw, http.StatusBadRequest, "bad_request", "appid is required unless exactly one app of that kind is configured")
			return
		}
		for id := range apps {
			appID = id
		}
	}
	if _, ok := apps[appID]; !ok {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "appid is not a configured app of that kind")
		return
	}
	w.sweepLocked(now)
	code := randomURLSafe(32)
	w.codes[code] = &loginCode{openID: req.OpenID, kind: req.Kind, appID: appID, expires: now.Add(codeTTL)}
	writeControl(rw, http.StatusOK, codeResponse{Code: code})
}

// openIDRequest is a body naming one user.
type openIDRequest struct {
	OpenID string `json:"openid"`
}

// handleCreateRealnameCode issues the one-time consent code the mini-program
// receives after the user agrees to the real-name check; 404 for an unknown
// openid.
func (w *WeChat) handleCreateRealnameCode(rw http.ResponseWriter, r *http.Request) {
	var req openIDRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "body must be a JSON object")
		return
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.users[req.OpenID] == nil {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown openid")
		return
	}
	w.sweepLocked(now)
	code := randomURLSafe(32)
	w.realnameCodes[code] = &realnameCode{openID: req.OpenID, expires: now.Add(codeTTL)}
	writeControl(rw, http.StatusOK, codeResponse{Code: code})
}

// completeFaceRequest is the body of POST /sim/wechat/face/{verify_id}/complete.
type completeFaceRequest struct {
	Outcome string `json:"outcome"`
}

// handleCompleteFace plays wx.requestFacialVerify: 204; 404 for an unknown or
// expired verify_id; 400 for a bad outcome; 409 when already completed.
func (w *WeChat) handleCompleteFace(rw http.ResponseWriter, r *http.Request) {
	var req completeFaceRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "body must be a JSON object")
		return
	}
	if req.Outcome != outcomeSuccess && req.Outcome != outcomeFail {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `outcome must be "success" or "fail"`)
		return
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.verifies[r.PathValue("verify_id")]
	switch {
	case v == nil || !now.Before(v.expires):
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown verify_id")
	case v.outcome != "":
		writeControlError(rw, http.StatusConflict, "conflict", "verification already completed")
	default:
		v.outcome = req.Outcome
		writeControl(rw, http.StatusNoContent, nil)
	}
}

// subscribeRequest is POST /sim/wechat/subscriptions' body: one template
// (template_id) or up to three (template_ids) in one popup.
type subscribeRequest struct {
	OpenID      string   `json:"openid"`
	TemplateID  string   `json:"template_id"`
	TemplateIDs []string `json:"template_ids"`
	Status      string   `json:"status"` // accept (default) or reject
	Count       *int     `json:"count"`
}

// handleSubscribe plays the user answering the popup of
// wx.requestSubscribeMessage: each accepted template gets count (default 1)
// send credits, a rejected one none, and one subscribe_msg_popup_event
// listing every template is pushed. 204; 404 for an unknown openid or a
// template no mini-program has added; 400 for no template, more than three,
// templates of two mini-programs, a bad status or a count below 1.
func (w *WeChat) handleSubscribe(rw http.ResponseWriter, r *http.Request) {
	var req subscribeRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "body must be a JSON object")
		return
	}
	count := 1
	if req.Count != nil {
		count = *req.Count
	}
	templates := req.TemplateIDs
	if req.TemplateID != "" {
		templates = append([]string{req.TemplateID}, templates...)
	}
	if req.Status == "" {
		req.Status = "accept"
	}
	if len(templates) == 0 || len(templates) > 3 || count < 1 || count > 1000000 || (req.Status != "accept" && req.Status != "reject") {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `one to three templates (template_id or template_ids), status "accept" or "reject", count 1..1000000`)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.users[req.OpenID] == nil {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown openid")
		return
	}
	appID := ""
	for _, t := range templates {
		a := w.templateAppLocked(t)
		switch {
		case blank(t) || a == "":
			writeControlError(rw, http.StatusNotFound, "not_found", "no mini-program has added template "+t)
			return
		case appID != "" && a != appID:
			writeControlError(rw, http.StatusBadRequest, "bad_request", "one popup asks for templates of one mini-program")
			return
		}
		appID = a
	}
	items := make([]pushItem, 0, len(templates))
	for _, t := range templates {
		if req.Status == "accept" {
			w.credits[creditKey{openID: req.OpenID, templateID: t}] += count
		}
		items = append(items, pushItem{{"TemplateId", t}, {"SubscribeStatusString", req.Status}, {"PopupScene", "0"}})
	}
	w.pushLocked(appID, req.OpenID, eventSubscribePopup, items)
	writeControl(rw, http.StatusNoContent, nil)
}

// messagesResponse lists the messages a user received, in delivery order.
type messagesResponse struct {
	Messages []sentMessage `json:"messages"`
}

// handleListMessages answers the subscribe messages delivered to ?openid=;
// 400 without openid, 404 for an unknown one.
func (w *WeChat) handleListMessages(rw http.ResponseWriter, r *http.Request) {
	openID := r.URL.Query().Get("openid")
	if openID == "" {
		writeControlError(rw, http.StatusBadRequest, "bad_request", "openid is required")
		return
	}
	w.mu.Lock()
	if w.users[openID] == nil {
		w.mu.Unlock()
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown openid")
		return
	}
	msgs := append([]sentMessage{}, w.messages[openID]...)
	w.mu.Unlock()
	writeControl(rw, http.StatusOK, messagesResponse{Messages: msgs})
}
