package api

import (
	"net/url"

	"github.com/labstack/echo/v4"
)

// pathParam is the path parameter name as the client meant it: Echo routes
// on the raw path when a client percent-encodes a segment (a message id's
// ':' sent as %3A, an outbox id's '|' as %7C) and hands the segment over
// still encoded. A segment that does not decode is returned as sent (it
// then names nothing: 404).
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}
