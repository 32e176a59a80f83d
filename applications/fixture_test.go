package applications

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/notify"
)

// Known-good identities (GB 11643 check digits).
var (
	idZhang = account.WithCheckDigit("11010519491231002") // 11010519491231002X
	idLi    = account.WithCheckDigit("44010619900101123")
)

const (
	uscc   = "91440101MA5CXXXX7X"
	source = "dept-a"
)

// owners is a fake Owners: which ID numbers (by blind index) users proved.
type owners struct {
	mu     sync.Mutex
	byIdx  map[string]string // id_index -> user
	byUser map[string]string // user -> id_index
	fail   error
}

func (o *owners) ProvenOwner(_ context.Context, idx string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byIdx[idx], o.fail
}

func (o *owners) ProvenIndex(_ context.Context, uid string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byUser[uid], o.fail
}

// notifier publishes through a real outbox, and can be made to fail.
type notifier struct {
	outbox *notify.Outbox
	mu     sync.Mutex
	fail   error
	calls  int
}

func (n *notifier) Notify(ctx context.Context, m notify.Message) error {
	n.mu.Lock()
	n.calls++
	fail := n.fail
	n.mu.Unlock()
	if fail != nil {
		return fail
	}
	return n.outbox.Notify(ctx, m)
}

func (n *notifier) setFail(err error) {
	n.mu.Lock()
	n.fail = err
	n.mu.Unlock()
}

type fixture struct {
	t       *testing.T
	ctx     context.Context
	clock   *platform.ManualClock
	svc     *Service
	cipher  *account.Cipher
	owners  *owners
	notify  *notifier
	inbox   *notify.Inbox
	mu      sync.Mutex
	changed []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC)) // 14:00 in Guangzhou
	cipher, err := account.NewCipher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	inbox := notify.NewInbox(db, clock)
	rdb, prefix := platformtest.Redis(t)
	f := &fixture{t: t, ctx: context.Background(), clock: clock, cipher: cipher, inbox: inbox,
		owners: &owners{byIdx: map[string]string{}, byUser: map[string]string{}},
		notify: &notifier{outbox: notify.NewOutbox(notify.OutboxDeps{DB: db, Redis: rdb, RedisPrefix: prefix, Inbox: inbox, Clock: clock}, notify.OutboxConfig{})}}
	f.svc, err = NewService(Deps{DB: db, Clock: clock, Log: platformtest.Logger(), Index: cipher,
		Owners: f.owners, Notifier: f.notify, PageChanged: func(_ context.Context, uid string) {
			f.mu.Lock()
			f.changed = append(f.changed, uid)
			f.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EnsureIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// prove records that uid proved idNumber (level 3 or more).
func (f *fixture) prove(uid, idNumber string) {
	idx := f.cipher.BlindIndex(IDNumberKind, idNumber)
	f.owners.mu.Lock()
	f.owners.byIdx[idx], f.owners.byUser[uid] = uid, idx
	f.owners.mu.Unlock()
}

// ev is an event body; fields in over replace (or, nil, delete) the defaults.
func ev(eventID, status, occurred string, over map[string]any) []byte {
	m := map[string]any{
		"event_id": eventID, "application_no": "GZ2026031600001", "service_code": "11440106007482133H4440111009000",
		"applicant": map[string]any{"type": "person", "id_number": idZhang, "name": "张三"},
		"status":    status, "occurred_at": occurred,
	}
	switch status {
	case StatusNeedsMaterials:
		m["materials_missing"] = []map[string]string{{"name": "户口簿复印件", "reason": "原件不清晰"}, {"name": "近期免冠照片"}}
	case StatusDelivered:
		m["delivery"] = map[string]string{"method": "post", "carrier": "中国邮政EMS", "tracking_no": "EMS1234567890"}
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func (f *fixture) receive(body []byte) Receipt {
	f.t.Helper()
	r, err := f.svc.Receive(f.ctx, source, body)
	if err != nil {
		f.t.Fatalf("receive %s: %v", body, err)
	}
	return r
}

func (f *fixture) app(no string) appDoc {
	f.t.Helper()
	var d appDoc
	if err := f.svc.apps.FindOne(f.ctx, bson.M{"_id": applicationID(source, no)}).Decode(&d); err != nil {
		f.t.Fatalf("application %s: %v", no, err)
	}
	return d
}

func (f *fixture) count(coll string) int64 {
	f.t.Helper()
	c := f.svc.apps
	if coll == collEvents {
		c = f.svc.events
	}
	n, err := c.CountDocuments(f.ctx, bson.M{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) messages(uid string) []notify.Message {
	f.t.Helper()
	ms, err := f.inbox.List(f.ctx, uid, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}

var errBoom = errors.New("boom")
