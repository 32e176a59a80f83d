package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/internal/pages"
	"banshi/internal/session"
	"banshi/privacy"
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
	s.levelChanged(c, u.ID, u.Level)
	return c.JSON(http.StatusOK, map[string]pages.UserView{"user": pages.ViewOf(u)})
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
	s.levelChanged(c, u.ID, u.Level)
	return c.JSON(http.StatusOK, map[string]pages.UserView{"user": pages.ViewOf(u)})
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
	// Starting the check is the citizen's separate consent to it (PIPL art.
	// 29: biometrics), recorded before the phone shows the camera.
	if s.deps.Consents != nil {
		if _, err := s.deps.Consents.Record(c.Request().Context(), userID(c), privacy.PurposeFace, id); err != nil {
			return err
		}
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
	s.levelChanged(c, u.ID, u.Level)
	return c.JSON(http.StatusOK, map[string]pages.UserView{"user": pages.ViewOf(u)})
}

// levelChanged tells every session of the user its new real-name level; that
// also drops the cached page views (one pass over the sessions, not two).
func (s *Server) levelChanged(c echo.Context, userID string, level int) {
	ctx := c.Request().Context()
	if err := s.deps.Sessions.RaiseLevel(ctx, userID, level); err != nil {
		s.log.WarnContext(ctx, "record level in sessions", "err", err, "user_id", userID)
	}
}

// sessionLevel is the caller's real-name level as the session knows it
// (possibly lower than the truth, never higher: levels only rise).
func sessionLevel(c echo.Context) int {
	sess, _ := c.Get(ctxSession).(session.Session)
	return sess.Level
}
