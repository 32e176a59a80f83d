package platform

import (
	"errors"
	"strings"
	"time"
)

// Error is the one error type Banshi's features return for anything a client
// must be told. Code is the stable machine-readable part ("slot_full",
// "invalid_argument"); Message is one sentence for people, in Chinese, safe to
// show (it never repeats the input); Field and Check name the input field and
// the check that failed, where there is one; Until is the end of a refusal
// that lasts (a suspension). Err is the cause, kept for logs only: it never
// reaches a client.
//
// Features declare their errors once, as package-level sentinels made with
// NewError (or Invalid for bad input), and return them as they are or with a
// cause or a time attached (Wrap, WithUntil, WithMessage), which copies:
// sentinels are never modified. errors.Is matches any two Errors of one code,
// so errors.Is(err, appointments.ErrSlotFull) holds for every copy. Package
// api maps the code to an HTTP status in one table; a test there fails when a
// code declared anywhere has no status or no Chinese message.
type Error struct {
	Code    string
	Message string
	Field   string
	Check   string
	Until   time.Time
	Err     error
}

// CodeInvalid is the code of every bad-input error.
const CodeInvalid = "invalid_argument"

// NewError declares an error of code with the message people see. Use it for
// package-level sentinels.
func NewError(code, message string) *Error { return &Error{Code: code, Message: message} }

// Invalid is a bad-input error (code invalid_argument) naming the field and
// the check that failed ("required", "format", "range", "length", ...).
func Invalid(field, check, message string) *Error {
	return &Error{Code: CodeInvalid, Field: field, Check: check, Message: message}
}

// Error returns "code: message" with the field, check and cause when present.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Field != "" {
		b.WriteString(" [" + e.Field)
		if e.Check != "" {
			b.WriteString("/" + e.Check)
		}
		b.WriteString("]")
	}
	b.WriteString(": " + e.Message)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same code (and, when target
// names a field, of the same field).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	return t.Code == e.Code && (t.Field == "" || t.Field == e.Field)
}

// Wrap returns a copy of e carrying cause (for logs).
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// WithUntil returns a copy of e whose refusal lasts until t.
func (e *Error) WithUntil(t time.Time) *Error {
	c := *e
	c.Until = t
	return &c
}

// WithMessage returns a copy of e with another message for people.
func (e *Error) WithMessage(message string) *Error {
	c := *e
	c.Message = message
	return &c
}

// AsError returns the first *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of the first *Error in err's chain, "" when there
// is none (an internal error).
func CodeOf(err error) string {
	if e, ok := AsError(err); ok {
		return e.Code
	}
	return ""
}
