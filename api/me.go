package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
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

func (s *Server) me(c echo.Context) error {
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
	return c.JSON(http.StatusOK, meResponse{User: viewUser(u), Sections: sections})
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
	return c.JSON(http.StatusOK, map[string][]string{"service_codes": p.Favorites})
}
