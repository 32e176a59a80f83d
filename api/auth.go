package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/account"
)

type loginRequest struct {
	Code string `json:"code"`
}

type userView struct {
	ID             string `json:"id"`
	RealnameLevel  int    `json:"realname_level"`
	NameMasked     string `json:"name_masked,omitempty"`
	IDNumberMasked string `json:"id_number_masked,omitempty"`
}

func viewUser(u account.User) userView {
	return userView{ID: u.ID, RealnameLevel: u.Level, NameMasked: u.NameMasked, IDNumberMasked: u.IDNumberMasked}
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userView  `json:"user"`
}

func (s *Server) loginMiniProgram(c echo.Context) error {
	return s.login(c, account.ChannelMiniProgram)
}
func (s *Server) loginApp(c echo.Context) error { return s.login(c, account.ChannelApp) }

func (s *Server) login(c echo.Context, ch account.Channel) error {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("code", req.Code); err != nil {
		return err
	}
	if len(req.Code) > 128 {
		return invalid("code", "登录凭证过长 (code too long)")
	}
	res, err := s.deps.Auth.Login(c.Request().Context(), ch, req.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{Token: res.Token, ExpiresAt: res.ExpiresAt, User: viewUser(res.User)})
}

func (s *Server) logout(c echo.Context) error {
	token, _ := c.Get(ctxToken).(string)
	if err := s.deps.Auth.Logout(c.Request().Context(), token); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) logoutAll(c echo.Context) error {
	n, err := s.deps.Auth.LogoutAll(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"revoked": n})
}
