package sim

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// DefaultReleasedPages returns the pages of a mini-program's released
// version until its settings name others: those of Banshi's reference
// mini-program.
func DefaultReleasedPages() []string {
	return []string{
		"pages/index/index",
		"pages/me/index",
		"pages/progress/index",
		"pages/appointments/index",
		"pages/appointments/detail",
	}
}

// miniApp is what a mini-program's owner set in WeChat's console and the
// simulator honours.
type miniApp struct {
	unbound   bool                 // not bound to an Open Platform account: no unionid
	released  map[string]bool      // page paths of the released version
	templates map[string]*template // subscribe templates added to the app
	tokenTTL  time.Duration        // lifetime of new access tokens; 0: WeChatOptions.TokenTTL
	push      PushConfig           // message push (消息推送)
}

// template is a subscribe-message template: its keys ("thing1", "time2", …)
// and, for enum keys, the values allowed.
type template struct {
	keys  []string
	enums map[string][]string
}

func newMiniApp() *miniApp {
	app := &miniApp{released: map[string]bool{}, templates: map[string]*template{}}
	for _, p := range DefaultReleasedPages() {
		app.released[p] = true
	}
	return app
}

// appLocked returns the settings of mini-program appID, nil when it is not
// configured. Callers hold w.mu.
func (w *WeChat) appLocked(appID string) *miniApp { return w.apps[appID] }

// templateAppLocked returns the appid of the mini-program that added
// templateID (template ids are unique across WeChat), "" when none did.
// Callers hold w.mu.
func (w *WeChat) templateAppLocked(templateID string) string {
	for id, app := range w.apps {
		if app.templates[templateID] != nil {
			return id
		}
	}
	return ""
}

// AppSettings are the console settings of a mini-program that the
// simulator honours. A nil field is left as it is.
type AppSettings struct {
	// UnionIDBound: the mini-program is bound to an Open Platform account, so
	// jscode2session answers a unionid (the default).
	UnionIDBound *bool `json:"unionid_bound,omitempty"`
	// ReleasedPages: the page paths of the released version; a subscribe
	// message whose page (before any "?") is not one of them answers 41030.
	ReleasedPages []string `json:"released_pages,omitempty"`
}

// ConfigureMiniApp changes the settings of a configured mini-program; it
// reports false for an unknown appid.
func (w *WeChat) ConfigureMiniApp(appID string, s AppSettings) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.appLocked(appID)
	if app == nil {
		return false
	}
	if s.UnionIDBound != nil {
		app.unbound = !*s.UnionIDBound
	}
	if s.ReleasedPages != nil {
		app.released = map[string]bool{}
		for _, p := range s.ReleasedPages {
			app.released[strings.TrimPrefix(p, "/")] = true
		}
	}
	return true
}

// SetTokenTTL sets the lifetime of access tokens issued from now on to
// mini-program appID (0: back to WeChatOptions.TokenTTL). A test knob, not a
// console setting: WeChat's tokens live 7200 s. It reports false for an
// unknown appid.
func (w *WeChat) SetTokenTTL(appID string, ttl time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.appLocked(appID)
	if app == nil {
		return false
	}
	app.tokenTTL = ttl
	return true
}

// AddTemplate adds (or replaces) subscribe template templateID of
// mini-program appID with its keys; enums gives the allowed values of enum
// keys. It reports false for an unknown appid.
func (w *WeChat) AddTemplate(appID, templateID string, keys []string, enums map[string][]string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.appLocked(appID)
	if app == nil {
		return false
	}
	t := &template{keys: append([]string(nil), keys...), enums: map[string][]string{}}
	for k, v := range enums {
		t.enums[k] = append([]string(nil), v...)
	}
	app.templates[templateID] = t
	return true
}

// appSettingsView is the answer of GET and PUT /sim/wechat/apps/{appid}/settings.
type appSettingsView struct {
	UnionIDBound  bool     `json:"unionid_bound"`
	ReleasedPages []string `json:"released_pages"`
}

func (w *WeChat) settingsView(appID string) (appSettingsView, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	app := w.appLocked(appID)
	if app == nil {
		return appSettingsView{}, false
	}
	v := appSettingsView{UnionIDBound: !app.unbound, ReleasedPages: []string{}}
	for p := range app.released {
		v.ReleasedPages = append(v.ReleasedPages, p)
	}
	sort.Strings(v.ReleasedPages)
	return v, true
}

// handleGetSettings answers a mini-program's settings; 404 for an unknown appid.
func (w *WeChat) handleGetSettings(rw http.ResponseWriter, r *http.Request) {
	v, ok := w.settingsView(r.PathValue("appid"))
	if !ok {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown mini-program appid")
		return
	}
	writeControl(rw, http.StatusOK, v)
}

// handlePutSettings changes the fields given (AppSettings) and answers the
// settings; 404 for an unknown appid, 400 for a bad body.
func (w *WeChat) handlePutSettings(rw http.ResponseWriter, r *http.Request) {
	var req AppSettings
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"unionid_bound":bool,"released_pages":[...]}`)
		return
	}
	for _, p := range req.ReleasedPages {
		if blank(p) || strings.Contains(p, "?") {
			writeControlError(rw, http.StatusBadRequest, "bad_request", "released_pages are page paths without a query")
			return
		}
	}
	if !w.ConfigureMiniApp(r.PathValue("appid"), req) {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown mini-program appid")
		return
	}
	w.handleGetSettings(rw, r)
}

// templateRequest is the body of PUT /sim/wechat/apps/{appid}/templates/{template_id}.
type templateRequest struct {
	Keys  []string            `json:"keys"`
	Enums map[string][]string `json:"enums"`
}

// handlePutTemplate plays the owner adding a template from the library in
// the console: 204; 400 without keys or with an enum key without values; 404
// for an unknown appid.
func (w *WeChat) handlePutTemplate(rw http.ResponseWriter, r *http.Request) {
	var req templateRequest
	if err := decodeBody(r, &req); err != nil || len(req.Keys) == 0 {
		writeControlError(rw, http.StatusBadRequest, "bad_request", `body must be {"keys":["thing1","time2"],"enums":{"enum3":["…"]}}`)
		return
	}
	for _, k := range req.Keys {
		if blank(k) || (keyKind(k) == "enum" && len(req.Enums[k]) == 0) {
			writeControlError(rw, http.StatusBadRequest, "bad_request", "every key is a name like thing1, and every enum key needs its values")
			return
		}
	}
	if !w.AddTemplate(r.PathValue("appid"), r.PathValue("template_id"), req.Keys, req.Enums) {
		writeControlError(rw, http.StatusNotFound, "not_found", "unknown mini-program appid")
		return
	}
	writeControl(rw, http.StatusNoContent, nil)
}
