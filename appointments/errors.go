package appointments

import (
	"time"

	"banshi/internal/platform"
)

// The errors of hall booking, as platform.Errors: package api maps each code
// to an HTTP status. Bad input is an Invalid error naming the field.
var (
	ErrNotFound              = platform.NewError("not_found", "未找到该大厅、事项、时段或预约")
	ErrInvalid               = platform.NewError(platform.CodeInvalid, "请求参数有误")
	ErrAlreadyExists         = platform.NewError("already_exists", "该编号已存在")
	ErrRealnameRequired      = platform.NewError("realname_required", "预约该事项需要先完成更高等级的实名认证")
	ErrOutsideWindow         = platform.NewError("outside_window", "该日期不在可预约范围内")
	ErrDuplicateBooking      = platform.NewError("duplicate_booking", "您当天已预约过该事项")
	ErrBookingLimit          = platform.NewError("booking_limit", "您的有效预约已达上限，请先办理或取消已有预约")
	ErrSlotFull              = platform.NewError("slot_full", "该时段已约满，请选择其他时段")
	ErrSlotClosed            = platform.NewError("slot_closed", "该时段已开始、已结束或当天不办公")
	ErrSlotMismatch          = platform.NewError("slot_mismatch", "所选时段不属于该大厅或该事项")
	ErrCancelTooLate         = platform.NewError("cancel_too_late", "距预约开始时间太近，已不能取消")
	ErrBookingSuspended      = platform.NewError("booking_suspended", "因多次预约未到，预约功能暂停使用")
	ErrAlreadyCheckedIn      = platform.NewError("already_checked_in", "该预约已签到")
	ErrWrongHall             = platform.NewError("wrong_hall", "该预约不属于您所在的大厅")
	ErrNotCancellable        = platform.NewError("not_cancellable", "该预约当前状态不能取消")
	ErrNotActive             = platform.NewError("not_active", "该预约已取消或已爽约")
	ErrNotCheckedIn          = platform.NewError("not_checked_in", "该预约尚未签到")
	ErrCheckinNotToday       = platform.NewError("checkin_not_today", "签到码仅在预约当天、在预约大厅有效")
	ErrIdempotencyMismatch   = platform.NewError("idempotency_mismatch", "该幂等键已用于另一个请求")
	ErrIdempotencyInProgress = platform.NewError("idempotency_in_progress", "相同的请求正在处理中，请稍后再试")
	ErrForbidden             = platform.NewError("forbidden", "您无权进行此操作")
	ErrCapacityInUse         = platform.NewError("capacity_in_use", "已有预约占用超出新容量的号位，不能降低容量")
)

// invalid is a bad-input error naming the field and the check that failed.
func invalid(field, check, msg string) error { return platform.Invalid(field, check, msg) }

// suspended is ErrBookingSuspended lasting until t (shown in Asia/Shanghai).
func suspended(until time.Time) error { return ErrBookingSuspended.WithUntil(until.In(shanghai())) }

// replayable are the refusals of Book an Idempotency-Key answers again: the
// codes stored for a key are looked up here. Any other code (an internal
// error) lets a retry run the request again.
var replayable = []*platform.Error{
	ErrNotFound, ErrInvalid, ErrRealnameRequired, ErrOutsideWindow, ErrDuplicateBooking,
	ErrBookingLimit, ErrSlotFull, ErrSlotClosed, ErrSlotMismatch, ErrBookingSuspended,
	ErrNotActingFor, ErrEnterpriseLimit,
}

// Code returns the code of err ("slot_full", "booking_suspended", ...), or ""
// for an internal error.
func Code(err error) string { return platform.CodeOf(err) }

// errorForCode is the inverse of Code for the replayable errors, used to
// replay a stored answer; nil for a code that is not replayed.
func errorForCode(code string, until time.Time) error {
	if code == ErrBookingSuspended.Code && !until.IsZero() {
		return suspended(until)
	}
	for _, e := range replayable {
		if e.Code == code {
			return e
		}
	}
	return nil
}
