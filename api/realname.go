package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

type identityRequest struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

type checkRequest struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Code     string `json:"code"`
}

type verifyRequest struct {
	VerifyID string `json:"verify_id"`
}

func (s *Server) realnameDeclare(c echo.Context) error {
	var req identityRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("name", req.Name, "id_number", req.IDNumber); err != nil {
		return err
	}
	u, err := s.deps.Realname.Declare(c.Request().Context(), userID(c), req.Name, req.IDNumber)
	if err != nil {
		return err
	}
	s.PageChanged(c, u.ID)
	return c.JSON(http.StatusOK, map[string]userView{"user": viewUser(u)})
}

func (s *Server) realnameCheck(c echo.Context) error {
	var req checkRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("name", req.Name, "id_number", req.IDNumber, "code", req.Code); err != nil {
		return err
	}
	u, err := s.deps.Realname.Check(c.Request().Context(), userID(c), req.Name, req.IDNumber, req.Code)
	if err != nil {
		return err
	}
	s.PageChanged(c, u.ID)
	return c.JSON(http.StatusOK, map[string]userView{"user": viewUser(u)})
}

func (s *Server) faceStart(c echo.Context) error {
	var req identityRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("name", req.Name, "id_number", req.IDNumber); err != nil {
		return err
	}
	id, err := s.deps.Realname.FaceStart(c.Request().Context(), userID(c), req.Name, req.IDNumber)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"verify_id": id})
}

func (s *Server) faceFinish(c echo.Context) error {
	var req verifyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := required("verify_id", req.VerifyID); err != nil {
		return err
	}
	u, err := s.deps.Realname.FaceFinish(c.Request().Context(), userID(c), req.VerifyID)
	if err != nil {
		return err
	}
	s.PageChanged(c, u.ID)
	return c.JSON(http.StatusOK, map[string]userView{"user": viewUser(u)})
}
