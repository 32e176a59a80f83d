package api

import (
	"context"

	"github.com/labstack/echo/v4"

	"banshi/notify"
)

// InboxReader lists a citizen's in-app messages.
type InboxReader interface {
	List(ctx context.Context, userID string, limit int) ([]notify.Message, error)
}

var _ InboxReader = (*notify.Inbox)(nil)

// MessagesSection fills the citizen page's "messages" section with the latest
// in-app messages.
type MessagesSection struct {
	Inbox InboxReader
}

// Name is the section's key.
func (MessagesSection) Name() string { return "messages" }

// Section returns the 20 latest messages.
func (m MessagesSection) Section(c echo.Context, userID string) (any, error) {
	return m.Inbox.List(c.Request().Context(), userID, 20)
}
