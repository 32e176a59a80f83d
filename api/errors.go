package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"banshi/internal/account"
	"banshi/internal/pages"
	"banshi/internal/session"
	"banshi/miniprogram"
)

// Error is the JSON error every endpoint answers with.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Check   string `json:"check,omitempty"`
	Until   string `json:"until,omitempty"`
	// RetryAfter, when set, becomes the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// invalid is a 400 invalid_argument naming the field.
func invalid(field, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_argument", Field: field, Message: message}
}

// errorMapping maps feature sentinel errors to HTTP answers: the one place
// where features meet status codes. The first match wins, so a more specific
// error (one that wraps another) comes before the one it wraps.
var errorMapping = []struct {
	target error
	answer Error
}{
	{session.ErrUnauthenticated, Error{Status: 401, Code: "unauthenticated", Message: "请先登录 (missing, expired or revoked token)"}},
	{miniprogram.ErrConsentInvalid, Error{Status: 422, Code: "realname_code_invalid", Message: "实名授权码无效或已使用 (consent code invalid, expired or reused)"}},
	{miniprogram.ErrCodeInvalid, Error{Status: 401, Code: "wechat_code_invalid", Message: "微信登录凭证无效或已使用 (login code invalid, expired or reused)"}},
	{miniprogram.ErrUpstream, Error{Status: 503, Code: "upstream_unavailable", Message: "微信服务暂不可用，请稍后再试 (WeChat unavailable)", RetryAfter: 5}},
	{miniprogram.ErrUpstreamBusy, Error{Status: 503, Code: "upstream_busy", Message: "微信服务繁忙，请稍后再试 (WeChat refused the call for now)", RetryAfter: 60}},
	{miniprogram.ErrRealnameMismatch, Error{Status: 422, Code: "realname_mismatch", Message: "实名信息不一致 (real-name check failed)"}},
	{miniprogram.ErrFaceUnfinished, Error{Status: 409, Code: "face_unfinished", Message: "人脸核身尚未完成 (face verification not completed)"}},
	{miniprogram.ErrVerifyUnknown, Error{Status: 404, Code: "verification_not_found", Message: "核身记录不存在或已过期 (verification unknown or expired)"}},
	{miniprogram.ErrNeedsMiniProgram, Error{Status: 409, Code: "miniprogram_login_required", Message: "请在小程序中登录后再实名 (needs a mini-program login)"}},
	{account.ErrRealnameTaken, Error{Status: 409, Code: "realname_taken", Message: "该身份证号已被其他微信用户实名 (ID number belongs to another person)"}},
	{account.ErrIdentityLocked, Error{Status: 409, Code: "identity_locked", Message: "您已登记其他身份信息 (a different identity is already recorded)"}},
	{account.ErrNotFound, Error{Status: 401, Code: "unauthenticated", Message: "用户不存在 (user not found)"}},
	{context.DeadlineExceeded, Error{Status: 503, Code: "upstream_unavailable", Message: "服务超时，请稍后再试 (timed out)", RetryAfter: 5}},
}

// toError maps any error to its HTTP answer; unknown errors become 500.
func toError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var ave *account.ValidationError
	if errors.As(err, &ave) {
		return &Error{Status: 400, Code: "invalid_argument", Field: ave.Field, Check: ave.Check, Message: ave.Message}, true
	}
	var pve *pages.ValidationError
	if errors.As(err, &pve) {
		return invalid(pve.Field, pve.Message), true
	}
	if a, ok := mapFeatureErrors(err); ok {
		return a, true
	}
	for _, m := range errorMapping {
		if errors.Is(err, m.target) {
			a := m.answer
			return &a, true
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromHTTPError(he), true
	}
	var we *miniprogram.WeChatError
	if errors.As(err, &we) {
		return &Error{Status: 502, Code: "upstream_error", Message: "微信服务返回错误 (WeChat answered errcode " + strconv.Itoa(we.Code) + ")"}, true
	}
	return &Error{Status: 500, Code: "internal", Message: "服务器内部错误 (internal error)"}, false
}

func fromHTTPError(he *echo.HTTPError) *Error {
	switch he.Code {
	case http.StatusNotFound:
		return &Error{Status: 404, Code: "not_found", Message: "接口不存在 (no such route)"}
	case http.StatusMethodNotAllowed:
		return &Error{Status: 405, Code: "method_not_allowed", Message: "不支持该请求方法 (method not allowed)"}
	case http.StatusRequestEntityTooLarge:
		return &Error{Status: 413, Code: "payload_too_large", Message: "请求体过大 (request body too large)"}
	case http.StatusUnsupportedMediaType:
		return &Error{Status: 415, Code: "unsupported_media_type", Message: "请使用 application/json (use application/json)"}
	}
	msg := http.StatusText(he.Code)
	if s, ok := he.Message.(string); ok && s != "" {
		msg = s
	}
	code := "error"
	switch {
	case he.Code == 400:
		code = "invalid_argument"
	case he.Code == 401:
		code = "unauthenticated"
	case he.Code == 403:
		code = "forbidden"
	case he.Code >= 500:
		code = "internal"
	}
	return &Error{Status: he.Code, Code: code, Message: msg}
}

// errorHandler writes every error as {"error":{...}}; internal details are
// logged, never returned.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e, known := toError(err)
	if !known || e.Status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "err", err.Error(),
			"route", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "status", e.Status)
	}
	if e.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(e.Status)
	} else {
		werr = c.JSON(e.Status, map[string]*Error{"error": e})
	}
	if werr != nil {
		s.log.ErrorContext(c.Request().Context(), "write error answer", "err", werr)
	}
}
