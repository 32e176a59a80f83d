package api

import (
	"errors"
	"net/http"
	"time"

	"banshi/appointments"
	"banshi/internal/platform"
	"banshi/internal/staff"
)

// appointmentAnswers maps the booking engine's sentinels; the code is the
// engine's own (appointments.Code).
var appointmentAnswers = []struct {
	target  error
	status  int
	message string
}{
	{appointments.ErrNotFound, http.StatusNotFound, "未找到 (not found)"},
	{appointments.ErrAlreadyExists, http.StatusConflict, "已存在 (already exists)"},
	{appointments.ErrRealnameRequired, http.StatusForbidden, "预约需要完成实名认证（L3 及以上）(real-name level 3 required)"},
	{appointments.ErrOutsideWindow, http.StatusUnprocessableEntity, "不在可预约日期范围内 (outside the booking window)"},
	{appointments.ErrDuplicateBooking, http.StatusConflict, "您当天已预约该事项 (already booked this service that day)"},
	{appointments.ErrBookingLimit, http.StatusConflict, "有效预约已达上限 (too many active bookings)"},
	{appointments.ErrSlotFull, http.StatusConflict, "该时段已约满 (slot is full)"},
	{appointments.ErrSlotClosed, http.StatusConflict, "该时段已不可预约 (slot has started, passed or is closed)"},
	{appointments.ErrSlotMismatch, http.StatusBadRequest, "时段与大厅或事项不符 (slot belongs to another hall or service)"},
	{appointments.ErrCancelTooLate, http.StatusConflict, "距开始不足规定时间，无法取消 (too late to cancel)"},
	{appointments.ErrBookingSuspended, http.StatusForbidden, "因多次爽约，预约功能暂停 (booking suspended after no-shows)"},
	{appointments.ErrAlreadyCheckedIn, http.StatusConflict, "已签到 (already checked in)"},
	{appointments.ErrWrongHall, http.StatusForbidden, "该预约不属于您所在大厅 (appointment of another hall)"},
	{appointments.ErrNotCancellable, http.StatusConflict, "该预约无法取消 (appointment cannot be cancelled)"},
	{appointments.ErrNotActive, http.StatusConflict, "该预约已取消或已爽约 (appointment cancelled or missed)"},
	{appointments.ErrNotCheckedIn, http.StatusConflict, "该预约尚未签到 (appointment not checked in)"},
	{appointments.ErrCheckinNotToday, http.StatusConflict, "签到码仅在预约当天有效 (check-in code valid only on the day)"},
	{appointments.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "Idempotency-Key 已用于另一请求 (key reused with another request)"},
	{appointments.ErrIdempotencyInProgress, http.StatusConflict, "相同请求正在处理中 (a request with this key is in progress)"},
	{appointments.ErrForbidden, http.StatusForbidden, "无权操作 (forbidden)"},
	{appointments.ErrCapacityInUse, http.StatusConflict, "已有预约占用超出新容量的号位，不能降低容量 (seats above the new capacity are booked)"},
}

// staffAnswers maps the staff accounts' sentinels.
var staffAnswers = []struct {
	target error
	answer Error
}{
	{staff.ErrBadCredentials, Error{Status: http.StatusUnauthorized, Code: "bad_credentials", Message: "用户名或密码错误 (wrong username or password)"}},
	{staff.ErrUnauthenticated, Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "请先登录工作人员账号 (staff login required)"}},
	{staff.ErrForbidden, Error{Status: http.StatusForbidden, Code: "forbidden", Message: "无权操作 (forbidden for this role)"}},
	{staff.ErrExists, Error{Status: http.StatusConflict, Code: "already_exists", Message: "账号已存在 (account exists)"}},
	{staff.ErrNotFound, Error{Status: http.StatusNotFound, Code: "not_found", Message: "账号不存在 (no such account)"}},
}

// mapFeatureErrors maps the errors of features beyond login and real-name.
// It returns false for errors it does not know.
func mapFeatureErrors(err error) (*Error, bool) {
	var ve *appointments.ValidationError
	if errors.As(err, &ve) {
		return invalid(ve.Field, ve.Message), true
	}
	var sve *staff.ValidationError
	if errors.As(err, &sve) {
		return invalid(sve.Field, sve.Message), true
	}
	for _, m := range staffAnswers {
		if errors.Is(err, m.target) {
			a := m.answer
			return &a, true
		}
	}
	for _, m := range appointmentAnswers {
		if errors.Is(err, m.target) {
			e := &Error{Status: m.status, Code: appointments.Code(err), Message: m.message}
			var se *appointments.SuspendedError
			if errors.As(err, &se) {
				e.Until = se.Until.In(platform.Shanghai()).Format(time.RFC3339)
			}
			return e, true
		}
	}
	return nil, false
}
