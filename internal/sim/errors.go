package sim

import (
	"encoding/json"
	"net/http"
)

// WeChat error codes the simulator answers with. Those marked "our convention"
// are not documented by WeChat; Banshi and the simulator agree on them.
const (
	errOK                = 0
	errInvalidCredential = 40001 // access_token unknown or superseded
	errInvalidGrantType  = 40002
	errInvalidOpenID     = 40003
	errInvalidAppID      = 40013
	errMalformedToken    = 40014 // access_token not shaped like one
	errInvalidCode       = 40029
	errInvalidTemplateID = 40037
	errInvalidAppSecret  = 40125
	errCodeUsed          = 40163 // login code already used
	errMissingToken      = 41001 // access_token missing
	errInvalidPage       = 41030 // subscribe page not in the released version
	errMissingAppID      = 41002
	errMissingSecret     = 41004
	errMissingCode       = 41008
	errTokenExpired      = 42001
	errUserRefused       = 43101
	errForceRefreshQuota = 45009 // stable_token force_refresh beyond its limits
	errMinuteQuota       = 45011
	errDataFormat        = 47001
	errInvalidConsent    = 80113 // checkrealnameinfo: consent code invalid or used ("无效code")
	errArgumentInvalid   = 47003 // also queryverifyinfo's answer to a verify_id whose cert_info, openid or out_seq_no differ (our convention)
)

// Face verification verify_ret values.
const (
	verifyRetOK          = 10000
	verifyRetIDMismatch  = 10003
	verifyRetFaceFailed  = 10004
	verifyRetNotFinished = 90100 // our convention: the phone step did not happen
)

// wxError is WeChat's error body.
type wxError struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// writeWX answers v as JSON with HTTP 200, as WeChat does for both success and
// errors.
func writeWX(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json; encoding=utf-8")
	rw.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(rw).Encode(v)
}

// writeWXError answers a WeChat error; msg gets a request id appended the way
// WeChat does ("invalid code, rid: ...").
func writeWXError(rw http.ResponseWriter, code int, msg string) {
	writeWX(rw, wxError{ErrCode: code, ErrMsg: msg + ", rid: " + newRID()})
}

// controlError is the body of a failed control call.
type controlError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeControl answers a control call with status and v as JSON; a nil v
// writes no body.
func writeControl(rw http.ResponseWriter, status int, v any) {
	if v == nil {
		rw.WriteHeader(status)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

// writeControlError answers a failed control call.
func writeControlError(rw http.ResponseWriter, status int, code, msg string) {
	var body controlError
	body.Error.Code = code
	body.Error.Message = msg
	writeControl(rw, status, body)
}
