package evaluations

import "banshi/internal/platform"

// Errors of evaluations; package api maps their codes to HTTP answers. Bad
// input is platform.Invalid naming the field and the check (400).
var (
	// ErrSubjectNotFound: no such application or appointment among the
	// citizen's — also when it exists but is someone else's, so nobody
	// learns which numbers exist.
	ErrSubjectNotFound = platform.NewError("evaluation_subject_not_found", "未找到您可评价的办件或预约")
	// ErrUnfinished: the application has no final result yet, or the
	// appointment was not completed.
	ErrUnfinished = platform.NewError("evaluation_not_open", "办理尚未完成，暂不能评价")
	// ErrAlreadyEvaluated: this result was rated (by the citizen or by
	// default), or both evaluations were used.
	ErrAlreadyEvaluated = platform.NewError("already_evaluated", "该办理结果已评价，有新的办理结果后方可再次评价")
	// ErrTicketNotFound: no such ticket (or one of another hall's).
	ErrTicketNotFound = platform.NewError("ticket_not_found", "未找到该整改工单")
	// ErrTicketState: the step does not follow the ticket's state
	// (verify → rectify → reply → call back; appeal before the reply;
	// review of an appeal only).
	ErrTicketState = platform.NewError("ticket_state", "工单当前状态不允许此操作")
	// ErrForbidden: the staff member may not handle this ticket.
	ErrForbidden = platform.NewError("forbidden", "无权处理该整改工单")
)
