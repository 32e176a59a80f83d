package appointments

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Package api maps them to HTTP statuses; Code gives the
// machine-readable code for the error body.
var (
	ErrNotFound              = errors.New("appointments: not found")
	ErrInvalid               = errors.New("appointments: invalid input")
	ErrAlreadyExists         = errors.New("appointments: already exists")
	ErrRealnameRequired      = errors.New("appointments: real-name authentication level too low")
	ErrOutsideWindow         = errors.New("appointments: date outside the booking window")
	ErrDuplicateBooking      = errors.New("appointments: already booked this service on that day")
	ErrBookingLimit          = errors.New("appointments: too many active bookings")
	ErrSlotFull              = errors.New("appointments: slot is full")
	ErrSlotClosed            = errors.New("appointments: slot is closed")
	ErrSlotMismatch          = errors.New("appointments: slot belongs to another hall or service")
	ErrCancelTooLate         = errors.New("appointments: too late to cancel")
	ErrBookingSuspended      = errors.New("appointments: booking suspended")
	ErrAlreadyCheckedIn      = errors.New("appointments: already checked in")
	ErrWrongHall             = errors.New("appointments: appointment belongs to another hall")
	ErrNotCancellable        = errors.New("appointments: appointment cannot be cancelled")
	ErrNotActive             = errors.New("appointments: appointment is cancelled or missed")
	ErrNotCheckedIn          = errors.New("appointments: appointment is not checked in")
	ErrCheckinNotToday       = errors.New("appointments: check-in code is valid only on the appointment day")
	ErrIdempotencyMismatch   = errors.New("appointments: idempotency key reused with another request")
	ErrIdempotencyInProgress = errors.New("appointments: a request with this idempotency key is in progress")
	ErrForbidden             = errors.New("appointments: forbidden")
	ErrCapacityInUse         = errors.New("appointments: seats at or above the new capacity are booked")
)

// ValidationError says which input field is wrong. It wraps ErrInvalid.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Message)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, msg string) error { return &ValidationError{Field: field, Message: msg} }

// SuspendedError is returned when the citizen may not book until Until. It
// satisfies errors.Is(err, ErrBookingSuspended).
type SuspendedError struct {
	Until time.Time
}

func (e *SuspendedError) Error() string {
	return "appointments: booking suspended until " + e.Until.In(shanghai()).Format("2006-01-02 15:04")
}

// Unwrap makes errors.Is(err, ErrBookingSuspended) true.
func (e *SuspendedError) Unwrap() error { return ErrBookingSuspended }

type errCode struct {
	err  error
	code string
}

func codes() []errCode {
	return []errCode{
		{ErrNotFound, "not_found"},
		{ErrInvalid, "invalid_argument"},
		{ErrAlreadyExists, "already_exists"},
		{ErrRealnameRequired, "realname_required"},
		{ErrOutsideWindow, "outside_window"},
		{ErrDuplicateBooking, "duplicate_booking"},
		{ErrBookingLimit, "booking_limit"},
		{ErrSlotFull, "slot_full"},
		{ErrSlotClosed, "slot_closed"},
		{ErrSlotMismatch, "slot_mismatch"},
		{ErrCancelTooLate, "cancel_too_late"},
		{ErrBookingSuspended, "booking_suspended"},
		{ErrAlreadyCheckedIn, "already_checked_in"},
		{ErrWrongHall, "wrong_hall"},
		{ErrNotCancellable, "not_cancellable"},
		{ErrNotActive, "not_active"},
		{ErrNotCheckedIn, "not_checked_in"},
		{ErrCheckinNotToday, "checkin_not_today"},
		{ErrIdempotencyMismatch, "idempotency_mismatch"},
		{ErrIdempotencyInProgress, "idempotency_in_progress"},
		{ErrForbidden, "forbidden"},
		{ErrCapacityInUse, "capacity_in_use"},
	}
}

// Code returns the snake_case code of the sentinel err wraps ("slot_full",
// "booking_suspended", ...), or "" for an error that is none of them
// (an internal error).
func Code(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range codes() {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// errorForCode is the inverse of Code, used to replay a stored answer.
func errorForCode(code string, until time.Time) error {
	if code == "booking_suspended" && !until.IsZero() {
		return &SuspendedError{Until: until}
	}
	for _, c := range codes() {
		if c.code == code {
			return c.err
		}
	}
	return nil
}
