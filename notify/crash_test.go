package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// Settings of the crash test's child process (a dispatcher in a process of
// its own, on the parent's MongoDB).
const (
	envCrashChild = "BANSHI_OUTBOX_CRASH_CHILD"
	envCrashMongo = "BANSHI_OUTBOX_CRASH_MONGO"
	envCrashDB    = "BANSHI_OUTBOX_CRASH_DB"
	envCrashSink  = "BANSHI_OUTBOX_CRASH_SINK"
	envCrashRedis = "BANSHI_OUTBOX_CRASH_REDIS"

	crashConcurrency = 16
	crashLease       = 10 * time.Second
)

// httpChannel posts each delivery's id to a sink: what a real channel does
// over the network, observable from another process.
type httpChannel struct{ url string }

func (h httpChannel) Name() string { return "sink" }

func (h httpChannel) Deliver(ctx context.Context, d Delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(d.ID))
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("sink answered %d", res.StatusCode)
	}
	return nil
}

// sink counts what it receives per delivery id.
type sink struct {
	mu   sync.Mutex
	seen map[string]int
	n    int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	time.Sleep(2 * time.Millisecond) // a channel's round trip
	s.mu.Lock()
	s.seen[string(b)]++
	s.n++
	s.mu.Unlock()
}

func (s *sink) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// TestOutboxCrashChild is the child process of
// TestSIGKILLWhileDispatchingLosesNothing; it does nothing on its own.
func TestOutboxCrashChild(t *testing.T) {
	if os.Getenv(envCrashChild) == "" {
		t.Skip("the child process of TestSIGKILLWhileDispatchingLosesNothing")
	}
	ctx := context.Background()
	m, err := platform.OpenMongo(ctx, os.Getenv(envCrashMongo), os.Getenv(envCrashDB), "", platformtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(envCrashRedis)})
	box := NewOutbox(OutboxDeps{DB: m.DB, Redis: rdb, RedisPrefix: "crash:", Inbox: NewInbox(m.DB, nil), Clock: platform.SystemClock{}}, OutboxConfig{})
	d := NewDispatcher(box, []Channel{httpChannel{os.Getenv(envCrashSink)}}, DispatcherConfig{
		Concurrency: crashConcurrency, Lease: crashLease, Poll: 20 * time.Millisecond,
	})
	_ = d.Run(ctx) // until the parent kills this process
}

// TestSIGKILLWhileDispatchingLosesNothing: a dispatcher in another process is
// killed with SIGKILL while it dispatches 2,000 messages; a dispatcher
// started afterwards on the same store finishes the work. Every message
// reaches the channel (0 lost), and the ones sent twice are at most those
// the killed process had in flight (its concurrency).
func TestSIGKILLWhileDispatchingLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	const total = 2000
	ctx := context.Background()
	uri := "mongodb://" + platformtest.FerretDB(t) + "/"
	dbName := "crash_" + platformtest.RandomID()
	m, err := platform.OpenMongo(ctx, uri, dbName, "", platformtest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	mr, rdb := platformtest.MiniRedis(t)
	box := NewOutbox(OutboxDeps{DB: m.DB, Redis: rdb, RedisPrefix: "crash:", Inbox: NewInbox(m.DB, nil), Clock: platform.SystemClock{}}, OutboxConfig{})
	if err := box.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := make([]Message, total)
	for i := range msgs {
		msgs[i] = Message{ID: fmt.Sprintf("crash:%05d", i), UserID: "dept", Kind: "k", Title: "t"}
	}
	if err := box.PublishTo(ctx, "sink", msgs); err != nil {
		t.Fatal(err)
	}
	sk := &sink{seen: map[string]int{}}
	srv := httptest.NewServer(sk)
	t.Cleanup(srv.Close)

	child := exec.Command(os.Args[0], "-test.run=^TestOutboxCrashChild$")
	child.Env = append(os.Environ(), envCrashChild+"=1", envCrashMongo+"="+uri, envCrashDB+"="+dbName, envCrashSink+"="+srv.URL, envCrashRedis+"="+mr.Addr())
	child.Stdout, child.Stderr = io.Discard, io.Discard
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for sk.total() < total/4 {
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatalf("the child sent %d in 2 minutes", sk.total())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	atKill := sk.total()

	// Another "process" on the same store: the killed one's claims lapse.
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	d := NewDispatcher(box, []Channel{httpChannel{srv.URL}}, DispatcherConfig{Concurrency: crashConcurrency, Lease: crashLease, Poll: 20 * time.Millisecond})
	go func() { done <- d.Run(rctx) }()
	for {
		// The queue in Redis, not a count of MongoDB (a scan on the embedded engine).
		queued, inflight, err := box.q.depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if queued+inflight == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d queued, %d in flight", queued, inflight)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if n, err := box.results.CountDocuments(cctx, bson.M{"state": StateSent, "final": true}); err != nil || n != total {
		t.Fatalf("%d of %d deliveries recorded sent (%v)", n, total, err)
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	lost, dups := 0, 0
	for _, msg := range msgs {
		switch c := sk.seen[msg.ID+"|sink"]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
	}
	t.Logf("killed after %d sends; %d lost, %d sent twice (bound %d), %d sends in all", atKill, lost, dups, crashConcurrency, sk.n)
	if lost != 0 {
		t.Errorf("%d messages lost", lost)
	}
	if dups > crashConcurrency {
		t.Errorf("%d duplicates, more than the %d the killed process had in flight", dups, crashConcurrency)
	}
}
