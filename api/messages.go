package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"banshi/notify"
)

// Inbox is what the message routes need of the in-app inbox.
type Inbox interface {
	Page(ctx context.Context, userID string, q notify.InboxQuery) (notify.InboxPage, error)
	MarkRead(ctx context.Context, userID, id string) (notify.Message, error)
	MarkAllRead(ctx context.Context, userID string) (int, error)
}

var _ Inbox = (*notify.Inbox)(nil)

// MessageRoutes are the citizen's in-app inbox: list (newest first, by
// cursor), read one, read all.
type MessageRoutes struct {
	Inbox Inbox
}

// Register adds the routes.
func (m MessageRoutes) Register(r Router) {
	s := r.Server()
	r.Citizen(http.MethodGet, "/me/messages", m.list)
	r.Citizen(http.MethodPost, "/me/messages/read-all", m.readAll(s))
	r.Citizen(http.MethodPost, "/me/messages/:id/read", m.read(s))
}

func (m MessageRoutes) list(c echo.Context) error {
	q := notify.InboxQuery{Before: c.QueryParam("before")}
	switch c.QueryParam("unread") {
	case "", "false":
	case "true":
		q.Unread = true
	default:
		return invalid("unread", "enum", "unread 应为 true 或 false")
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return invalid("limit", "range", "条数应为 1 至 100 的整数")
		}
		q.Limit = n
	}
	p, err := m.Inbox.Page(c.Request().Context(), userID(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (m MessageRoutes) read(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		msg, err := m.Inbox.MarkRead(c.Request().Context(), userID(c), pathParam(c, "id"))
		if err != nil {
			return err
		}
		s.PageChanged(c, userID(c))
		return c.JSON(http.StatusOK, msg)
	}
}

func (m MessageRoutes) readAll(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		n, err := m.Inbox.MarkAllRead(c.Request().Context(), userID(c))
		if err != nil {
			return err
		}
		s.PageChanged(c, userID(c))
		return c.JSON(http.StatusOK, map[string]int{"read": n})
	}
}
