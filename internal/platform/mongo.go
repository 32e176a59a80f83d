package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
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

// OpenMongo connects to uri, or when uri is empty starts an embedded FerretDB
// (SQLite files under dataDir/mongo, listening on loopback only) and connects to
// it with a single-connection pool (see DESIGN.md: that restores per-document
// atomicity of conditional updates).
func OpenMongo(ctx context.Context, uri, database, dataDir string, log *slog.Logger) (*Mongo, error) {
	if uri != "" {
		client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(10 * time.Second))
		if err != nil {
			return nil, fmt.Errorf("connect MongoDB: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := client.Ping(pctx, readpref.Primary()); err != nil {
			_ = client.Disconnect(context.Background())
			return nil, fmt.Errorf("ping MongoDB: %w", err)
		}
		log.Info("store in use", "mongodb", "external", "database", database)
		return &Mongo{Client: client, DB: client.Database(database)}, nil
	}
	dir := filepath.Join(dataDir, "mongo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create embedded MongoDB folder: %w", err)
	}
	m, err := openEmbedded(ctx, dir, database)
	if err != nil {
		return nil, err
	}
	log.Info("store in use", "mongodb", "embedded FerretDB (SQLite)", "dir", dir, "database", database)
	return m, nil
}

func openEmbedded(ctx context.Context, dir, database string) (*Mongo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// FerretDB logs whole wire messages of failed commands at WARN: keep only
	// errors, so stored documents (even encrypted ones) never reach the logs.
	quiet := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
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
		SetMaxPoolSize(1).SetTimeout(30 * time.Second))
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
