package staff

import (
	"errors"
	"fmt"
)

// Sentinel errors; package api maps them to HTTP statuses.
var (
	ErrBadCredentials  = errors.New("staff: wrong username or password")
	ErrUnauthenticated = errors.New("staff: not logged in or session expired")
	ErrForbidden       = errors.New("staff: forbidden")
	ErrInvalid         = errors.New("staff: invalid input")
	ErrExists          = errors.New("staff: account already exists")
	ErrNotFound        = errors.New("staff: no such account")
)

// ValidationError says which input field is wrong. It wraps ErrInvalid.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Message) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, msg string) error { return &ValidationError{Field: field, Message: msg} }
