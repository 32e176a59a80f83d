package evaluations

import (
	"context"
	"fmt"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/notify"
)

// KindReply is the message kind of a department's reply to a 差评.
const KindReply = "evaluation_reply"

// MessageKinds describes the kinds above for notification preferences.
func MessageKinds() []notify.KindInfo {
	return []notify.KindInfo{{Kind: KindReply, Name: "差评整改反馈"}}
}

// Notifier publishes messages durably and idempotently by Message.ID
// (notify.Outbox).
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
}

// replyMessageID is the id of a ticket's reply message: publishing it again
// stores nothing twice.
func replyMessageID(ticketID string) string { return "evaluation:" + ticketID + ":reply" }

// replyMessage tells the citizen who rated the department's reply.
func replyMessage(t ticketDoc) notify.Message {
	body := t.Reply.Note
	if utf8.RuneCountInString(body) > 200 {
		body = string([]rune(body)[:199]) + "…"
	}
	return notify.Message{ID: replyMessageID(t.ID), UserID: t.UserID, Kind: KindReply,
		Title: "您的评价已收到整改反馈", Body: body, CreatedAt: t.Reply.At,
		Data: map[string]string{"evaluation_id": t.ID, "level": LevelName(t.Level)}}
}

// tellReply publishes the reply of t to its citizen, then clears the
// ticket's reply_pending. Without a notifier or a citizen there is nothing
// to tell. Idempotent.
func (s *Service) tellReply(ctx context.Context, t ticketDoc) error {
	if s.notify != nil && t.UserID != "" && t.Reply != nil {
		if err := s.notify.Notify(ctx, replyMessage(t)); err != nil {
			return fmt.Errorf("publish reply message: %w", err)
		}
	}
	if _, err := s.tickets.UpdateOne(ctx, bson.M{"_id": t.ID}, bson.M{"$set": bson.M{"reply_pending": false}}); err != nil {
		return fmt.Errorf("record reply published: %w", err)
	}
	return nil
}
