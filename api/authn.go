package api

import (
	"strings"

	"github.com/labstack/echo/v4"

	"banshi/internal/session"
)

// Keys of values the middleware puts in the echo context.
const (
	ctxUserID  = "banshi.user_id"
	ctxToken   = "banshi.token"
	ctxSession = "banshi.session"
)

// bearer extracts the token of "Authorization: Bearer <token>".
func bearer(c echo.Context) string {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// requireCitizen resolves the bearer token to a session (sliding its expiry)
// and applies the per-user API rate limit, both in one Redis round trip
// (session.Store.Authorize). Missing, expired or revoked tokens get 401
// unauthenticated; over the limit, 429 rate_limited with Retry-After; Redis
// unreachable, 503 store_unavailable. Every answer is no-store.
func (s *Server) requireCitizen(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		token := bearer(c)
		if token == "" {
			return session.ErrUnauthenticated
		}
		sess, dec, err := s.deps.Sessions.Authorize(c.Request().Context(), token, s.deps.Limits.APIPerUser)
		if err != nil {
			return err
		}
		if !dec.Allowed {
			return limited(dec.RetryAfter)
		}
		c.Set(ctxUserID, sess.UserID)
		c.Set(ctxToken, token)
		c.Set(ctxSession, sess)
		return next(c)
	}
}

func userID(c echo.Context) string {
	uid, _ := c.Get(ctxUserID).(string)
	return uid
}
