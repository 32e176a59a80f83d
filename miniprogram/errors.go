package miniprogram

import (
	"errors"
	"fmt"
)

// Sentinel errors of this package; package api maps them to HTTP answers.
var (
	// ErrCodeInvalid: the login or consent code is unknown, expired or reused (WeChat 40029/40163).
	ErrCodeInvalid = errors.New("miniprogram: wechat code invalid")
	// ErrUpstream: WeChat is unreachable, timed out, or answered 5xx or a system error.
	ErrUpstream = errors.New("miniprogram: wechat unavailable")
	// ErrUpstreamBusy: WeChat refused for rate (45011) or the user is blocked as high-risk (40226).
	ErrUpstreamBusy = errors.New("miniprogram: wechat refused the call for now")
	// ErrRealnameMismatch: WeChat says the name and ID number are not this user's.
	ErrRealnameMismatch = errors.New("miniprogram: real-name mismatch")
	// ErrFaceUnfinished: the face verification has not been completed on the phone.
	ErrFaceUnfinished = errors.New("miniprogram: face verification not completed")
	// ErrVerifyUnknown: the verify_id is unknown, expired or not this user's.
	ErrVerifyUnknown = errors.New("miniprogram: verification unknown or expired")
	// ErrNeedsMiniProgram: the call needs a mini-program openid and the user only logged in through the app.
	ErrNeedsMiniProgram = errors.New("miniprogram: needs a mini-program login")
)

// WeChatError is an errcode answer from WeChat.
type WeChatError struct {
	Code int
	Msg  string
}

func (e *WeChatError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// classify maps a WeChat errcode to this package's sentinels, keeping the code.
func classify(code int, msg string) error {
	we := &WeChatError{Code: code, Msg: msg}
	switch code {
	case 40029, 40163:
		return errors.Join(ErrCodeInvalid, we)
	case 45011, 40226:
		return errors.Join(ErrUpstreamBusy, we)
	case -1:
		return errors.Join(ErrUpstream, we)
	default:
		return we
	}
}

// isTokenError reports a bad or expired access token (40001, 42001): drop the
// cached token and retry once.
func isTokenError(err error) bool {
	var we *WeChatError
	return errors.As(err, &we) && (we.Code == 40001 || we.Code == 42001)
}
