package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/notify"
)

// Preferences is what the preference routes need of the notification
// preferences.
type Preferences interface {
	Get(ctx context.Context, userID string) (notify.Preferences, error)
	Update(ctx context.Context, userID string, u notify.PreferencesUpdate) (notify.Preferences, error)
}

var _ Preferences = (*notify.PreferenceStore)(nil)

// PreferenceRoutes are the citizen's notification preferences: the channels
// of each message kind and the quiet hours.
type PreferenceRoutes struct {
	Preferences Preferences
}

// Register adds the routes.
func (p PreferenceRoutes) Register(r Router) {
	r.Citizen(http.MethodGet, "/me/notification-preferences", p.get)
	r.Citizen(http.MethodPut, "/me/notification-preferences", p.put)
}

func (p PreferenceRoutes) get(c echo.Context) error {
	prefs, err := p.Preferences.Get(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, prefs)
}

func (p PreferenceRoutes) put(c echo.Context) error {
	var u notify.PreferencesUpdate
	if err := bindJSON(c, &u); err != nil {
		return err
	}
	prefs, err := p.Preferences.Update(c.Request().Context(), userID(c), u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, prefs)
}
