package sim

import (
	"net/http"
	"strings"
)

// verify_openid and verify_real_name values of checkrealnameinfo.
const (
	verifyOpenIDNoRecord = "V_OP_NA"
	verifyOpenIDMatch    = "V_OP_NM_MA"
	verifyOpenIDMismatch = "V_OP_NM_UM"
	verifyNameIDMatch    = "V_NM_ID_MA"
	verifyNameIDMismatch = "V_NM_ID_UM"
)

// checkRealnameRequest is checkrealnameinfo's body.
type checkRealnameRequest struct {
	OpenID   string `json:"openid"`
	RealName string `json:"real_name"`
	CredID   string `json:"cred_id"`
	CredType string `json:"cred_type"`
	Code     string `json:"code"`
}

// checkRealnameResponse is checkrealnameinfo's success body.
type checkRealnameResponse struct {
	ErrCode        int    `json:"errcode"`
	ErrMsg         string `json:"errmsg"`
	VerifyOpenID   string `json:"verify_openid"`
	VerifyRealName string `json:"verify_real_name"`
}

// handleCheckRealname serves POST /intp/realname/checkrealnameinfo: compares
// the given name and ID number with the identity WeChat Pay holds for the
// user. The consent code must have been issued for that openid, unused and
// younger than codeTTL, else 80113 (无效code). verify_real_name is only
// filled when verify_openid is V_OP_NM_MA, as WeChat does.
func (w *WeChat) handleCheckRealname(rw http.ResponseWriter, r *http.Request, _ string) {
	var req checkRealnameRequest
	if err := decodeBody(r, &req); err != nil || blank(req.OpenID) || blank(req.RealName) ||
		blank(req.CredID) || req.CredType != "1" || blank(req.Code) {
		writeWXError(rw, errDataFormat, "data format error")
		return
	}
	now := w.now()
	w.mu.Lock()
	u := w.users[req.OpenID]
	if u == nil {
		w.mu.Unlock()
		writeWXError(rw, errInvalidOpenID, "invalid openid")
		return
	}
	c := w.realnameCodes[req.Code]
	if c == nil || c.openID != req.OpenID || !now.Before(c.expires) {
		w.mu.Unlock()
		writeWXError(rw, errInvalidConsent, "无效code")
		return
	}
	delete(w.realnameCodes, req.Code)
	resp := checkRealnameResponse{ErrMsg: "ok", VerifyOpenID: verifyOpenIDNoRecord}
	switch {
	case u.realName == "":
	case !sameName(u.realName, req.RealName):
		resp.VerifyOpenID = verifyOpenIDMismatch
	default:
		resp.VerifyOpenID = verifyOpenIDMatch
		resp.VerifyRealName = verifyNameIDMismatch
		if u.idNumber != "" && sameIDNumber(u.idNumber, req.CredID) {
			resp.VerifyRealName = verifyNameIDMatch
		}
	}
	w.mu.Unlock()
	writeWX(rw, resp)
}

// sameName compares names ignoring surrounding spaces.
func sameName(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }

// sameIDNumber compares ID numbers ignoring surrounding spaces and the case of
// the check character X.
func sameIDNumber(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}
