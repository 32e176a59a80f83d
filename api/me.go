package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/internal/session"
)

// SectionSource fills one section of the citizen page (appointments,
// applications, bills, ...). Later features register theirs.
type SectionSource interface {
	Name() string
	Section(c echo.Context, userID string) (any, error)
}

type meResponse struct {
	User     userView       `json:"user"`
	Sections map[string]any `json:"sections"`
}

// sectionNames are the sections every citizen page shows, empty until the
// feature that fills them is there.
var sectionNames = []string{"favorites", "appointments", "applications", "bills", "messages"}

// me answers the citizen's page. The rendering is cached with the session
// (one Redis round trip serves it) and dropped by PageChanged whenever
// something on the page changes; a cached view is at most 30 s old.
func (s *Server) me(c echo.Context) error {
	if sess, ok := c.Get(ctxSession).(session.Session); ok && sess.View != nil {
		return c.JSONBlob(http.StatusOK, sess.View)
	}
	ctx := c.Request().Context()
	uid := userID(c)
	u, err := s.deps.Users.Get(ctx, uid)
	if err != nil {
		return err
	}
	page, err := s.deps.Pages.Citizen(ctx, uid)
	if err != nil {
		return err
	}
	sections := make(map[string]any, len(sectionNames))
	for _, n := range sectionNames {
		sections[n] = []any{}
	}
	sections["favorites"] = page.Favorites
	for _, src := range s.deps.Sections {
		v, err := src.Section(c, uid)
		if err != nil {
			return err
		}
		sections[src.Name()] = v
	}
	view, err := json.Marshal(meResponse{User: viewUser(u), Sections: sections})
	if err != nil {
		return err
	}
	view = append(view, '\n')
	token, _ := c.Get(ctxToken).(string)
	if err := s.deps.Sessions.SetView(ctx, token, view); err != nil {
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
	p, err := s.deps.Pages.SetFavorites(c.Request().Context(), userID(c), req.ServiceCodes)
	if err != nil {
		return err
	}
	s.PageChanged(c, userID(c))
	return c.JSON(http.StatusOK, map[string][]string{"service_codes": p.Favorites})
}
