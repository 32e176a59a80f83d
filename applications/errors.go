package applications

import "banshi/internal/platform"

// Errors of applications; package api maps their codes to HTTP answers. Bad
// events are platform.Invalid errors naming the field (ParseEvent).
var (
	// ErrNotFound: no such application among the citizen's — also when it
	// exists but is someone else's, so that nobody learns which numbers exist.
	ErrNotFound = platform.NewError("not_found", "未找到该办件")
)
