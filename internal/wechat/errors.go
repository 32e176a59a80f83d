package wechat

import (
	"errors"
	"fmt"

	"banshi/internal/platform"
)

// The errors of WeChat calls; package api maps their codes to HTTP answers.
// The WeChat errcode, when there is one, is kept in the chain as *APIError.
var (
	// ErrCodeInvalid: a login or consent code is unknown, expired or reused
	// (errcode 40029, 40163, 80113).
	ErrCodeInvalid = platform.NewError("wechat_code_invalid", "微信登录凭证无效、已过期或已使用，请重新进入小程序")
	// ErrUpstream: WeChat is unreachable, timed out, or answered 5xx or a system error.
	ErrUpstream = platform.NewError("upstream_unavailable", "微信服务暂时不可用，请稍后再试")
	// ErrUpstreamBusy: WeChat refused for rate (45011) or the user is blocked as high-risk (40226).
	ErrUpstreamBusy = platform.NewError("upstream_busy", "微信服务繁忙，请稍后再试")
	// ErrUpstreamRefused: WeChat answered an errcode Banshi has no other meaning for.
	ErrUpstreamRefused = platform.NewError("upstream_error", "微信服务返回错误，请稍后再试")
)

// ErrFaceMismatch is in the chain of FaceQuery's error when WeChat refused to
// answer a verify_ret because the cert_info (its cert_hash), openid or
// out_seq_no given do not match the verify_id: identity data changed between
// getverifyid and queryverifyinfo. Callers map it to their own error
// (account: ErrRealnameMismatch); unmapped it is an ErrUpstreamRefused.
var ErrFaceMismatch = errors.New("wechat: queryverifyinfo refused: cert_info, openid or out_seq_no do not match the verify_id")

// APIError is an errcode answer from WeChat.
type APIError struct {
	Code int
	Msg  string
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// classify maps a WeChat errcode to this package's errors, keeping the code
// as the cause.
func classify(code int, msg string) error {
	we := &APIError{Code: code, Msg: msg}
	switch code {
	case 40029, 40163, 80113:
		return ErrCodeInvalid.Wrap(we)
	case 45011, 40226:
		return ErrUpstreamBusy.Wrap(we)
	case -1:
		return ErrUpstream.Wrap(we)
	default:
		return ErrUpstreamRefused.Wrap(we)
	}
}

// Errcode returns the WeChat errcode in err's chain, or 0.
func Errcode(err error) int {
	var we *APIError
	if errors.As(err, &we) {
		return we.Code
	}
	return 0
}

// isGeneric reports errcodes that say nothing about the request's content:
// WeChat busy, quota, access-token and permission trouble, a malformed body.
func isGeneric(code int) bool {
	switch code {
	case -1, 40001, 42001, 41001, 40014, 45009, 45011, 40226, 48001, 47001:
		return true
	}
	return false
}

// isTokenError reports a bad or expired access token (40001, 42001): drop the
// cached token and retry once.
func isTokenError(err error) bool {
	c := Errcode(err)
	return c == 40001 || c == 42001
}
