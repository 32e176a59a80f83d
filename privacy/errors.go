package privacy

import "banshi/internal/platform"

// Errors for clients; api/errors.go gives their statuses.
var (
	// ErrConsentNotFound: no consent of this person with that id.
	ErrConsentNotFound = platform.NewError("consent_not_found", "没有找到该授权记录")
	// ErrConsentWithdrawn: the consent was withdrawn before.
	ErrConsentWithdrawn = platform.NewError("consent_withdrawn", "该授权已撤回")
)
