package wechat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// recorder is an EventConsumer that records what it was handed and fails
// while fail is set.
type recorder struct {
	mu   sync.Mutex
	seen []string
	fail bool
}

func (r *recorder) HandleWeChatEvent(_ context.Context, id string, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, ev.Event+"@"+id[:8])
	if r.fail {
		return errors.New("consumer down")
	}
	return nil
}

func TestPushEventsRecordOnceAndHandOver(t *testing.T) {
	ctx := context.Background()
	db := platformtest.Mongo(t)
	rec := &recorder{}
	events := NewPushEvents(db, newTestPush(t, false), platform.SystemClock{}, platformtest.Logger(), rec)
	count := func() int64 {
		n, err := db.Collection("wechat_events").CountDocuments(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A push and its retry: recorded once, handed over once.
	for range 2 {
		if err := events.Receive(ctx, plainQuery(), []byte(popupXML)); err != nil {
			t.Fatal(err)
		}
	}
	if count() != 1 || len(rec.seen) != 1 {
		t.Fatalf("%d documents, handed over %v; want 1 and once", count(), rec.seen)
	}
	// The same event in JSON is the same event.
	if err := events.Receive(ctx, plainQuery(), []byte(`{"ToUserName":"gh_123456789abc","FromUserName":"oUser","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_popup_event","SubscribeMsgPopupEvent":{"List":[{"TemplateId":"TPL1","SubscribeStatusString":"accept","PopupScene":0},{"TemplateId":"TPL2","SubscribeStatusString":"reject","PopupScene":"0"}]}}`)); err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Fatalf("the JSON form of a recorded event was recorded again")
	}

	// Two delivery results for one user in one second differ by MsgID.
	other := strings.Replace(sentXMLBare, "1700827132819554304", "1700827132819554305", 1)
	for _, msg := range []string{sentXMLBare, other} {
		if err := events.Receive(ctx, plainQuery(), []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if count() != 3 {
		t.Fatalf("%d documents, want 3", count())
	}

	// A failing consumer: recorded, not handled; WeChat's retry hands it over again.
	rec.fail = true
	if err := events.Receive(ctx, plainQuery(), []byte(changeXML)); err == nil {
		t.Fatal("a consumer's failure was swallowed")
	}
	rec.fail = false
	if err := events.Receive(ctx, plainQuery(), []byte(changeXML)); err != nil {
		t.Fatal(err)
	}
	if err := events.Receive(ctx, plainQuery(), []byte(changeXML)); err != nil {
		t.Fatal(err)
	}
	var doc eventDoc
	if err := db.Collection("wechat_events").FindOne(ctx, bson.M{"event": EventSubscribeChange}).Decode(&doc); err != nil || !doc.Handled || doc.OpenID != "oUser" || doc.Change[0].TemplateID != "TPL1" {
		t.Fatalf("change event: %+v, %v", doc, err)
	}
	changes := 0
	for _, s := range rec.seen {
		if strings.HasPrefix(s, EventSubscribeChange) {
			changes++
		}
	}
	if changes != 2 || count() != 4 {
		t.Fatalf("change handed over %d times (want 2: failed, retried), %d documents", changes, count())
	}

	// Unverified or malformed: nothing recorded, nothing handed over.
	bad := plainQuery()
	bad.Set("signature", strings.Repeat("0", 40))
	seen := len(rec.seen)
	if err := events.Receive(ctx, bad, []byte(popupJSONObject)); !errors.Is(err, ErrPushUnverified) {
		t.Fatalf("bad signature: %v", err)
	}
	if err := events.Receive(ctx, plainQuery(), []byte("<xml>")); !errors.Is(err, ErrPushMalformed) {
		t.Fatalf("malformed: %v", err)
	}
	if count() != 4 || len(rec.seen) != seen {
		t.Fatalf("a refused push changed something: %d documents, %v", count(), rec.seen)
	}
}
