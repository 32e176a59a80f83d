package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/platform"
	"banshi/notify/fcm"
)

// DeviceRegistry is what the device routes need of the app installations
// that receive pushes (fcm.Devices).
type DeviceRegistry interface {
	Register(ctx context.Context, userID, platform, token string) (fcm.Device, error)
	List(ctx context.Context, userID string) ([]fcm.Device, error)
	Delete(ctx context.Context, userID, token string) error
}

var _ DeviceRegistry = (*fcm.Devices)(nil)

// DeviceRoutes are the citizen's app installations for push messages:
// register (or refresh) one, list them, remove one. The app registers its
// FCM token after every login and whenever FCM rotates it, and removes it
// before logging out.
type DeviceRoutes struct {
	Devices DeviceRegistry
}

// Register adds the routes.
func (d DeviceRoutes) Register(r Router) {
	r.Citizen(http.MethodPost, "/me/devices", d.register)
	r.Citizen(http.MethodGet, "/me/devices", d.list)
	r.Citizen(http.MethodDelete, "/me/devices/:token", d.delete)
}

// deviceRequest is POST /me/devices's body.
type deviceRequest struct {
	Platform string `json:"platform"`
	Token    string `json:"token"`
}

// deviceView is a device as the API shows it.
type deviceView struct {
	Platform   string    `json:"platform"`
	Token      string    `json:"token"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func viewOfDevice(d fcm.Device) deviceView {
	return deviceView{Platform: d.Platform, Token: d.Token, CreatedAt: platform.Local(d.CreatedAt), LastSeenAt: platform.Local(d.LastSeenAt)}
}

func (d DeviceRoutes) register(c echo.Context) error {
	var req deviceRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	dev, err := d.Devices.Register(c.Request().Context(), userID(c), req.Platform, req.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOfDevice(dev))
}

func (d DeviceRoutes) list(c echo.Context) error {
	devs, err := d.Devices.List(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	out := make([]deviceView, len(devs))
	for i, dev := range devs {
		out[i] = viewOfDevice(dev)
	}
	return c.JSON(http.StatusOK, map[string][]deviceView{"devices": out})
}

func (d DeviceRoutes) delete(c echo.Context) error {
	// Echo hands the segment over as sent: a client may percent-encode the
	// token's ':'.
	token, err := url.PathUnescape(c.Param("token"))
	if err != nil {
		return fcm.ErrTokenFormat
	}
	if err := d.Devices.Delete(c.Request().Context(), userID(c), token); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
