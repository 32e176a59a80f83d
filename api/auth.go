package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/account"
	"banshi/internal/pages"
)

type loginRequest struct {
	Code string `json:"code"`
}

type loginResponse struct {
	Token     string         `json:"token"`
	ExpiresAt time.Time      `json:"expires_at"`
	User      pages.UserView `json:"user"`
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
		return invalid("code", "length", "登录凭证过长")
	}
	res, err := s.deps.Auth.Login(c.Request().Context(), ch, req.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{Token: res.Token, ExpiresAt: res.ExpiresAt, User: pages.ViewOf(res.User)})
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
