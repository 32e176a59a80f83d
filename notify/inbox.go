package notify

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Inbox is the in-app inbox on MongoDB (collection "inbox").
type Inbox struct {
	coll  *mongo.Collection
	clock platform.Clock
}

// NewInbox returns the inbox stored in db. A nil clock means the system clock.
func NewInbox(db *mongo.Database, clock platform.Clock) *Inbox {
	if clock == nil {
		clock = platform.SystemClock{}
	}
	return &Inbox{coll: db.Collection("inbox"), clock: clock}
}

// EnsureIndexes creates the index List reads by.
func (in *Inbox) EnsureIndexes(ctx context.Context) error {
	_, err := in.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}},
	})
	if err != nil {
		return fmt.Errorf("inbox indexes: %w", err)
	}
	return nil
}

// Add stores m. A zero CreatedAt is set to now. Adding a message whose ID is
// already stored changes nothing and returns nil (idempotent). Errors:
// ErrInvalid (missing ID, UserID or Title), or a storage error.
func (in *Inbox) Add(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = in.clock.Now()
	}
	m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Millisecond)
	if _, err := in.coll.InsertOne(ctx, m); err != nil {
		if platform.IsDuplicateKey(err) {
			return nil
		}
		return fmt.Errorf("inbox add: %w", err)
	}
	return nil
}

// Notify is Add under the name consumers declare (for example
// appointments.Notifier).
func (in *Inbox) Notify(ctx context.Context, m Message) error { return in.Add(ctx, m) }

// Publish stores msgs in bulk, idempotently (messages already stored are left
// as they are): the inbox alone as a notifier. Errors: ErrInvalid (a message
// without an ID, a user or a title: nothing is stored), storage errors.
func (in *Inbox) Publish(ctx context.Context, msgs []Message) error {
	for _, m := range msgs {
		if err := m.validate(); err != nil {
			return err
		}
	}
	return in.addMany(ctx, msgs)
}

// addMany stores validated messages in bulk; messages already stored are
// left as they are.
func (in *Inbox) addMany(ctx context.Context, msgs []Message) error {
	docs := make([]any, 0, len(msgs))
	for _, m := range msgs {
		if m.CreatedAt.IsZero() {
			m.CreatedAt = in.clock.Now()
		}
		m.CreatedAt = m.CreatedAt.UTC().Truncate(time.Millisecond)
		docs = append(docs, m)
	}
	if _, err := insertIgnoringDuplicates(ctx, in.coll, docs); err != nil {
		return fmt.Errorf("inbox add: %w", err)
	}
	return nil
}

// List returns the user's newest messages first, at most limit (1..100; other
// values mean 20). An unknown user has an empty inbox. Errors: storage only.
func (in *Inbox) List(ctx context.Context, userID string, limit int) ([]Message, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	cur, err := in.coll.Find(ctx, bson.M{"user_id": userID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("inbox list: %w", err)
	}
	out := []Message{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("inbox list: %w", err)
	}
	for i := range out {
		out[i] = out[i].local()
	}
	return out, nil
}
