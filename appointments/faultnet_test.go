package appointments

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform/platformtest"
)

// Fault injection between the MongoDB driver and the server, for tests that
// must reproduce what a network does to a request: deliver it and lose its
// reply, lose it altogether, or fail it. The shared test database
// (platformtest.Mongo) does not tell its address, so these tests use a
// MongoDB of their own: BANSHI_TEST_MONGODB_URI when set, else a second
// embedded FerretDB started once per test binary.

var faultMongo struct {
	once sync.Once
	uri  string
	err  error
}

func faultMongoURI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("BANSHI_TEST_MONGODB_URI"); uri != "" {
		return uri
	}
	faultMongo.once.Do(func() {
		dir, err := os.MkdirTemp("", "banshi-faultnet-")
		if err != nil {
			faultMongo.err = err
			return
		}
		f, err := ferretdb.New(&ferretdb.Config{
			Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
			Handler:   "sqlite",
			SQLiteURL: "file:" + dir + "/",
			Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4})),
		})
		if err != nil {
			faultMongo.err = err
			return
		}
		go func() { _ = f.Run(context.Background()) }() // lives as long as the test binary
		faultMongo.uri = f.MongoDBURI()
	})
	if faultMongo.err != nil {
		t.Fatalf("fault-injection MongoDB: %v", faultMongo.err)
	}
	return faultMongo.uri
}

// faultClient connects to the fault-injection MongoDB through fn (nil: no
// faults) with an optional command monitor, with one connection as the
// embedded engine needs (DESIGN.md).
func faultClient(t testing.TB, fn *faultNet, mon *event.CommandMonitor) *mongo.Client {
	t.Helper()
	o := options.Client().ApplyURI(faultMongoURI(t)).SetMaxPoolSize(1).SetTimeout(30 * time.Second)
	if fn != nil {
		o.SetDialer(fn)
	}
	if mon != nil {
		o.SetMonitor(mon)
	}
	c, err := mongo.Connect(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// faultDB returns a fresh database on the fault-injection MongoDB, reached
// through fn, dropped when the test ends.
func faultDB(t testing.TB, fn *faultNet, mon *event.CommandMonitor) *mongo.Database {
	t.Helper()
	db := faultClient(t, fn, mon).Database("t_" + platformtest.RandomID())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = faultClient(t, nil, nil).Database(db.Name()).Drop(ctx)
	})
	return db
}

type faultAction int

const (
	// loseReply delivers the request, waits for the server's reply and
	// keeps it from the driver until the driver closes the connection (it
	// does when the operation's context ends).
	loseReply faultAction = iota + 1
	// swallow never delivers the request; no reply comes.
	swallow
	// fail fails the write of the request at once.
	fail
	// dropReply delivers the request, waits for the server's reply and
	// then fails the read as a reset connection would.
	dropReply
)

type faultRule struct {
	match  func(req []byte) bool
	action faultAction
	once   bool
	every  int // act on every n-th match only (0: every match)
	seen   int
	fired  chan struct{} // closed when the rule acted (the reply is held, the request swallowed or failed)
	sig    sync.Once
	done   bool
}

// faultNet is a Dialer for the MongoDB driver whose connections apply
// rules to the requests they carry. Requests are matched on their raw
// bytes (a wire message: the command and its documents in BSON).
type faultNet struct {
	mu    sync.Mutex
	rules []*faultRule
	d     net.Dialer
}

func newFaultNet() *faultNet { return &faultNet{} }

// add arms a rule; the channel is closed when it first acts.
func (n *faultNet) add(match func([]byte) bool, a faultAction, once bool) (<-chan struct{}, func()) {
	return n.addEvery(match, a, once, 0)
}

// addEvery arms a rule that acts on every n-th matching request.
func (n *faultNet) addEvery(match func([]byte) bool, a faultAction, once bool, every int) (<-chan struct{}, func()) {
	r := &faultRule{match: match, action: a, once: once, every: every, fired: make(chan struct{})}
	n.mu.Lock()
	n.rules = append(n.rules, r)
	n.mu.Unlock()
	remove := func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		r.done = true
	}
	return r.fired, remove
}

func (n *faultNet) verdict(req []byte) (faultAction, *faultRule) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.rules {
		if r.done || !r.match(req) {
			continue
		}
		if r.seen++; r.every > 1 && r.seen%r.every != 0 {
			continue
		}
		if r.once {
			r.done = true
		}
		return r.action, r
	}
	return 0, nil
}

// DialContext implements options.ContextDialer.
func (n *faultNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := n.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: c, n: n, closed: make(chan struct{})}, nil
}

type faultConn struct {
	net.Conn
	n      *faultNet
	mu     sync.Mutex
	stuck  *faultRule // the reply to the last request is held (loseReply) or will never come (swallow)
	closed chan struct{}
	once   sync.Once
}

func (c *faultConn) Write(p []byte) (int, error) {
	action, r := c.n.verdict(p)
	switch action {
	case fail:
		r.signal()
		return 0, errors.New("faultnet: request failed")
	case swallow:
		c.mu.Lock()
		c.stuck = r
		c.mu.Unlock()
		r.signal()
		return len(p), nil
	case loseReply, dropReply:
		c.mu.Lock()
		c.stuck = r
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

func (c *faultConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	r := c.stuck
	c.mu.Unlock()
	if r == nil {
		return c.Conn.Read(p)
	}
	if r.action == loseReply || r.action == dropReply {
		// The server has answered once bytes arrive: the request took effect.
		buf := make([]byte, 64<<10)
		_, _ = c.Conn.Read(buf)
		r.signal()
	}
	if r.action == dropReply {
		return 0, errors.New("faultnet: connection reset by peer")
	}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *faultConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (r *faultRule) signal() { r.sig.Do(func() { close(r.fired) }) }

// isInsertOf matches an insert command into coll whose documents contain
// every one of the strings (as BSON string values).
func isInsertOf(coll string, values ...string) func([]byte) bool {
	name := bsonString("insert", coll)
	return func(req []byte) bool {
		if !bytes.Contains(req, name) {
			return false
		}
		for _, v := range values {
			if !bytes.Contains(req, append([]byte(v), 0)) {
				return false
			}
		}
		return true
	}
}

// bsonString is the encoding of the string element key: value.
func bsonString(key, value string) []byte {
	n := len(value) + 1
	b := append([]byte{0x02}, key...)
	b = append(b, 0, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	b = append(b, value...)
	return append(b, 0)
}
