package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/payments"
)

// Issue 15 for money: `banshi worker` SIGKILLed during the payment sweep and
// during the daily reconciliation; a second worker on the same MongoDB and
// Redis finishes under the lease (BANSHI_PAY_LEASE), exactly once.

// paySimFront serves the payment simulators to every process of a test
// (this one and the workers) and watches what reaches them: the refunds
// asked, by order and refund number, and the trade bills downloaded, which
// it can send slowly (a big bill on a slow line) so that a kill lands in
// the middle of a reconciliation.
type paySimFront struct {
	h       http.Handler
	trickle atomic.Bool  // send bill files slowly
	loads   atomic.Int32 // bill files asked for

	mu      sync.Mutex
	refunds map[string]map[string]int // order → refund number → requests
}

const (
	wxpRefundPath   = "/sim/wechatpay/v3/refund/domestic/refunds"
	wxpDownloadPath = "/sim/wechatpay/v3/billdownload/file"
)

func (f *paySimFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == wxpRefundPath:
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			OutTradeNo  string `json:"out_trade_no"`
			OutRefundNo string `json:"out_refund_no"`
		}
		_ = json.Unmarshal(body, &req)
		f.mu.Lock()
		if f.refunds[req.OutTradeNo] == nil {
			f.refunds[req.OutTradeNo] = map[string]int{}
		}
		f.refunds[req.OutTradeNo][req.OutRefundNo]++
		f.mu.Unlock()
	case r.URL.Path == wxpDownloadPath && f.trickle.Load():
		f.loads.Add(1)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		chunk := max(len(body)/100, 256) // about 100 pieces, 40 ms apart: 4 s
		for i := 0; i < len(body); i += chunk {
			if _, err := w.Write(body[i:min(i+chunk, len(body))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(40 * time.Millisecond):
			}
		}
		return
	}
	f.h.ServeHTTP(w, r)
}

// refundsOf returns the refund numbers asked for orderNo, with how many
// times each was asked.
func (f *paySimFront) refundsOf(orderNo string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.refunds[orderNo])
}

// payRig is one data folder and one database for this process and the
// workers it starts, with the payment simulators (WeChat Pay, Alipay) in
// this process, timed by simClock. Banshi's public URL goes nowhere: the
// channels' callbacks are lost, as after a network fault, so what is paid
// is found by the sweeper's queries.
type payRig struct {
	t     *testing.T
	dir   string
	env   map[string]string
	app   *App // builds states and checks the store; runs no background work
	sims  paySims
	front *paySimFront
}

func newPayRig(t *testing.T, simClock platform.Clock, settings map[string]string) *payRig {
	t.Helper()
	mongoURI, redisURL := sharedStores(t)
	dir := t.TempDir()
	env := testEnv(dir, "http://127.0.0.1:1")
	maps.Copy(env, map[string]string{
		"MONGODB_URI": mongoURI, "MONGODB_DATABASE": "banshi_paykill_" + platformtest.RandomID(), "REDIS_URL": redisURL,
		"BANSHI_SEED_DEMO": "false", "BANSHI_SIM": "false", "BANSHI_FCM": "false",
	})
	maps.Copy(env, settings)
	cfg, err := platform.LoadConfig(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	sims, err := newPaySims(dir, nonEmpty(cfg.MiniAppID, cfg.OpenAppID), simClock, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sims.wechat.Close)
	t.Cleanup(sims.alipay.Close)
	mux := http.NewServeMux()
	mux.Handle("/sim/wechatpay/", sims.wechat.Handler())
	mux.Handle("/sim/alipay/", sims.alipay.Handler())
	front := &paySimFront{h: mux, refunds: map[string]map[string]int{}}
	srv := httptest.NewServer(front)
	t.Cleanup(srv.Close)
	env["BANSHI_WECHATPAY_BASE_URL"] = srv.URL + "/sim/wechatpay"
	env["BANSHI_ALIPAY_BASE_URL"] = srv.URL + "/sim/alipay"
	app, _ := buildApp(t, env, false)
	t.Cleanup(func() {
		cleanRedis(app.Redis.Client, env["BANSHI_REDIS_PREFIX"])
		app.Close()
	})
	return &payRig{t: t, dir: dir, env: env, app: app, sims: sims, front: front}
}

// startWorker starts `banshi worker` on the rig's stores and waits until it
// is ready.
func (r *payRig) startWorker() *process {
	r.t.Helper()
	addr := freeAddr(r.t)
	env := maps.Clone(r.env)
	env["BANSHI_ADDR"] = addr
	p := startProcess(r.t, r.dir, env, "worker")
	waitUp(r.t, p, "http://"+addr+"/readyz")
	return p
}

// kill SIGKILLs p and waits for it to be gone.
func kill(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	p.done <- err // for startProcess's cleanup
}

// count counts the documents of coll matching filter. The embedded store,
// shared with two busy workers on a busy machine, may time a read out: it
// is tried again for up to a minute.
func (r *payRig) count(coll string, filter bson.M) int64 {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := r.app.Mongo.DB.Collection(coll).CountDocuments(context.Background(), filter)
		if err == nil {
			return n
		}
		if time.Now().After(deadline) {
			r.t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storeRetry runs fn up to three times while it fails (a store time-out).
func storeRetry(fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// paySink is a department system: it accepts the payment.succeeded events
// of its bills, except those of the bills it refuses (422: refunded by
// Banshi), counting the events it receives per order.
type paySink struct {
	refuse map[string]bool // bill numbers; read-only once serving
	mu     sync.Mutex
	seen   map[string]int
}

func (s *paySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		BillNo  string `json:"bill_no"`
		OrderNo string `json:"order_no"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &ev); err != nil || ev.OrderNo == "" {
		http.Error(w, "no order_no", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.seen[ev.OrderNo]++
	s.mu.Unlock()
	if s.refuse[ev.BillNo] {
		http.Error(w, "refused", http.StatusUnprocessableEntity)
	}
}

// payOrderDoc is what the test reads of an order.
type payOrderDoc struct {
	ID          string   `bson:"_id"`
	BillNo      string   `bson:"bill_no"`
	State       string   `bson:"state"`
	PaidFen     int64    `bson:"paid_fen"`
	RefundedFen int64    `bson:"refunded_fen"`
	Refunds     []string `bson:"refunds"`
	Transitions []struct {
		To string `bson:"to"`
	} `bson:"transitions"`
}

// to counts the order's transitions to state.
func (d payOrderDoc) to(state string) int {
	n := 0
	for _, tr := range d.Transitions {
		if tr.To == state {
			n++
		}
	}
	return n
}

// TestWorkerSIGKILLDuringPaymentSweep: 120 bills of one citizen are paid
// at the channel while every callback is lost; a worker's sweeper finds the
// payments and is SIGKILLed when about a fifth of them are recorded; a
// second worker takes the sweep over once the lease lapses. Every order
// ends right: the department accepts three bills in four (handled, bill
// paid by it) and refuses the fourth (refunded in full, once, by one refund
// number at the channel; the bill owed again). Money agrees to the fen
// between the orders, the bills, the channel and the payment statistics.
func TestWorkerSIGKILLDuringPaymentSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	const total = 120
	ctx := context.Background()
	r := newPayRig(t, platform.SystemClock{}, map[string]string{
		"BANSHI_PAY_LEASE": "5s", "BANSHI_PAY_SWEEP_EVERY": "1s", "BANSHI_OUTBOX_LEASE": "3s",
	})
	app := r.app

	sink := &paySink{refuse: map[string]bool{}, seen: map[string]int{}}
	bills := make([]string, total)
	amounts := map[string]int64{}
	for i := range bills {
		bills[i] = fmt.Sprintf("PK%05d", i)
		amounts[bills[i]] = int64(1000 + 37*i)
		if i%4 == 0 {
			sink.refuse[bills[i]] = true
		}
	}
	dept := httptest.NewServer(sink)
	defer dept.Close()
	const deptID = "dept-paykill"
	if _, err := app.Registry.Create(ctx, integrations.New{ID: deptID, Name: "缴费被杀测试部门", Scopes: []string{integrations.ScopeBills}, CallbackURL: dept.URL + "/events"}); err != nil {
		t.Fatal(err)
	}

	// A level-3 citizen and his bills.
	idNumber := newIDNumber()
	u, err := app.Accounts.LoginWeChat(ctx, account.ChannelMiniProgram, "", "o_paykill_"+platformtest.RandomID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Accounts.RaiseLevel(ctx, u.ID, account.Identity{Name: "张三", IDNumber: idNumber}, 3); err != nil {
		t.Fatal(err)
	}
	idx := app.Accounts.IDIndex(idNumber)
	now := time.Now().UTC().Truncate(time.Millisecond)
	docs := make([]any, total)
	for i, no := range bills {
		docs[i] = bson.M{
			"_id": no, "source": deptID, "kind": payments.BillKindTrafficFine, "item": "交通违法罚款",
			"payer": bson.M{"type": "person", "id_index": idx, "name_masked": "*三"}, "id_index": idx,
			"amount_fen": amounts[no], "due_date": "2099-01-01", "collecting_unit": bson.M{"code": "440100", "name": "广州市公安局交通警察支队"},
			"code_digest": "-", "state": payments.BillUnpaid, "last_event": "e-" + no, "version": int64(1), "issued_at": now, "updated_at": now,
		}
	}
	if _, err := app.Mongo.DB.Collection(payments.CollBills).InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}

	// Each bill's order, paid at the channel; the callbacks go nowhere.
	orders := make([]string, total)
	billOf := map[string]string{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 2) // the embedded store serialises writes anyway
	for i, no := range bills {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// The embedded store may time a write out on a busy machine:
			// creating the order is idempotent (its key), so it is tried
			// again; so is dating it back.
			var v payments.OrderView
			err := storeRetry(func() (err error) {
				v, _, err = app.Payments.CreateOrder(ctx, u.ID, no, "k-"+no, payments.OrderRequest{Channel: payments.WeChatJSAPI})
				return err
			})
			if err == nil && v.AmountFen != amounts[no] {
				err = fmt.Errorf("order of %d fen for a bill of %d", v.AmountFen, amounts[no])
			}
			if err == nil {
				_, err = r.sims.wechat.Pay("", v.OrderNo, "")
			}
			if err == nil { // paying for ten minutes: the sweeper asks the channel about it
				err = storeRetry(func() error {
					_, err := app.Mongo.DB.Collection(payments.CollOrders).UpdateOne(ctx, bson.M{"_id": v.OrderNo},
						bson.M{"$set": bson.M{"created_at": now.Add(-10 * time.Minute)}})
					return err
				})
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("bill %s: %w", no, err))
				return
			}
			orders[i], billOf[v.OrderNo] = v.OrderNo, no
		})
	}
	wg.Wait()
	t.Logf("%d orders created and paid at the channel in %s", total, time.Since(now).Round(time.Millisecond))
	if len(errs) > 0 {
		t.Fatalf("%d orders not paid, first: %v", len(errs), errs[0])
	}
	notPaying := bson.M{"_id": bson.M{"$in": orders}, "state": bson.M{"$ne": payments.OrderPaying}}

	first := r.startWorker()
	deadline := time.Now().Add(time.Minute)
	for n := r.count(payments.CollOrders, notPaying); n < total/5; n = r.count(payments.CollOrders, notPaying) {
		if time.Now().After(deadline) {
			t.Fatalf("the first worker's sweeper recorded %d payments in a minute\n%s", n, first.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	kill(t, first)
	killedAt := time.Now()
	atKill := r.count(payments.CollOrders, notPaying)
	if atKill >= total {
		t.Fatalf("every payment was recorded before the kill (%d): the kill interrupted nothing", atKill)
	}

	r.startWorker()
	final := bson.M{"_id": bson.M{"$in": orders}, "$or": bson.A{
		bson.M{"state": payments.OrderHandled}, bson.M{"state": payments.OrderRefunded}}}
	deadline = time.Now().Add(2 * time.Minute)
	for n := r.count(payments.CollOrders, final); n < total; n = r.count(payments.CollOrders, final) {
		if time.Now().After(deadline) {
			t.Fatalf("after the kill and a second worker: %d of %d orders handled or refunded", n, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	doneAt := time.Now()

	// The orders.
	cur, err := app.Mongo.DB.Collection(payments.CollOrders).Find(ctx, bson.M{"_id": bson.M{"$in": orders}})
	if err != nil {
		t.Fatal(err)
	}
	var got []payOrderDoc
	if err := cur.All(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("%d orders stored, want %d", len(got), total)
	}
	var paidFen, refundedFen, wantRefundedFen, refused int64
	for _, d := range got {
		amount := amounts[d.BillNo]
		paidFen += d.PaidFen
		refundedFen += d.RefundedFen
		if d.PaidFen != amount || d.to(payments.OrderPaid) != 1 {
			t.Errorf("order %s: paid %d of %d, %d transitions to paid", d.ID, d.PaidFen, amount, d.to(payments.OrderPaid))
		}
		if sink.refuse[d.BillNo] {
			refused++
			wantRefundedFen += amount
			if d.State != payments.OrderRefunded || d.RefundedFen != amount || len(d.Refunds) != 1 || d.Refunds[0] != d.ID+"A" ||
				d.to(payments.OrderHandleFailed) != 1 {
				t.Errorf("refused order %s: %s, refunded %d of %d by %v, %d transitions to handle_failed",
					d.ID, d.State, d.RefundedFen, amount, d.Refunds, d.to(payments.OrderHandleFailed))
			}
		} else if d.State != payments.OrderHandled || d.RefundedFen != 0 || len(d.Refunds) != 0 || d.to(payments.OrderHandled) != 1 {
			t.Errorf("accepted order %s: %s, refunded %d by %v, %d transitions to handled", d.ID, d.State, d.RefundedFen, d.Refunds, d.to(payments.OrderHandled))
		}
	}

	// The bills: settled once, by their order, or owed again.
	cur, err = app.Mongo.DB.Collection(payments.CollBills).Find(ctx, bson.M{"_id": bson.M{"$in": bills}})
	if err != nil {
		t.Fatal(err)
	}
	var billDocs []struct {
		ID        string `bson:"_id"`
		State     string `bson:"state"`
		PaidOrder string `bson:"paid_order"`
		PaidFen   int64  `bson:"paid_fen"`
	}
	if err := cur.All(ctx, &billDocs); err != nil {
		t.Fatal(err)
	}
	var billsPaidFen int64
	for _, b := range billDocs {
		billsPaidFen += b.PaidFen
		switch {
		case sink.refuse[b.ID] && (b.State != payments.BillUnpaid || b.PaidOrder != ""):
			t.Errorf("bill %s of a refunded payment: %s, paid by %q; want owed again", b.ID, b.State, b.PaidOrder)
		case !sink.refuse[b.ID] && (b.State != payments.BillPaid || billOf[b.PaidOrder] != b.ID || b.PaidFen != amounts[b.ID]):
			t.Errorf("bill %s: %s by %q for %d", b.ID, b.State, b.PaidOrder, b.PaidFen)
		}
	}

	// The channel: one refund number per refused order, none for the
	// others; each refund made once, in full.
	p := app.Payments.Provider(payments.ProviderWeChatPay)
	var channelPaidFen, channelRefundedFen int64
	askedTwice := 0
	for _, o := range orders {
		tr, err := p.Query(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		channelPaidFen += tr.PaidFen
		asked := r.front.refundsOf(o)
		if !sink.refuse[billOf[o]] {
			if len(asked) != 0 || tr.State != payments.TradePaid {
				t.Errorf("accepted order %s: refunds asked %v, trade %s", o, asked, tr.State)
			}
			continue
		}
		if len(asked) != 1 || asked[o+"A"] == 0 {
			t.Errorf("refused order %s: refunds asked at the channel %v, want one, %sA", o, asked, o)
		}
		if asked[o+"A"] > 1 {
			askedTwice++ // the same refund number again: the channel refunds once
		}
		rf, err := p.QueryRefund(ctx, o, o+"A")
		if err != nil {
			t.Fatal(err)
		}
		if rf.State != payments.RefundSucceeded || rf.AmountFen != amounts[billOf[o]] {
			t.Errorf("refund %sA at the channel: %s, %d fen", o, rf.State, rf.AmountFen)
		}
		channelRefundedFen += rf.AmountFen
	}

	// Money, to the fen.
	var wantPaidFen int64
	for _, a := range amounts {
		wantPaidFen += a
	}
	if paidFen != wantPaidFen || channelPaidFen != wantPaidFen || billsPaidFen != wantPaidFen-wantRefundedFen ||
		refundedFen != wantRefundedFen || channelRefundedFen != wantRefundedFen {
		t.Errorf("fen: orders paid %d, channel paid %d, bills paid %d, orders refunded %d, channel refunded %d; want paid %d, refunded %d",
			paidFen, channelPaidFen, billsPaidFen, refundedFen, channelRefundedFen, wantPaidFen, wantRefundedFen)
	}
	today := time.Now().In(platform.Shanghai())
	days, err := platform.ParseDayRange(today.AddDate(0, 0, -1).Format(time.DateOnly), today.Format(time.DateOnly), platform.MaxStatsDays)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := app.Payments.Stats(ctx, days)
	if err != nil {
		t.Fatal(err)
	}
	var st payments.PayDayStats
	for _, s := range stats {
		st.Paid += s.Paid
		st.PaidFen += s.PaidFen
		st.Refunded += s.Refunded
		st.RefundedFen += s.RefundedFen
	}
	if st.Paid != total || st.PaidFen != wantPaidFen || int64(st.Refunded) != refused || st.RefundedFen != wantRefundedFen {
		t.Errorf("statistics: %+v; want %d paid (%d fen), %d refunded (%d fen)", st, total, wantPaidFen, refused, wantRefundedFen)
	}

	// The department heard of every payment; one event each in the outbox.
	sink.mu.Lock()
	heard, heardTwice := len(sink.seen), 0
	for _, n := range sink.seen {
		if n > 1 {
			heardTwice++
		}
	}
	sink.mu.Unlock()
	if heard != total {
		t.Errorf("the department heard of %d of %d payments", heard, total)
	}
	if n := r.count("outbox", bson.M{"_id": bson.M{"$regex": "^" + payments.EventPaymentSucceeded + ":"}}); n != total {
		t.Errorf("%d department events in the outbox, want %d", n, total)
	}
	t.Logf("%d orders paid at the channel with their callbacks lost: %d recorded at the SIGKILL, all final %s later "+
		"(%d handled, %d refunded); refunds asked again with the same number: %d; department events received twice: %d; "+
		"%d fen paid, %d fen refunded, equal in orders, bills, channel and statistics",
		total, atKill, doneAt.Sub(killedAt).Round(time.Millisecond), int64(total)-refused, refused, askedTwice, heardTwice,
		wantPaidFen, wantRefundedFen)
}

// reconDueDay is the day the daily reconciliation does at now (as
// payments' reconDueDate: the day before, from 10:30 Asia/Shanghai).
func reconDueDay(now time.Time) string {
	local := now.In(platform.Shanghai()).Add(-(10*time.Hour + 30*time.Minute))
	return local.AddDate(0, 0, -1).Format(time.DateOnly)
}

// TestWorkerSIGKILLDuringReconciliation: the due day's WeChat Pay bill has
// 640 payments (600 of them money Banshi never heard of) and arrives
// slowly (4 s); the worker reconciling it is SIGKILLed while it reads the
// bill, and a second worker reconciles the day again once the leases lapse
// (BANSHI_PAY_LEASE 12 s: the embedded store stalls for seconds on a busy
// machine, and a lease must outlast its stalls). The day then has one
// reconciliation per channel, done, whose summary is exact; each
// discrepancy is recorded once; and the one action money may take from it
// — refunding a payment only the channel has — refunds once, even when
// asked twice.
func TestWorkerSIGKILLDuringReconciliation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	const (
		trades      = 40  // real payments at the channel on the day
		matched     = 30  // of which Banshi has the same
		mismatched  = 5   // of which Banshi has another amount
		channelOnly = 5   // of which Banshi has nothing
		missing     = 5   // Banshi's payments the channel does not have
		synthetic   = 600 // channel-only rows added to the bill
	)
	ctx := context.Background()
	date := reconDueDay(time.Now())
	day, err := time.ParseInLocation(time.DateOnly, date, platform.Shanghai())
	if err != nil {
		t.Fatal(err)
	}
	simClock := platform.NewManualClock(day.Add(12 * time.Hour))
	r := newPayRig(t, simClock, map[string]string{"BANSHI_PAY_LEASE": "12s"})
	app := r.app
	p := app.Payments.Provider(payments.ProviderWeChatPay)

	// The day at the channel, and in Banshi.
	var banshiPaidFen, channelPaidFen int64
	var orphans []string
	for i := range trades {
		no := fmt.Sprintf("RK%s%04d", day.Format("20060102"), i)
		amount := int64(500 + 11*i)
		if _, err := p.Prepay(ctx, payments.PrepayRequest{OrderNo: no, Method: payments.WeChatJSAPI, AmountFen: amount,
			Subject: "非税缴款", PayerOpenID: "o_reconkill", ExpiresAt: simClock.Now().Add(15 * time.Minute),
			NotifyURL: "http://127.0.0.1:1/api/v1/hooks/wechatpay"}); err != nil {
			t.Fatal(err)
		}
		tradeNo, err := r.sims.wechat.Pay("", no, "")
		if err != nil {
			t.Fatal(err)
		}
		channelPaidFen += amount
		banshi := amount
		switch {
		case i >= matched+mismatched:
			orphans = append(orphans, no)
			continue
		case i >= matched:
			banshi += 100
		}
		insertPaidOrder(t, r, no, banshi, tradeNo, day.Add(12*time.Hour))
		banshiPaidFen += banshi
	}
	for i := range missing {
		amount := int64(900 + i)
		insertPaidOrder(t, r, fmt.Sprintf("RM%s%04d", day.Format("20060102"), i), amount, fmt.Sprintf("4200000000%014d", i), day.Add(13*time.Hour))
		banshiPaidFen += amount
	}
	for range synthetic {
		if _, err := r.sims.wechat.AddBillDiscrepancy(date, sim.DiscrepancyChannelOnly, ""); err != nil {
			t.Fatal(err)
		}
	}
	channelPaidFen += synthetic * sim.DiscrepancyChannelOnlyFen
	simClock.Set(time.Now())
	r.front.trickle.Store(true)

	recon := bson.M{"_id": date + "|" + payments.ProviderWeChatPay}
	items := bson.M{"date": date, "channel": payments.ProviderWeChatPay}
	var firstRun struct {
		Status string `bson:"status"`
		RunID  string `bson:"run_id"`
	}
	// Killed in the middle of reading the bill (it takes 4 s to arrive).
	// (Killing it in the middle of writing a batch of discrepancies wedges
	// the embedded test store for minutes on a busy machine.)
	first := r.startWorker()
	deadline := time.Now().Add(time.Minute)
	for r.front.loads.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the first worker asked for no bill in a minute\n%s", first.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	kill(t, first)
	killedAt := time.Now()
	atKill := r.count(payments.CollReconciliationItem, items)
	if err := app.Mongo.DB.Collection(payments.CollReconciliations).FindOne(ctx, recon).Decode(&firstRun); err != nil {
		t.Fatal(err)
	}
	if firstRun.Status != payments.ReconRunning {
		t.Fatalf("the reconciliation was %s at the kill: the kill interrupted nothing", firstRun.Status)
	}

	r.startWorker()
	var rec struct {
		Status  string                `bson:"status"`
		RunID   string                `bson:"run_id"`
		Runs    int64                 `bson:"runs"`
		Summary payments.ReconSummary `bson:"summary"`
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		err := app.Mongo.DB.Collection(payments.CollReconciliations).FindOne(ctx, recon).Decode(&rec)
		if err == nil && rec.Status == payments.ReconDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the kill and a second worker the reconciliation is %s (%v)", rec.Status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	doneAt := time.Now()

	// One reconciliation per channel for the day; WeChat Pay's run twice
	// (the killed run and the finishing one), its summary exact.
	if n := r.count(payments.CollReconciliations, bson.M{"date": date}); n != 2 {
		t.Errorf("%d reconciliations of %s, want one per channel (2)", n, date)
	}
	if n := r.count(payments.CollReconciliations, bson.M{"date": date, "status": payments.ReconDone}); n != 2 {
		t.Errorf("%d of the day's reconciliations done, want 2", n)
	}
	s := rec.Summary
	if rec.Runs != 2 || rec.RunID == firstRun.RunID {
		t.Errorf("runs %d (want 2), finished by run %s, killed run %s", rec.Runs, rec.RunID, firstRun.RunID)
	}
	if s.Matched != matched || s.AmountMismatch != mismatched || s.ChannelOnly != channelOnly+synthetic ||
		s.MissingAtChannel != missing || s.StatusMismatch != 0 || s.RefundMismatch != 0 {
		t.Errorf("discrepancies %+v", s)
	}
	if !s.TotalsAgree || s.ChannelTrades != trades+synthetic || s.ChannelPaidFen != channelPaidFen ||
		s.BanshiOrders != matched+mismatched+missing || s.BanshiPaidFen != banshiPaidFen {
		t.Errorf("totals %+v; want channel %d trades, %d fen; Banshi %d orders, %d fen", s, trades+synthetic, channelPaidFen,
			matched+mismatched+missing, banshiPaidFen)
	}

	// Each discrepancy recorded once, by the finishing run.
	cur, err := app.Mongo.DB.Collection(payments.CollReconciliationItem).Find(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	var its []struct {
		ID      string `bson:"_id"`
		Kind    string `bson:"kind"`
		OrderNo string `bson:"order_no"`
		RunID   string `bson:"run_id"`
		Gone    bool   `bson:"gone"`
	}
	if err := cur.All(ctx, &its); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	seen := map[string]int{}
	var orphanItems []string
	for _, it := range its {
		kinds[it.Kind]++
		seen[it.Kind+"|"+it.OrderNo]++
		if it.RunID != rec.RunID || it.Gone {
			t.Errorf("item %s (%s %s): run %s, gone %v; want found by run %s", it.ID, it.Kind, it.OrderNo, it.RunID, it.Gone, rec.RunID)
		}
		if it.Kind == payments.ReconChannelOnly && it.OrderNo == orphans[0] {
			orphanItems = append(orphanItems, it.ID)
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("discrepancy %s recorded %d times", k, n)
		}
	}
	if len(its) != mismatched+channelOnly+synthetic+missing || kinds[payments.ReconChannelOnly] != channelOnly+synthetic ||
		kinds[payments.ReconAmountMismatch] != mismatched || kinds[payments.ReconMissingAtChannel] != missing {
		t.Errorf("%d items by kind %v", len(its), kinds)
	}

	// Finance refunds a payment only the channel has, twice (a retry): one
	// refund at the channel.
	if len(orphanItems) != 1 {
		t.Fatalf("items of the orphan payment %s: %v", orphans[0], orphanItems)
	}
	rc, err := payments.NewReconciler(payments.ReconcilerDeps{DB: app.Mongo.DB, Log: testLog(),
		Providers: map[string]payments.Provider{payments.ProviderWeChatPay: p}, Actions: app.Payments})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Resolve(ctx, "fin.kill", date, payments.ProviderWeChatPay, orphanItems[0], payments.ReconRefund, "退回长款"); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Resolve(ctx, "fin.kill", date, payments.ProviderWeChatPay, orphanItems[0], payments.ReconRefund, "退回长款"); platform.CodeOf(err) != platform.CodeOf(payments.ErrReconItemResolved) {
		t.Errorf("resolving again: %v, want %s", err, platform.CodeOf(payments.ErrReconItemResolved))
	}
	if asked := r.front.refundsOf(orphans[0]); len(asked) != 1 || asked[orphans[0]+"C"] != 1 {
		t.Errorf("refunds of the orphan payment asked at the channel: %v, want %sC once", asked, orphans[0])
	}
	t.Logf("%s: bill of %d rows; %d discrepancies recorded at the SIGKILL, reconciliation done %s later by a second run "+
		"(%d runs), %d discrepancies, each once; orphan refunded once",
		date, s.BillRows, atKill, doneAt.Sub(killedAt).Round(time.Millisecond), rec.Runs, len(its))
}

// insertPaidOrder stores a handled order of Banshi's paid at paidAt.
func insertPaidOrder(t *testing.T, r *payRig, no string, amount int64, tradeNo string, paidAt time.Time) {
	t.Helper()
	_, err := r.app.Mongo.DB.Collection(payments.CollOrders).InsertOne(context.Background(), bson.M{
		"_id": no, "bill_no": "B-" + no, "provider": payments.ProviderWeChatPay, "method": "wechat_jsapi",
		"amount_fen": amount, "paid_fen": amount, "state": payments.OrderHandled, "channel_trade_no": tradeNo,
		"paid_at": paidAt, "paid_date": paidAt.In(platform.Shanghai()).Format(time.DateOnly), "published": true,
		"refunded_fen": int64(0), "refunding_fen": int64(0), "version": int64(1),
	})
	if err != nil {
		t.Fatal(err)
	}
}
