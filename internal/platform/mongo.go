package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// Mongo is an open MongoDB database, real or embedded.
type Mongo struct {
	Client   *mongo.Client
	DB       *mongo.Database
	Embedded bool
	stop     func()
}

// Close disconnects the client and stops the embedded engine, if any.
func (m *Mongo) Close(ctx context.Context) error {
	err := m.Client.Disconnect(ctx)
	if m.stop != nil {
		m.stop()
	}
	return err
}

// Ping checks the database answers.
func (m *Mongo) Ping(ctx context.Context) error { return m.Client.Ping(ctx, readpref.Primary()) }

// OpenMongo connects to uri and pings the primary, or when uri is empty
// starts an embedded FerretDB (SQLite files under dataDir/mongo, listening
// on loopback only) and connects to it with a single-connection pool (see
// DESIGN.md: that restores per-document atomicity of conditional updates).
// The embedded engine holds dataDir/mongo/.lock until Close: while another
// process (or another OpenMongo) holds it, the error wraps ErrDataDirInUse.
// On an external MongoDB an operation whose context has no deadline gives up
// after StoreTimeout unless the URI's timeoutMS says otherwise; the embedded
// engine, whose single connection queues every operation, keeps a long one.
//
// Errors: a malformed uri (as LoadConfig reports it), a failed connect
// (including the SRV and TXT look-ups of a mongodb+srv URI) or ping, or a
// failed start of the embedded engine. No error carries the URI's password.
func OpenMongo(ctx context.Context, uri, database, dataDir string, log *slog.Logger, opts ...MongoOption) (*Mongo, error) {
	var o mongoOpts
	for _, opt := range opts {
		opt(&o)
	}
	if uri != "" {
		if err := checkMongoURI(uri); err != nil {
			return nil, fmt.Errorf("MONGODB_URI: %w", err)
		}
		client, err := mongo.Connect(mongoClientOptions(uri).SetMonitor(o.monitor))
		if err != nil {
			return nil, fmt.Errorf("connect MongoDB at %s: %w", RedactURL(uri), redactError(err, uri))
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := client.Ping(pctx, readpref.Primary()); err != nil {
			_ = client.Disconnect(context.Background())
			return nil, fmt.Errorf("ping MongoDB at %s: %w", RedactURL(uri), redactError(err, uri))
		}
		log.Info("store in use", "mongodb", "external", "uri", RedactURL(uri), "database", database)
		return &Mongo{Client: client, DB: client.Database(database)}, nil
	}
	dir := filepath.Join(dataDir, "mongo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create embedded MongoDB folder: %w", err)
	}
	// One engine per folder: a second process must not start its own over
	// the same files (see lockDataDir). The lock lives as long as the engine.
	unlock, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	m, err := openEmbedded(ctx, dir, database, o.monitor)
	if err != nil {
		unlock()
		return nil, err
	}
	stopEngine := m.stop
	m.stop = func() { stopEngine(); unlock() }
	log.Info("store in use", "mongodb", "embedded FerretDB (SQLite)", "dir", dir, "database", database)
	return m, nil
}

// MongoOption changes how OpenMongo connects.
type MongoOption func(*mongoOpts)

type mongoOpts struct {
	monitor *event.CommandMonitor
}

// WithCommandMonitor has the client report every command to m (tracing);
// nil reports nothing.
func WithCommandMonitor(m *event.CommandMonitor) MongoOption {
	return func(o *mongoOpts) { o.monitor = m }
}

// checkMongoURI reports whether uri is a connection string the driver
// accepts, without touching the network: a mongodb+srv URI is checked as the
// mongodb:// URI of its one host (its SRV and TXT records are looked up only
// when connecting). Errors never carry the URI's credentials (see
// parseError).
func checkMongoURI(uri string) error {
	if err := checkMongoSyntax(uri); err != nil {
		return parseError(uri, err, checkMongoSyntax)
	}
	return nil
}

func checkMongoSyntax(uri string) error {
	rest, srv := strings.CutPrefix(uri, "mongodb+srv://")
	if !srv {
		return options.Client().ApplyURI(uri).Validate()
	}
	// The host list ends at the first '/' or '?' after the user information
	// (the driver reads that up to the first '@').
	hosts := rest
	if at := strings.IndexByte(hosts, '@'); at >= 0 {
		hosts = hosts[at+1:]
	}
	if i := strings.IndexAny(hosts, "/?"); i >= 0 {
		hosts = hosts[:i]
	}
	if strings.Contains(hosts, ",") {
		return errors.New("a mongodb+srv URI names exactly one host")
	}
	if strings.Contains(hosts, ":") {
		return errors.New("a mongodb+srv URI takes no port")
	}
	// srvServiceName and srvMaxHosts are refused on mongodb://; the SRV
	// scheme's own checks of them need the DNS answer.
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		var keep []string
		for _, pair := range strings.FieldsFunc(rest[q+1:], func(r rune) bool { return r == '&' || r == ';' }) {
			name, _, _ := strings.Cut(pair, "=")
			if n := strings.ToLower(name); n != "srvservicename" && n != "srvmaxhosts" {
				keep = append(keep, pair)
			}
		}
		rest = rest[:q+1] + strings.Join(keep, "&")
	}
	return options.Client().ApplyURI("mongodb://" + rest).Validate()
}

func openEmbedded(ctx context.Context, dir, database string, monitor *event.CommandMonitor) (*Mongo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// FerretDB logs whole wire messages of failed commands at WARN: keep only
	// errors, so stored documents (even encrypted ones) never reach the logs.
	quiet := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:  "sqlite",
		// WAL (FerretDB's default) with synchronous=NORMAL: a commit is
		// durable once in the write-ahead log, without an fsync per write
		// (20× cheaper inserts here). Survives a killed process; a power
		// loss may lose the last commits — this is the development and test
		// engine, production runs MongoDB.
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(normal)",
		Logger:    quiet,
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded MongoDB: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(rctx)
	}()
	stop := func() { cancel(); <-done }
	client, err := mongo.Connect(options.Client().ApplyURI(f.MongoDBURI()).
		SetMaxPoolSize(1).SetTimeout(30 * time.Second).SetMonitor(monitor))
	if err != nil {
		stop()
		return nil, fmt.Errorf("connect embedded MongoDB: %w", err)
	}
	var perr error
	for range 100 {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		perr = client.Ping(pctx, readpref.Primary())
		pcancel()
		if perr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if perr != nil {
		_ = client.Disconnect(context.Background())
		stop()
		return nil, fmt.Errorf("embedded MongoDB did not answer: %w", perr)
	}
	// Lookups by _id use an index (embedded_index.go): at start, then for
	// the collections created later.
	ictx, icancel := context.WithCancel(context.Background())
	idone := make(chan struct{})
	go func() {
		defer close(idone)
		keepIDIndexes(ictx, abs, 2*time.Second, slog.New(slog.DiscardHandler))
	}()
	stopEngine := stop
	stop = func() { icancel(); <-idone; stopEngine() }
	return &Mongo{Client: client, DB: client.Database(database), Embedded: true, stop: stop}, nil
}

// IsDuplicateKey reports whether err is MongoDB's duplicate-key error, the
// answer of a race arbiter (DESIGN.md invariant 1).
func IsDuplicateKey(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var we mongo.WriteException
	if errors.As(err, &we) {
		for _, e := range we.WriteErrors {
			if e.Code == 11000 {
				return true
			}
		}
	}
	return false
}

// mongoClientOptions are the options of a client of an external MongoDB:
// Banshi's defaults first, so that the URI's own settings win. Writes wait
// for a majority of the replica set and the journal (a booking or a payment
// acknowledged survives a failover), are retried once on a failover
// (retryable writes; every write Banshi makes is idempotent or
// conditional), and reads go to the primary (decisions read what was
// written).
func mongoClientOptions(uri string) *options.ClientOptions {
	return options.Client().SetTimeout(StoreTimeout).
		SetServerSelectionTimeout(StoreTimeout).SetConnectTimeout(StoreTimeout).
		SetWriteConcern(writeconcern.Majority()).SetRetryWrites(true).SetRetryReads(true).
		SetReadPreference(readpref.Primary()).
		ApplyURI(uri)
}
