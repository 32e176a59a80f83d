package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/platform/platformtest"
	"banshi/notify"
)

// eventSink is a department system: it counts the events it receives by
// their event_id, taking a while over each (a real system's round trip).
type eventSink struct {
	mu   sync.Mutex
	seen map[string]int
	n    int
}

func (s *eventSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		EventID string `json:"event_id"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &ev); err != nil || ev.EventID == "" {
		http.Error(w, "no event_id", http.StatusBadRequest)
		return
	}
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	s.seen[ev.EventID]++
	s.n++
	s.mu.Unlock()
}

// counts returns the requests received and the distinct events among them.
func (s *eventSink) counts() (requests, distinct int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, len(s.seen)
}

// TestWorkerSIGKILLDuringDispatch is issue 15's worker fault: `banshi
// worker` is killed with SIGKILL while it dispatches events to a department
// system; a second worker, started on the same MongoDB and Redis, takes over
// the dead one's claims once their lease (BANSHI_OUTBOX_LEASE) lapses. Every
// event reaches the department (none lost), an event reaches it twice only
// if the killed worker had it in flight (at most its concurrency, 16), and
// the store records exactly one final "sent" outcome per event — counted by
// the events' deterministic ids.
func TestWorkerSIGKILLDuringDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	const (
		total       = 1000
		concurrency = 16 // notify.DispatcherConfig's default, what a worker runs
		lease       = 3 * time.Second
	)
	ctx := context.Background()
	mongoURI, redisURL := sharedStores(t)
	dir := t.TempDir() // one data folder: the same development keys everywhere
	env := testEnv(dir, "")
	for k, v := range map[string]string{
		"MONGODB_URI":         mongoURI,
		"MONGODB_DATABASE":    "banshi_workerkill_" + platformtest.RandomID(),
		"REDIS_URL":           redisURL,
		"BANSHI_SEED_DEMO":    "false",
		"BANSHI_OUTBOX_LEASE": lease.String(),
		"BANSHI_PUBLIC_URL":   "http://127.0.0.1:1",
	} {
		env[k] = v
	}
	// This process publishes (as the API would) and checks the store; it
	// dispatches nothing (no background work).
	app, _ := buildApp(t, env, false)
	defer app.Close()
	defer cleanRedis(app.Redis.Client, env["BANSHI_REDIS_PREFIX"])

	sk := &eventSink{seen: map[string]int{}}
	dept := httptest.NewServer(sk)
	defer dept.Close()
	if _, err := app.Registry.Create(ctx, integrations.New{ID: "dept-kill", Name: "被杀测试部门", Scopes: []string{integrations.ScopeBills}, CallbackURL: dept.URL + "/events"}); err != nil {
		t.Fatal(err)
	}
	msgs := make([]notify.Message, total)
	for i := range msgs {
		id := fmt.Sprintf("kill-%05d", i)
		msgs[i] = notify.Message{ID: id, UserID: "dept-kill", Kind: "payment.succeeded", Title: "payment.succeeded", Body: `{"event_id":"` + id + `"}`}
	}
	if err := app.Outbox.PublishTo(ctx, integrations.ChannelDepartment, msgs); err != nil {
		t.Fatal(err)
	}

	startWorker := func() *process {
		addr := freeAddr(t)
		wenv := map[string]string{"BANSHI_ADDR": addr}
		for k, v := range env {
			if wenv[k] == "" {
				wenv[k] = v
			}
		}
		p := startProcess(t, dir, wenv, "worker")
		waitUp(t, p, "http://"+addr+"/readyz")
		return p
	}
	first := startWorker()
	deadline := time.Now().Add(time.Minute)
	for n, _ := sk.counts(); n < total/10; n, _ = sk.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("the first worker delivered %d events in a minute\n%s", n, first.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := <-first.done
	first.done <- err // for startProcess's cleanup
	killedAt := time.Now()
	atKill, _ := sk.counts()
	time.Sleep(100 * time.Millisecond) // sends the dead process had on the wire land (or not)
	afterKill, distinctAfterKill := sk.counts()
	if distinctAfterKill >= total {
		t.Fatalf("everything was delivered before the kill (%d): the kill interrupted nothing", distinctAfterKill)
	}

	startWorker()
	deadline = time.Now().Add(2 * time.Minute)
	for {
		n, distinct := sk.counts()
		if distinct == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the kill and a second worker: %d of %d events delivered (%d requests)", distinct, total, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	doneAt := time.Now()

	// The store: one delivery per event (its id is the event's, with the
	// channel), and exactly one final outcome for each, "sent" — the
	// outbox records outcomes in outbox_results, the final one under
	// "<delivery>#final", written once.
	ids := make([]string, total)
	for i, m := range msgs {
		ids[i] = m.ID + "|" + integrations.ChannelDepartment
	}
	var deliveries, finals, finalsSent int64
	deadline = time.Now().Add(30 * time.Second)
	for {
		count := func(coll string, filter bson.M) int64 {
			n, err := app.Mongo.DB.Collection(coll).CountDocuments(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		deliveries = count("outbox", bson.M{"_id": bson.M{"$in": ids}})
		finals = count("outbox_results", bson.M{"delivery_id": bson.M{"$in": ids}, "final": true})
		finalsSent = count("outbox_results", bson.M{"delivery_id": bson.M{"$in": ids}, "final": true, "state": notify.StateSent})
		if finalsSent == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the last sends' records
	}
	if deliveries != total || finals != total || finalsSent != total {
		t.Errorf("store: %d deliveries, %d final outcomes of which %d sent; want %d each", deliveries, finals, finalsSent, total)
	}
	requests, distinct := sk.counts()
	twice := 0
	sk.mu.Lock()
	for id, n := range sk.seen {
		if n > 2 {
			t.Errorf("event %s received %d times", id, n)
		}
		if n == 2 {
			twice++
		}
	}
	sk.mu.Unlock()
	t.Logf("%d events: %d received by the department at the SIGKILL (%d 100 ms later), all %d after %s; %d requests, %d events received twice (the killed worker's in-flight sends); store: %d deliveries, %d final outcomes (%d sent)",
		total, atKill, afterKill, distinct, doneAt.Sub(killedAt).Round(time.Millisecond), requests, twice, deliveries, finals, finalsSent)
	if distinct != total {
		t.Errorf("%d of %d events reached the department", distinct, total)
	}
	if twice > concurrency {
		t.Errorf("%d events received twice, more than the killed worker could have had in flight (%d)", twice, concurrency)
	}
	if requests != total+twice {
		t.Errorf("%d requests for %d events with %d repeats", requests, total, twice)
	}
}
