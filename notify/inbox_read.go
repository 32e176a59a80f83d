package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// ErrMessageNotFound: no such message of this citizen (another citizen's
// message answers the same).
var ErrMessageNotFound = platform.NewError("not_found", "未找到该消息")

// InboxQuery selects a page of a citizen's inbox: newest first, only unread
// ones when Unread, older than the Before cursor (from a previous page's
// Next) when given, at most Limit (1..100, default 20).
type InboxQuery struct {
	Unread bool
	Before string
	Limit  int
}

// InboxPage is one page of messages and the cursor of the next ("" at the end).
type InboxPage struct {
	Messages []Message `json:"messages"`
	Next     string    `json:"next,omitempty"`
}

// cursor is the position after a message: its time and id, opaque to clients.
func cursorOf(m Message) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(m.CreatedAt.UnixMilli(), 10) + "|" + m.ID))
}

func parseCursor(s string) (time.Time, string, error) {
	bad := platform.Invalid("before", "format", "分页游标无效")
	if len(s) > 400 {
		return time.Time{}, "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", bad
	}
	ms, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" || n < 0 {
		return time.Time{}, "", bad
	}
	return time.UnixMilli(n).UTC(), id, nil
}

// Page returns a page of the citizen's inbox. Errors: platform.Invalid
// ("before": a malformed cursor; "limit"), storage errors.
func (in *Inbox) Page(ctx context.Context, userID string, q InboxQuery) (InboxPage, error) {
	if q.Limit == 0 {
		q.Limit = 20
	}
	if q.Limit < 1 || q.Limit > 100 {
		return InboxPage{}, platform.Invalid("limit", "range", "条数应为 1 至 100")
	}
	f := bson.M{"user_id": userID}
	if q.Unread {
		f["read_at"] = bson.M{"$exists": false}
	}
	if q.Before != "" {
		t, id, err := parseCursor(q.Before)
		if err != nil {
			return InboxPage{}, err
		}
		f["$or"] = bson.A{
			bson.M{"created_at": bson.M{"$lt": t}},
			bson.M{"created_at": t, "_id": bson.M{"$lt": id}},
		}
	}
	cur, err := in.coll.Find(ctx, f, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(q.Limit+1)))
	if err != nil {
		return InboxPage{}, fmt.Errorf("inbox page: %w", err)
	}
	out := []Message{}
	if err := cur.All(ctx, &out); err != nil {
		return InboxPage{}, fmt.Errorf("inbox page: %w", err)
	}
	page := InboxPage{Messages: out}
	if len(out) > q.Limit {
		page.Messages = out[:q.Limit]
		page.Next = cursorOf(page.Messages[q.Limit-1])
	}
	for i := range page.Messages {
		page.Messages[i] = page.Messages[i].local()
	}
	return page, nil
}

func (m Message) local() Message {
	m.CreatedAt = platform.Local(m.CreatedAt)
	if m.ReadAt != nil {
		t := platform.Local(*m.ReadAt)
		m.ReadAt = &t
	}
	return m
}

// MarkRead marks one of the citizen's messages read (idempotent: reading it
// again keeps the first time) and returns it. Errors: ErrMessageNotFound.
func (in *Inbox) MarkRead(ctx context.Context, userID, id string) (Message, error) {
	if id == "" || len(id) > 200 {
		return Message{}, ErrMessageNotFound
	}
	now := in.clock.Now().UTC().Truncate(time.Millisecond)
	if _, err := in.coll.UpdateOne(ctx, bson.M{"_id": id, "user_id": userID, "read_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"read_at": now}}); err != nil {
		return Message{}, fmt.Errorf("mark read: %w", err)
	}
	var m Message
	err := in.coll.FindOne(ctx, bson.M{"_id": id, "user_id": userID}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Message{}, ErrMessageNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("mark read: %w", err)
	}
	return m.local(), nil
}

// MarkAllRead marks every unread message of the citizen read and says how
// many.
func (in *Inbox) MarkAllRead(ctx context.Context, userID string) (int, error) {
	now := in.clock.Now().UTC().Truncate(time.Millisecond)
	res, err := in.coll.UpdateMany(ctx, bson.M{"user_id": userID, "read_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"read_at": now}})
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	return int(res.ModifiedCount), nil
}

// Unread counts the citizen's unread messages.
func (in *Inbox) Unread(ctx context.Context, userID string) (int64, error) {
	n, err := in.coll.CountDocuments(ctx, bson.M{"user_id": userID, "read_at": bson.M{"$exists": false}})
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}
