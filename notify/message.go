package notify

import (
	"strings"
	"time"

	"banshi/internal/platform"
)

// ErrInvalid is returned for a message without an ID, a user or a title.
var ErrInvalid = platform.NewError(platform.CodeInvalid, "消息缺少编号、用户或标题")

// Message is something a citizen should hear about: one in-app inbox message,
// and what the other channels deliver. ID is chosen by the sender and makes
// publishing idempotent: derive it from what the message is about (for
// example "appointment_booked:<appointment id>"). Kind names the event
// ("appointment_booked", "application_result", ...); Data carries the ids a
// client links to (appointment_id, application_no, order_no) and the values
// templates show. ReadAt is set when the citizen reads it in the app.
type Message struct {
	ID        string            `json:"id" bson:"_id"`
	UserID    string            `json:"-" bson:"user_id"`
	Kind      string            `json:"kind" bson:"kind"`
	Title     string            `json:"title" bson:"title"`
	Body      string            `json:"body" bson:"body"`
	Data      map[string]string `json:"data,omitempty" bson:"data,omitempty"`
	CreatedAt time.Time         `json:"created_at" bson:"created_at"`
	ReadAt    *time.Time        `json:"read_at,omitempty" bson:"read_at,omitempty"`
}

// validate checks what every message needs: an ID, a user and a title.
func (m Message) validate() error {
	if strings.TrimSpace(m.ID) == "" || strings.TrimSpace(m.UserID) == "" || strings.TrimSpace(m.Title) == "" {
		return ErrInvalid
	}
	return nil
}
