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
// and applies the per-user API rate limit. Missing, expired or revoked tokens
// get 401 unauthenticated. Every answer is no-store.
func (s *Server) requireCitizen(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		token := bearer(c)
		if token == "" {
			return session.ErrUnauthenticated
		}
		sess, err := s.deps.Sessions.Touch(c.Request().Context(), token)
		if err != nil {
			return err
		}
		c.Set(ctxUserID, sess.UserID)
		c.Set(ctxToken, token)
		c.Set(ctxSession, sess)
		if err := s.allow(c, "rl:api:"+sess.UserID, s.deps.Limits.APIPerUser, failOpen); err != nil {
			return err
		}
		return next(c)
	}
}

func userID(c echo.Context) string {
	uid, _ := c.Get(ctxUserID).(string)
	return uid
}
