package payments_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/notify"
	"banshi/payments"
	"banshi/payments/wechatpay"
)

const (
	fxMchID    = "1900000109"
	fxSerial   = "3775B6A45ACD588826D15E583A95F5DDAAAAAAAA"
	fxAPIv3Key = "banshi-test-apiv3-key-0123456789"
	fxMiniApp  = "wxminiprogram0001"
	fxAppApp   = "wxmobileapp000001"
	fxPubKeyID = "PUB_KEY_ID_0119000001092024000000000000"
	fxOpenID   = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	fxSource   = "dept-finance"
)

var (
	fxKeysOnce sync.Once
	fxMerchant *rsa.PrivateKey
	fxWxPay    *rsa.PrivateKey
	fxCert     *rsa.PrivateKey
)

func fxKeys(t testing.TB) {
	t.Helper()
	fxKeysOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&fxMerchant, &fxWxPay, &fxCert} {
			var err error
			if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(err)
			}
		}
	})
}

// fakeNotifier records messages by ID (publishing is idempotent by ID, as
// the outbox's is) and answers delivery states the test sets.
type fakeNotifier struct {
	mu       sync.Mutex
	messages map[string]notify.Message
	dept     map[string]notify.Message
	calls    int
	sends    map[string]int // Notify calls per message id
	states   map[string]notify.DeliveryView
	failKind string // Notify fails for messages of this kind (a store outage)
}

var _ payments.Notifier = (*fakeNotifier)(nil)

func newFakeNotifier() *fakeNotifier {
	return &fakeNotifier{sends: map[string]int{}, messages: map[string]notify.Message{}, dept: map[string]notify.Message{}, states: map[string]notify.DeliveryView{}}
}

func (f *fakeNotifier) Notify(_ context.Context, m notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.sends[m.ID]++
	if f.failKind != "" && m.Kind == f.failKind {
		return errors.New("notifier down")
	}
	if _, ok := f.messages[m.ID]; !ok {
		f.messages[m.ID] = m
	}
	return nil
}

func (f *fakeNotifier) PublishTo(_ context.Context, channel string, msgs []notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range msgs {
		id := m.ID + "|" + channel
		if _, ok := f.dept[id]; !ok {
			f.dept[id] = m
		}
		if _, ok := f.states[id]; !ok {
			f.states[id] = notify.DeliveryView{ID: id, State: notify.StatePending}
		}
	}
	return nil
}

func (f *fakeNotifier) Get(_ context.Context, id string) (notify.DeliveryView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.states[id]
	if !ok {
		return v, notify.ErrNotFound
	}
	return v, nil
}

func (f *fakeNotifier) set(id, state, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[id] = notify.DeliveryView{ID: id, State: state, LastCode: code}
}

func (f *fakeNotifier) counts() (citizen, dept int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.messages), len(f.dept)
}

func (f *fakeNotifier) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.messages[id]
	return ok
}

// fakeIndex is a keyed digest, like account.Cipher's blind index.
type fakeIndex struct{}

func (fakeIndex) BlindIndex(kind, value string) string {
	return platform.TokenDigest([]byte("fixture-key"), kind+"\x00"+value)
}

// fakePeople: owners of ID numbers and payers.
type fakePeople struct {
	mu     sync.Mutex
	proven map[string]string // user → id index
	level  map[string]int
	openid map[string]string
}

func (p *fakePeople) ProvenOwner(_ context.Context, idx string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for u, i := range p.proven {
		if i == idx {
			return u, nil
		}
	}
	return "", nil
}

func (p *fakePeople) ProvenIndex(_ context.Context, user string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proven[user], nil
}

func (p *fakePeople) Payer(_ context.Context, user string) (payments.Payer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return payments.Payer{UserID: user, Level: p.level[user], MiniOpenID: p.openid[user]}, nil
}

var (
	_ payments.Owners = (*fakePeople)(nil)
	_ payments.Payers = (*fakePeople)(nil)
)

// fixture is a payments service on the embedded store, the real WeChat Pay
// adapter against the simulator, whose callbacks reach the service's
// Callback through an HTTP server like Banshi's route.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	db     *mongo.Database
	clock  *platform.ManualClock
	sim    *sim.WeChatPay
	simURL string
	svc    *payments.Service
	rdb    redis.UniversalClient
	prefix string
	note   *fakeNotifier
	people *fakePeople
	// members says who acts for which enterprise, with which items.
	members *fakeMembers
	// refuseCallbacks makes the notify endpoint answer 500 (a lost callback).
	mu              sync.Mutex
	refuseCallbacks bool
	// reg holds the service's series (metrics_test.go).
	reg *prometheus.Registry
}

const (
	citizen = "u-citizen"
	other   = "u-other"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fxKeys(t)
	f := &fixture{t: t, ctx: context.Background(), db: platformtest.Mongo(t),
		clock: platform.NewManualClock(time.Now()), note: newFakeNotifier(), members: &fakeMembers{},
		people: &fakePeople{proven: map[string]string{citizen: fakeIndex{}.BlindIndex(payments.IDNumberKind, "440106199001011234")},
			level: map[string]int{citizen: 3, other: 2}, openid: map[string]string{citizen: fxOpenID, other: "oOther"}}}
	w, err := sim.NewWeChatPay(sim.WeChatPayOptions{
		Clock: f.clock,
		Merchants: []sim.WeChatPayMerchant{{MchID: fxMchID, SerialNo: fxSerial, PublicKey: &fxMerchant.PublicKey,
			APIv3Key: fxAPIv3Key, AppIDs: []string{fxMiniApp, fxAppApp}}},
		PublicKey: fxWxPay, PublicKeyID: fxPubKeyID, CertificateKey: fxCert, SignWith: sim.WeChatPaySignPublicKey,
		RetrySchedule: []time.Duration{time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.sim = w
	simSrv := httptest.NewServer(w.Handler())
	t.Cleanup(simSrv.Close)
	f.simURL = simSrv.URL + "/sim/wechatpay"
	der, _ := x509.MarshalPKCS8PrivateKey(fxMerchant)
	pub, _ := x509.MarshalPKIXPublicKey(&fxWxPay.PublicKey)
	notifySrv := httptest.NewServer(http.HandlerFunc(f.handleNotify))
	t.Cleanup(notifySrv.Close)
	p, err := wechatpay.New(wechatpay.Config{
		MchID: fxMchID, MiniProgramAppID: fxMiniApp, AppAppID: fxAppApp, SerialNo: fxSerial,
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), APIv3Key: fxAPIv3Key,
		PublicKeyID: fxPubKeyID, PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		BaseURL: f.simURL, NotifyURL: notifySrv.URL, Clock: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	f.rdb, f.prefix = platformtest.Redis(t)
	f.reg = prometheus.NewRegistry()
	bills, err := payments.NewBills(payments.BillsDeps{DB: f.db, Clock: f.clock, Index: fakeIndex{}, Owners: f.people, Notifier: f.note})
	if err != nil {
		t.Fatal(err)
	}
	f.svc, err = payments.NewService(payments.Deps{
		DB: f.db, Clock: f.clock, Log: platformtest.Logger(), Bills: bills, Index: fakeIndex{}, Owners: f.people,
		Payers: f.people, Notifier: f.note, Providers: []payments.Provider{p},
		Merchants:  map[string]payments.Merchant{payments.ProviderWeChatPay: {ID: fxMchID, AppIDs: []string{fxMiniApp, fxAppApp}}},
		NotifyURLs: map[string]string{payments.ProviderWeChatPay: notifySrv.URL},
		Redis:      f.rdb, RedisPrefix: f.prefix, Members: f.members, Metrics: payments.NewMetrics(f.reg),
	}, payments.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EnsureIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// handleNotify is Banshi's callback route in miniature.
func (f *fixture) handleNotify(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	refuse := f.refuseCallbacks
	f.mu.Unlock()
	if refuse {
		wechatpay.RefuseNotification(w, http.StatusInternalServerError)
		return
	}
	p, outcome, _ := f.svc.Callback(r.Context(), payments.ProviderWeChatPay, r.Header, body)
	switch outcome {
	case payments.CallbackAck:
		p.AckNotification(w)
	case payments.CallbackRefuse:
		wechatpay.RefuseNotification(w, http.StatusUnauthorized)
	case payments.CallbackReject:
		wechatpay.RefuseNotification(w, http.StatusBadRequest)
	default:
		wechatpay.RefuseNotification(w, http.StatusInternalServerError)
	}
}

// bill inserts an unpaid person's bill of the citizen's ID number.
func (f *fixture) bill(no string, amount int64) {
	f.t.Helper()
	now := f.clock.Now().UTC().Truncate(time.Millisecond)
	idx := fakeIndex{}.BlindIndex(payments.IDNumberKind, "440106199001011234")
	_, err := f.db.Collection(payments.CollBills).InsertOne(f.ctx, bson.M{
		"_id": no, "source": fxSource, "kind": "traffic_fine", "item": "交通违法罚款",
		"payer": bson.M{"type": "person", "id_index": idx, "name_masked": "*三"}, "id_index": idx,
		"amount_fen": amount, "due_date": "2099-01-01", "collecting_unit": bson.M{"code": "440100", "name": "广州市公安局交通警察支队"},
		"code_digest": fakeIndex{}.BlindIndex(payments.CodeKind, no+"|CODE1234"), "state": payments.BillUnpaid,
		"last_event": "e1", "version": int64(1), "issued_at": now, "updated_at": now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) billState(no string) (state, open, paid string) {
	f.t.Helper()
	var d struct {
		State     string `bson:"state"`
		OpenOrder string `bson:"open_order"`
		PaidOrder string `bson:"paid_order"`
	}
	if err := f.db.Collection(payments.CollBills).FindOne(f.ctx, bson.M{"_id": no}).Decode(&d); err != nil {
		f.t.Fatal(err)
	}
	return d.State, d.OpenOrder, d.PaidOrder
}

// order creates an order for the citizen on wechat_jsapi.
func (f *fixture) order(billNo, key string) payments.OrderView {
	f.t.Helper()
	v, _, err := f.svc.CreateOrder(f.ctx, citizen, billNo, key, payments.OrderRequest{Channel: payments.WeChatJSAPI})
	if err != nil {
		f.t.Fatalf("create order for %s: %v", billNo, err)
	}
	return v
}

// control calls a control endpoint of the simulator.
func (f *fixture) control(path string, in any) (int, []byte) {
	f.t.Helper()
	b, _ := json.Marshal(in)
	res, err := http.Post(f.simURL+"/control"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// pay plays the payer paying at the channel (its callback leaves).
func (f *fixture) pay(orderNo string) {
	f.t.Helper()
	if st, body := f.control("/pay", map[string]string{"out_trade_no": orderNo}); st != http.StatusOK {
		f.t.Fatalf("pay %s: %d %s", orderNo, st, body)
	}
}

// status reads the order as finance sees it.
func (f *fixture) status(orderNo string) payments.FinanceOrderView {
	f.t.Helper()
	v, err := f.svc.FinanceOrder(f.ctx, orderNo)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// waitStatus waits for the order to reach state (callbacks are async).
func (f *fixture) waitStatus(orderNo, state string) payments.FinanceOrderView {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := f.status(orderNo)
		if v.Status == state {
			return v
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("order %s is %s, want %s (transitions %+v)", orderNo, v.Status, state, v.Transitions)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNote reports whether the citizen's message id is published within
// 10 s: a settled refund's message follows the refund's write (a callback or
// a query may settle it), so a test that reads the order may be a moment
// ahead of the message.
func (f *fixture) waitNote(id string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !f.note.has(id) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func (f *fixture) sweep() payments.SweepReport {
	f.t.Helper()
	r, err := f.svc.SweepOnce(f.ctx)
	if err != nil {
		f.t.Fatalf("sweep: %v", err)
	}
	return r
}

func countTo(v payments.FinanceOrderView, state string) int {
	n := 0
	for _, t := range v.Transitions {
		if t.To == state {
			n++
		}
	}
	return n
}

func deptID(orderNo string) string { return fmt.Sprintf("payment.succeeded:%s|department", orderNo) }

// paidOrder issues bill billNo for fen, orders it (idempotency key "k1"),
// pays it at the simulator and waits until it is paid and its effects stored.
func (f *fixture) paidOrder(billNo string, fen int64) payments.OrderView {
	f.t.Helper()
	f.bill(billNo, fen)
	o := f.order(billNo, "k1")
	f.pay(o.OrderNo)
	f.waitPaid(o.OrderNo)
	return o
}

// waitPaid waits for the order to be paid and for the effects of the
// payment to be stored (the citizen's message is the last of them).
func (f *fixture) waitPaid(orderNo string) payments.FinanceOrderView {
	f.t.Helper()
	f.waitStatus(orderNo, payments.OrderPaid)
	deadline := time.Now().Add(10 * time.Second)
	for !f.note.has("payment_paid:" + orderNo) {
		if time.Now().After(deadline) {
			f.t.Fatalf("order %s paid but its effects were never stored", orderNo)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f.status(orderNo)
}
