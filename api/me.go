package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/internal/pages"
	"banshi/internal/session"
)

// CitizenPages renders citizen pages and keeps their favourites.
type CitizenPages interface {
	Render(ctx context.Context, userID string) ([]byte, error)
	SetFavorites(ctx context.Context, userID string, codes []string) ([]string, error)
}

var _ CitizenPages = (*pages.Citizens)(nil)

// me answers the citizen's page. The rendering is cached with the session
// (one Redis round trip serves it) and dropped by PageChanged whenever
// something on the page changes; a cached view is at most 30 s old.
func (s *Server) me(c echo.Context) error {
	sess, _ := c.Get(ctxSession).(session.Session)
	if sess.View != nil {
		return c.JSONBlob(http.StatusOK, sess.View)
	}
	ctx := c.Request().Context()
	view, err := s.deps.Pages.Render(ctx, userID(c))
	if err != nil {
		return err
	}
	token, _ := c.Get(ctxToken).(string)
	if err := s.deps.Sessions.SetView(ctx, token, view, sess.TouchedAt); err != nil {
		s.log.WarnContext(ctx, "cache page view", "err", err)
	}
	return c.JSONBlob(http.StatusOK, view)
}

// PageChanged forgets the cached page views of userID. Every handler that
// changes what the citizen page shows calls it after the change.
func (s *Server) PageChanged(c echo.Context, userID string) {
	ctx := c.Request().Context()
	if err := s.deps.Sessions.DropViews(ctx, userID); err != nil {
		s.log.WarnContext(ctx, "drop page views", "err", err, "user_id", userID)
	}
}

type favoritesRequest struct {
	ServiceCodes []string `json:"service_codes"`
}

func (s *Server) putFavorites(c echo.Context) error {
	var req favoritesRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	favs, err := s.deps.Pages.SetFavorites(c.Request().Context(), userID(c), req.ServiceCodes)
	if err != nil {
		return err
	}
	s.PageChanged(c, userID(c))
	return c.JSON(http.StatusOK, map[string][]string{"service_codes": favs})
}
