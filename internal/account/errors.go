package account

import "errors"

// Sentinel errors of the account package. Package api maps them to HTTP.
var (
	// ErrNotFound: no such user, or (Identity) no identity recorded for it.
	ErrNotFound = errors.New("account: not found")
	// ErrRealnameTaken: the ID number is already claimed by another user.
	ErrRealnameTaken = errors.New("account: id number belongs to another person")
	// ErrIdentityLocked: the user already has a verified identity that differs
	// (other ID number or other name) from the one offered.
	ErrIdentityLocked = errors.New("account: a different identity is already verified for this person")
)

// errCiphertext is returned by Cipher.Decrypt for short, corrupt or tampered data.
var errCiphertext = errors.New("account: PII ciphertext is invalid or was tampered with")

// ValidationError is a bad name or ID number. Field is "name" or "id_number";
// Check names the failed check: "required", "length", "format", "check_digit",
// "birth_date", "birth_date_future", "region", "name_chars", "name_length".
// Message is a sentence for people, in Chinese and English, safe to show to
// the citizen (it never repeats the input).
type ValidationError struct{ Field, Check, Message string }

// Error returns "account: invalid <field> (<check>): <message>".
func (e *ValidationError) Error() string {
	return "account: invalid " + e.Field + " (" + e.Check + "): " + e.Message
}
