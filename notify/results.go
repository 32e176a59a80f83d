package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// resultDoc is one outcome of a delivery (collection "outbox_results"),
// written once and never changed: the dispatchers only insert. A final
// outcome (sent, skipped, dead) has the _id "<delivery id>#final", so the
// first one recorded wins and a repeat changes nothing; a failed try has
// "<delivery id>#<attempt>". A delivery's state is its final result, or its
// latest failed try, or pending.
type resultDoc struct {
	ID         string    `bson:"_id"`
	DeliveryID string    `bson:"delivery_id"`
	Channel    string    `bson:"channel"`
	Final      bool      `bson:"final"`
	State      string    `bson:"state"` // sent, skipped, dead, failed
	Attempt    int       `bson:"attempt"`
	Code       string    `bson:"code,omitempty"`
	Error      string    `bson:"error,omitempty"`
	At         time.Time `bson:"at"`
	NextDue    time.Time `bson:"next_due,omitempty"` // failed: when the next try is due
}

func finalID(deliveryID string) string { return deliveryID + "#final" }

// payload is the delivery as the queue carries it.
func (d deliveryDoc) payload() []byte {
	b, err := bson.Marshal(d)
	if err != nil {
		return nil // a struct of strings, times and a string map: cannot fail
	}
	return b
}

// record inserts r; a final result already recorded (another dispatcher
// was first) is not an error. inserted is false then.
func (o *Outbox) record(ctx context.Context, r resultDoc) (inserted bool, err error) {
	if _, err := o.results.InsertOne(ctx, r); err != nil {
		if platform.IsDuplicateKey(err) {
			return false, nil
		}
		return false, fmt.Errorf("record outbox result: %w", err)
	}
	return true, nil
}

// isFinal reports whether id has a final result.
func (o *Outbox) isFinal(ctx context.Context, id string) (bool, error) {
	err := o.results.FindOne(ctx, bson.M{"_id": finalID(id)}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, err
}

// get reads one delivery and its latest result (nil when none).
func (o *Outbox) get(ctx context.Context, id string) (deliveryDoc, *resultDoc, error) {
	var d deliveryDoc
	err := o.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, nil, ErrNotFound
	}
	if err != nil {
		return d, nil, fmt.Errorf("outbox get: %w", err)
	}
	cur, err := o.results.Find(ctx, bson.M{"delivery_id": id})
	if err != nil {
		return d, nil, fmt.Errorf("outbox get: %w", err)
	}
	var rs []resultDoc
	if err := cur.All(ctx, &rs); err != nil {
		return d, nil, fmt.Errorf("outbox get: %w", err)
	}
	var latest *resultDoc
	for i := range rs {
		latest = newer(latest, &rs[i])
	}
	return d, latest, nil
}

// newer is the result that decides the state: a final one, else the latest.
func newer(a, b *resultDoc) *resultDoc {
	switch {
	case a == nil:
		return b
	case a.Final != b.Final:
		if a.Final {
			return a
		}
		return b
	case b.At.After(a.At) || (b.At.Equal(a.At) && b.Attempt > a.Attempt):
		return b
	}
	return a
}

// scan reads every delivery and the result deciding each one's state: for
// admins' lists and the reconcile, never on the hot path.
func (o *Outbox) scan(ctx context.Context) ([]deliveryDoc, map[string]resultDoc, error) {
	cur, err := o.results.Find(ctx, bson.M{})
	if err != nil {
		return nil, nil, err
	}
	latest := map[string]resultDoc{}
	for cur.Next(ctx) {
		var r resultDoc
		if err := cur.Decode(&r); err != nil {
			return nil, nil, err
		}
		if x, ok := latest[r.DeliveryID]; ok {
			r = *newer(&x, &r)
		}
		latest[r.DeliveryID] = r
	}
	if err := cur.Err(); err != nil {
		return nil, nil, err
	}
	cur, err = o.coll.Find(ctx, bson.M{})
	if err != nil {
		return nil, nil, err
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, nil, err
	}
	return docs, latest, nil
}
