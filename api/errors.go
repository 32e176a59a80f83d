package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
)

// statusOf is the one table from error code to HTTP status. Every code a
// feature declares (platform.NewError) must be here: a test parses the whole
// module and fails on a code without a status or without a Chinese message.
var statusOf = map[string]int{
	platform.CodeInvalid: http.StatusBadRequest,
	"slot_mismatch":      http.StatusBadRequest,

	"unauthenticated":     http.StatusUnauthorized,
	"signature_invalid":   http.StatusUnauthorized,
	"signature_stale":     http.StatusUnauthorized,
	"replayed":            http.StatusUnauthorized,
	"wechat_code_invalid": http.StatusUnauthorized,
	"bad_credentials":     http.StatusUnauthorized,

	"forbidden":         http.StatusForbidden,
	"realname_required": http.StatusForbidden,
	"booking_suspended": http.StatusForbidden,
	"wrong_hall":        http.StatusForbidden,

	"not_found":              http.StatusNotFound,
	"user_not_found":         http.StatusNotFound,
	"verification_not_found": http.StatusNotFound,
	"device_not_found":       http.StatusNotFound,
	"bill_not_found":         http.StatusNotFound,

	"method_not_allowed": http.StatusMethodNotAllowed,

	"already_exists":             http.StatusConflict,
	"realname_taken":             http.StatusConflict,
	"identity_locked":            http.StatusConflict,
	"face_unfinished":            http.StatusConflict,
	"miniprogram_login_required": http.StatusConflict,
	"duplicate_booking":          http.StatusConflict,
	"booking_limit":              http.StatusConflict,
	"slot_full":                  http.StatusConflict,
	"slot_closed":                http.StatusConflict,
	"cancel_too_late":            http.StatusConflict,
	"already_checked_in":         http.StatusConflict,
	"not_cancellable":            http.StatusConflict,
	"not_active":                 http.StatusConflict,
	"not_checked_in":             http.StatusConflict,
	"queue_empty":                http.StatusConflict,
	"no_show_too_early":          http.StatusConflict,
	"not_called":                 http.StatusConflict,
	"checkin_not_today":          http.StatusConflict,
	"idempotency_in_progress":    http.StatusConflict,
	"capacity_in_use":            http.StatusConflict,
	"conflict":                   http.StatusConflict,
	"not_retryable":              http.StatusConflict,
	"bill_conflict":              http.StatusConflict,
	"bill_in_payment":            http.StatusConflict,
	"bill_paid":                  http.StatusConflict,
	"bill_cancelled":             http.StatusConflict,

	"payload_too_large":      http.StatusRequestEntityTooLarge,
	"unsupported_media_type": http.StatusUnsupportedMediaType,

	"realname_code_invalid": http.StatusUnprocessableEntity,
	"realname_mismatch":     http.StatusUnprocessableEntity,
	"outside_window":        http.StatusUnprocessableEntity,
	"idempotency_mismatch":  http.StatusUnprocessableEntity,
	"inbox_required":        http.StatusUnprocessableEntity,

	"rate_limited": http.StatusTooManyRequests,
	"login_locked": http.StatusTooManyRequests,

	"internal":             http.StatusInternalServerError,
	"upstream_error":       http.StatusBadGateway,
	"upstream_unavailable": http.StatusServiceUnavailable,
	"upstream_busy":        http.StatusServiceUnavailable,
	"not_ready":            http.StatusServiceUnavailable,
	"store_unavailable":    http.StatusServiceUnavailable,
	"audit_unavailable":    http.StatusServiceUnavailable,
	"login_busy":           http.StatusServiceUnavailable,

	// 查缴办: bills, orders, refunds.
	"order_not_found":             http.StatusNotFound,
	"channel_not_paid":            http.StatusConflict,
	"bill_busy":                   http.StatusConflict,
	"order_not_refundable":        http.StatusConflict,
	"refundable_changed":          http.StatusConflict,
	"refund_exceeds_refundable":   http.StatusUnprocessableEntity,
	"payment_channel_refused":     http.StatusBadGateway,
	"payment_channel_unavailable": http.StatusServiceUnavailable,
	// Reconciliation (api/finance_reconcile.go, payments/reconcile*.go).
	"reconciliation_not_found":          http.StatusNotFound,
	"reconciliation_item_not_found":     http.StatusNotFound,
	"reconciliation_running":            http.StatusConflict,
	"reconciliation_item_resolved":      http.StatusConflict,
	"reconciliation_action_not_allowed": http.StatusUnprocessableEntity,
	"reconciliation_bill_unusable":      http.StatusBadGateway,

	// Personal data (api/privacy.go, privacy/).
	"fresh_check_required": http.StatusForbidden,
	"consent_not_found":    http.StatusNotFound,
	"consent_withdrawn":    http.StatusConflict,

	// Enterprises (api/enterprises.go, enterprises/).
	"not_legal_representative": http.StatusForbidden,
	"enterprise_not_found":     http.StatusNotFound,
	"enterprise_claimed":       http.StatusConflict,
	"enterprise_inactive":      http.StatusConflict,
	"registry_unavailable":     http.StatusServiceUnavailable,
	// Enterprise members, page and policies (api/enterprise_*.go).
	"not_enterprise_member":     http.StatusForbidden,
	"enterprise_role_forbidden": http.StatusForbidden,
	"administrator_limit":       http.StatusConflict,
	"already_member":            http.StatusConflict,
	"member_not_found":          http.StatusNotFound,
	"invitation_not_found":      http.StatusNotFound,
	"member_state_conflict":     http.StatusConflict,
	"member_busy":               http.StatusConflict,
	"policy_not_found":          http.StatusNotFound,
	"policy_limit":              http.StatusConflict,
	"not_acting_for_enterprise": http.StatusForbidden,
	"enterprise_booking_limit":  http.StatusConflict,

	// WeChat's message push (POST /api/v1/hooks/wechat).
	"wechat_push_malformed":  http.StatusBadRequest,
	"wechat_push_unverified": http.StatusUnauthorized,

	// 好差评 (api/evaluations.go, evaluations/).
	"evaluation_subject_not_found": http.StatusNotFound,
	"ticket_not_found":             http.StatusNotFound,
	"evaluation_not_open":          http.StatusConflict,
	"already_evaluated":            http.StatusConflict,
	"ticket_state":                 http.StatusConflict,
	// 电子证照 (api/licences.go, licences/).
	"licence_not_found":          http.StatusNotFound,
	"licence_exists":             http.StatusConflict,
	"issuer_key_missing":         http.StatusForbidden,
	"licence_signature_invalid":  http.StatusUnprocessableEntity,
	"licence_not_valid":          http.StatusConflict,
	"licence_revoked":            http.StatusConflict,
	"licence_token_invalid":      http.StatusBadRequest,
	"licence_token_expired":      http.StatusGone,
	"licence_token_used":         http.StatusConflict,
	"licence_signer_unavailable": http.StatusServiceUnavailable,
	"authorization_not_found":    http.StatusNotFound,
	"authorization_inactive":     http.StatusConflict,
	"integration_not_found":      http.StatusNotFound,
}

// retryAfterOf gives the Retry-After (seconds) of answers worth retrying
// later. A 429 or 503 whose error carries Until (a login lock, a per-account
// limit) answers the seconds left until then instead.
var retryAfterOf = map[string]int{
	"upstream_unavailable": 5,
	"upstream_busy":        60,
	"login_busy":           1,
	"store_unavailable":    2,
	"audit_unavailable":    2,
	"registry_unavailable": 5,
}

// Errors of the HTTP layer itself.
var (
	errInternal         = platform.NewError("internal", "服务器内部错误，请稍后再试")
	errRouteNotFound    = platform.NewError("not_found", "请求的接口不存在")
	errMethodNotAllowed = platform.NewError("method_not_allowed", "该接口不支持此请求方法")
	errTooLarge         = platform.NewError("payload_too_large", "请求内容过大")
	errUnsupportedType  = platform.NewError("unsupported_media_type", "请使用 JSON 格式提交")
	errRateLimited      = platform.NewError("rate_limited", "请求过于频繁，请稍后再试")
	errTimeout          = platform.NewError("upstream_unavailable", "服务响应超时，请稍后再试")
	errNotReady         = platform.NewError("not_ready", "依赖的服务暂时不可用")
	// errStoreUnavailable answers an error that says MongoDB or Redis could
	// not be reached or did not answer in time (platform.StoreUnavailable).
	errStoreUnavailable = platform.NewError("store_unavailable", "数据服务暂时不可用，请稍后再试")
	// errAuditUnavailable refuses an answer with citizens' data whose audit
	// record could not be written (staffaudit.go).
	errAuditUnavailable = platform.NewError("audit_unavailable", "操作记录暂时无法保存，为保护个人信息，本次结果暂不显示，请稍后再试")
)

// invalid is a 400 invalid_argument naming the field and the check.
func invalid(field, check, message string) error { return platform.Invalid(field, check, message) }

// retryLater is an error answered with a Retry-After of the given seconds.
type retryLater struct {
	err   *platform.Error
	after int
}

func (r *retryLater) Error() string { return r.err.Error() }
func (r *retryLater) Unwrap() error { return r.err }

// answer is the JSON error every endpoint answers with.
type answer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Check   string `json:"check,omitempty"`
	Until   string `json:"until,omitempty"`

	status     int
	retryAfter int
}

// answerFor maps any error to its HTTP answer. known is false for an error
// that is not a platform.Error (an internal error, answered 500).
func answerFor(err error) (a answer, known bool) {
	var he *echo.HTTPError
	if errors.As(err, &he) && !isPlatform(err) {
		err = fromHTTPError(he)
	}
	if !isPlatform(err) && platform.StoreUnavailable(err) {
		// Checked before the deadline rule: a store call that timed out is a
		// store's outage, not an upstream's.
		err = errStoreUnavailable.Wrap(err)
	}
	if errors.Is(err, context.DeadlineExceeded) && !isPlatform(err) {
		err = errTimeout.Wrap(err)
	}
	pe, ok := platform.AsError(err)
	if !ok {
		pe, known = errInternal, false
	} else {
		known = true
	}
	status, mapped := statusOf[pe.Code]
	if !mapped {
		// A code without a status is Banshi's bug (a test guards it); answer
		// as an internal error rather than guess.
		pe, status, known = errInternal, http.StatusInternalServerError, false
	}
	a = answer{Code: pe.Code, Message: pe.Message, Field: pe.Field, Check: pe.Check, status: status, retryAfter: retryAfterOf[pe.Code]}
	if !pe.Until.IsZero() {
		a.Until = pe.Until.In(platform.Shanghai()).Format(time.RFC3339)
	}
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && !pe.Until.IsZero() {
		a.retryAfter = max(1, int(math.Ceil(time.Until(pe.Until).Seconds())))
	}
	var rl *retryLater
	if errors.As(err, &rl) {
		a.retryAfter = rl.after
	}
	return a, known
}

// StatusOf is the HTTP status the API answers err with (500 for an unknown
// error or a code without a status). Other HTTP front ends of the same
// services (the staff console) use it so that one error map decides.
func StatusOf(err error) int {
	a, _ := answerFor(err)
	return a.status
}

func isPlatform(err error) bool {
	_, ok := platform.AsError(err)
	return ok
}

func fromHTTPError(he *echo.HTTPError) error {
	switch he.Code {
	case http.StatusNotFound:
		return errRouteNotFound
	case http.StatusMethodNotAllowed:
		return errMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return errTooLarge
	case http.StatusUnsupportedMediaType:
		return errUnsupportedType
	case http.StatusBadRequest:
		return platform.Invalid("body", "format", "请求格式错误")
	case http.StatusUnauthorized:
		return platform.NewError("unauthenticated", "请先登录")
	case http.StatusForbidden:
		return platform.NewError("forbidden", "您无权进行此操作")
	}
	return errInternal.Wrap(he)
}

// errorHandler writes every error as {"error":{...}}; internal details are
// logged, never returned.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	a, known := answerFor(err)
	if !known || a.status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "err", err.Error(),
			"route", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "status", a.status)
	}
	if a.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(a.retryAfter))
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(a.status)
	} else {
		werr = c.JSON(a.status, map[string]answer{"error": a})
	}
	if werr != nil {
		s.log.ErrorContext(c.Request().Context(), "write error answer", "err", werr)
	}
}
