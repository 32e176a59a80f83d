package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// EventConsumer acts on WeChat's pushed events (the progress push acts on
// subscribe popup, change and sent events). An event is handed over once it
// is stored; it is handed over again when WeChat retries a push whose
// consumers failed, so HandleWeChatEvent must be idempotent (id is stable
// across retries). Declared here, implemented by the features that act.
type EventConsumer interface {
	HandleWeChatEvent(ctx context.Context, id string, ev Event) error
}

// PushEvents receives WeChat's message push: every verified event is stored
// once in MongoDB (collection "wechat_events", _id from EventID, so WeChat's
// retries and duplicates are recorded once) and then handed to the
// consumers.
type PushEvents struct {
	push      *Push
	coll      *mongo.Collection
	consumers []EventConsumer
	clock     platform.Clock
	log       *slog.Logger
}

// NewPushEvents returns the receiver storing in db.
func NewPushEvents(db *mongo.Database, push *Push, clock platform.Clock, log *slog.Logger, consumers ...EventConsumer) *PushEvents {
	return &PushEvents{push: push, coll: db.Collection("wechat_events"), consumers: consumers, clock: clock, log: log}
}

// eventDoc is a stored event.
type eventDoc struct {
	ID         string       `bson:"_id"`
	To         string       `bson:"to"`
	OpenID     string       `bson:"openid"`
	CreateTime time.Time    `bson:"create_time"`
	MsgType    string       `bson:"msg_type"`
	Event      string       `bson:"event,omitempty"`
	MsgID      string       `bson:"msg_id,omitempty"`
	Popup      []PopupItem  `bson:"popup,omitempty"`
	Change     []ChangeItem `bson:"change,omitempty"`
	Sent       []SentItem   `bson:"sent,omitempty"`
	ReceivedAt time.Time    `bson:"received_at"`
	Handled    bool         `bson:"handled"`
}

// EventID is the deterministic id of an event: the SHA-256, in hex, of
// everything it says. A retry or duplicate of a push has the same id;
// WeChat's own advice (FromUserName + CreateTime + Event) alone would merge
// two delivery results for one user within a second, which differ in their
// MsgID.
func EventID(ev Event) string {
	b, _ := json.Marshal(ev) // a struct of strings, numbers and slices: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// VerifyURL answers WeChat's URL check. Errors: ErrPushUnverified.
func (p *PushEvents) VerifyURL(q url.Values) (string, error) { return p.push.VerifyURL(q) }

// Receive verifies, parses and records one push and hands a new event to the
// consumers. A push already recorded and handled is accepted and changes
// nothing. Errors: ErrPushUnverified and ErrPushMalformed (nothing
// recorded), a storage error, or a consumer's error (the event stays
// recorded as not handled; WeChat's retry hands it over again).
func (p *PushEvents) Receive(ctx context.Context, q url.Values, body []byte) error {
	ev, err := p.push.Open(q, body)
	if err != nil {
		return err
	}
	id := EventID(ev)
	doc := eventDoc{ID: id, To: ev.ToUserName, OpenID: ev.FromUserName, CreateTime: time.Unix(ev.CreateTime, 0).UTC(),
		MsgType: ev.MsgType, Event: ev.Event, MsgID: ev.MsgID, Popup: ev.Popup, Change: ev.Change, Sent: ev.Sent,
		ReceivedAt: p.clock.Now().UTC().Truncate(time.Millisecond)}
	if _, err := p.coll.InsertOne(ctx, doc); err != nil {
		if !platform.IsDuplicateKey(err) {
			return fmt.Errorf("record wechat event: %w", err)
		}
		var stored eventDoc
		if err := p.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&stored); err != nil {
			return fmt.Errorf("read wechat event: %w", err)
		}
		if stored.Handled {
			p.log.DebugContext(ctx, "wechat push already recorded", "event_id", id, "event", ev.Event)
			return nil
		}
	}
	for _, c := range p.consumers {
		if err := c.HandleWeChatEvent(ctx, id, ev); err != nil {
			return fmt.Errorf("wechat event %s: %w", ev.Event, err)
		}
	}
	if _, err := p.coll.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"handled": true}}); err != nil {
		return fmt.Errorf("mark wechat event handled: %w", err)
	}
	p.log.InfoContext(ctx, "wechat push recorded", "event_id", id, "event", ev.Event, "msg_type", ev.MsgType)
	return nil
}
