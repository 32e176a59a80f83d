package notify

import (
	"strings"
	"time"

	"banshi/internal/platform"
)

// ErrInvalid is returned for a message without an ID, a user or a title.
var ErrInvalid = platform.NewError(platform.CodeInvalid, "消息缺少编号、用户或标题")

// Message is one in-app inbox message. ID is chosen by the sender and makes
// Add idempotent: derive it from what the message is about (for example
// "appt-booked:<appointment id>").
type Message struct {
	ID        string            `json:"id" bson:"_id"`
	UserID    string            `json:"-" bson:"user_id"`
	Kind      string            `json:"kind" bson:"kind"`
	Title     string            `json:"title" bson:"title"`
	Body      string            `json:"body" bson:"body"`
	Data      map[string]string `json:"data,omitempty" bson:"data,omitempty"`
	CreatedAt time.Time         `json:"created_at" bson:"created_at"`
}

// validate checks what every message needs: an ID, a user and a title.
func (m Message) validate() error {
	if strings.TrimSpace(m.ID) == "" || strings.TrimSpace(m.UserID) == "" || strings.TrimSpace(m.Title) == "" {
		return ErrInvalid
	}
	return nil
}
