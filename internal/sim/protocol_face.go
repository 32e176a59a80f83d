package sim

import (
	"net/http"
)

// certInfo is the identity a face verification is for.
type certInfo struct {
	CertType string `json:"cert_type"`
	CertName string `json:"cert_name"`
	CertNo   string `json:"cert_no"`
}

// getVerifyIDRequest is getverifyid's body.
type getVerifyIDRequest struct {
	OutSeqNo string   `json:"out_seq_no"`
	CertInfo certInfo `json:"cert_info"`
	OpenID   string   `json:"openid"`
}

// getVerifyIDResponse is getverifyid's success body.
type getVerifyIDResponse struct {
	ErrCode   int    `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	VerifyID  string `json:"verify_id"`
	ExpiresIn int64  `json:"expires_in"`
}

// queryVerifyInfoRequest is queryverifyinfo's body.
type queryVerifyInfoRequest struct {
	VerifyID string `json:"verify_id"`
	OutSeqNo string `json:"out_seq_no"`
	CertHash string `json:"cert_hash"`
	OpenID   string `json:"openid"`
}

// queryVerifyInfoResponse is queryverifyinfo's success body.
type queryVerifyInfoResponse struct {
	ErrCode   int    `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	VerifyRet int    `json:"verify_ret"`
}

// handleGetVerifyID serves POST /cityservice/face/identify/getverifyid:
// starts a face verification of the user against cert_info, valid for
// verifyIDTTL. Missing fields answer 47001; an unknown openid 40003.
func (w *WeChat) handleGetVerifyID(rw http.ResponseWriter, r *http.Request, _ string) {
	var req getVerifyIDRequest
	if err := decodeBody(r, &req); err != nil || blank(req.OutSeqNo) || blank(req.OpenID) ||
		req.CertInfo.CertType != "IDENTITY_CARD" || blank(req.CertInfo.CertName) || blank(req.CertInfo.CertNo) {
		writeWXError(rw, errDataFormat, "data format error")
		return
	}
	now := w.now()
	w.mu.Lock()
	w.sweepLocked(now)
	if w.users[req.OpenID] == nil {
		w.mu.Unlock()
		writeWXError(rw, errInvalidOpenID, "invalid openid")
		return
	}
	id := randomURLSafe(32)
	w.verifies[id] = &faceVerify{
		openID:   req.OpenID,
		outSeqNo: req.OutSeqNo,
		certType: req.CertInfo.CertType,
		certName: req.CertInfo.CertName,
		certNo:   req.CertInfo.CertNo,
		expires:  now.Add(verifyIDTTL),
	}
	w.mu.Unlock()
	writeWX(rw, getVerifyIDResponse{ErrMsg: "ok", VerifyID: id, ExpiresIn: int64(verifyIDTTL.Seconds())})
}

// handleQueryVerifyInfo serves POST /cityservice/face/identify/queryverifyinfo.
// An unknown or expired verify_id answers 47001. When openid, out_seq_no or
// cert_hash do not match what getverifyid was given, WeChat answers an
// errcode instead of a verify_ret (its page says so without naming the code:
// 47003 argument invalid is our convention, errmsg naming the field).
// Otherwise verify_ret is, in this order: 90100 (our convention) when the
// phone step has not happened; 10003 when cert_info is not the user's
// registered identity; 10004 when the face did not match; else 10000.
func (w *WeChat) handleQueryVerifyInfo(rw http.ResponseWriter, r *http.Request, _ string) {
	var req queryVerifyInfoRequest
	if err := decodeBody(r, &req); err != nil || blank(req.VerifyID) {
		writeWXError(rw, errDataFormat, "data format error")
		return
	}
	now := w.now()
	w.mu.Lock()
	v := w.verifies[req.VerifyID]
	if v == nil || !now.Before(v.expires) {
		w.mu.Unlock()
		writeWXError(rw, errDataFormat, "verify_id invalid")
		return
	}
	var mismatch string
	switch {
	case req.OpenID != v.openID:
		mismatch = "openid"
	case req.OutSeqNo != v.outSeqNo:
		mismatch = "out_seq_no"
	case req.CertHash != certHash(v.certType, v.certName, v.certNo):
		mismatch = "cert_hash"
	}
	if mismatch != "" {
		w.mu.Unlock()
		writeWXError(rw, errArgumentInvalid, "argument invalid! "+mismatch+" does not match the verify_id")
		return
	}
	u := w.users[v.openID]
	ret := verifyRetOK
	switch {
	case v.outcome == "":
		ret = verifyRetNotFinished
	case u == nil || u.realName == "" || !sameName(u.realName, v.certName) || !sameIDNumber(u.idNumber, v.certNo):
		ret = verifyRetIDMismatch
	case v.outcome != outcomeSuccess:
		ret = verifyRetFaceFailed
	}
	w.mu.Unlock()
	writeWX(rw, queryVerifyInfoResponse{ErrMsg: "ok", VerifyRet: ret})
}
