package payments

import (
	"bytes"
	"context"
	"encoding/json"
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
	billIDZhang = account.WithCheckDigit("11010519491231002") // 11010519491231002X
	billIDLi    = account.WithCheckDigit("44010619900101123")
)

const (
	billUSCC   = "91440101MA5CXXXX7X"
	billSource = "dept-a"
)

// billOwners is a fake Owners: which ID numbers (by blind index) users proved.
type billOwners struct {
	mu     sync.Mutex
	byIdx  map[string]string
	byUser map[string]string
}

func (o *billOwners) ProvenOwner(_ context.Context, idx string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byIdx[idx], nil
}

func (o *billOwners) ProvenIndex(_ context.Context, uid string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byUser[uid], nil
}

// billNotifier publishes through a real outbox and can be made to fail.
type billNotifier struct {
	*notify.Outbox
	mu   sync.Mutex
	fail error
}

func (n *billNotifier) Notify(ctx context.Context, m notify.Message) error {
	n.mu.Lock()
	fail := n.fail
	n.mu.Unlock()
	if fail != nil {
		return fail
	}
	return n.Outbox.Notify(ctx, m)
}

type billFixture struct {
	t      *testing.T
	ctx    context.Context
	clock  *platform.ManualClock
	bills  *Bills
	cipher *account.Cipher
	owners *billOwners
	notify *billNotifier
	inbox  *notify.Inbox
}

func newBillFixture(t *testing.T) *billFixture {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC)) // 14:00 in Shanghai
	cipher, err := account.NewCipher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	inbox := notify.NewInbox(db, clock)
	rdb, prefix := platformtest.Redis(t)
	f := &billFixture{t: t, ctx: context.Background(), clock: clock, cipher: cipher, inbox: inbox,
		owners: &billOwners{byIdx: map[string]string{}, byUser: map[string]string{}},
		notify: &billNotifier{Outbox: notify.NewOutbox(notify.OutboxDeps{DB: db, Redis: rdb, RedisPrefix: prefix, Inbox: inbox, Clock: clock}, notify.OutboxConfig{})}}
	f.bills, err = NewBills(BillsDeps{DB: db, Clock: clock, Log: platformtest.Logger(), Index: cipher, Owners: f.owners, Notifier: f.notify})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.bills.EnsureIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// prove records that uid proved idNumber (level 3 or more).
func (f *billFixture) prove(uid, idNumber string) {
	idx := f.cipher.BlindIndex(IDNumberKind, idNumber)
	f.owners.mu.Lock()
	f.owners.byIdx[idx], f.owners.byUser[uid] = uid, idx
	f.owners.mu.Unlock()
}

// billBody is a bill event body: an issue of billNo for 张三 by default;
// fields in over replace (or, nil, delete) the defaults.
func billBody(eventID, action, billNo string, over map[string]any) []byte {
	m := map[string]any{"event_id": eventID, "action": action, "bill_no": billNo}
	if action == BillIssue {
		m["kind"], m["item"] = BillKindTrafficFine, "机动车违反交通信号灯通行"
		m["payer"] = map[string]any{"type": "person", "id_number": billIDZhang, "name": "张三"}
		m["amount_fen"], m["due_date"] = 20000, "2026-03-31"
		m["late_fee"] = map[string]any{"from": "2026-04-01", "permille_per_day": 30, "cap_fen": 20000}
		m["collecting_unit"] = map[string]any{"code": "440100-JJ", "name": "广州市公安局交通警察支队"}
		m["verification_code"] = "AB12cd"
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

func (f *billFixture) receive(body []byte) BillReceipt {
	f.t.Helper()
	r, err := f.bills.Receive(f.ctx, billSource, body)
	if err != nil {
		f.t.Fatalf("receive %s: %v", body, err)
	}
	return r
}

func (f *billFixture) bill(no string) billDoc {
	f.t.Helper()
	d, err := f.bills.load(f.ctx, no)
	if err != nil {
		f.t.Fatalf("bill %s: %v", no, err)
	}
	return d
}

func (f *billFixture) eventCount() int64 {
	f.t.Helper()
	n, err := f.bills.events.CountDocuments(f.ctx, bson.M{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *billFixture) messages(uid string) []notify.Message {
	f.t.Helper()
	ms, err := f.inbox.List(f.ctx, uid, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}
