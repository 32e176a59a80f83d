package platformtest

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// FerretDB starts an embedded FerretDB of the test's own (SQLite files in a
// temporary folder, loopback only) and returns its host:port, for tests that
// put something between Banshi and its MongoDB (a Proxy). It stops when the
// test ends.
func FerretDB(t testing.TB) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + t.TempDir() + "/?_pragma=synchronous(normal)", // as platform.OpenMongo's
		Logger:    quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	uri := f.MongoDBURI() // mongodb://127.0.0.1:port/
	host := uri[len("mongodb://"):]
	for i, c := range host {
		if c == '/' || c == '?' {
			host = host[:i]
			break
		}
	}
	return host
}
