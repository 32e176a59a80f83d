// Package platformtest gives tests a MongoDB database and a Redis key space of
// their own: the embedded FerretDB (one per test binary, a fresh database per
// test) and miniredis by default, real Redis when BANSHI_TEST_REDIS_URL is set
// (keys isolated under a random prefix, deleted afterwards, never flushed).
package platformtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

var (
	mongoOnce sync.Once
	mongoSrv  *platform.Mongo
	mongoErr  error
)

// Logger returns a logger that discards everything unless BANSHI_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("BANSHI_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// RandomID returns a short random hex string for names and prefixes.
func RandomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Mongo returns a fresh, empty database on the shared embedded FerretDB (or on
// BANSHI_TEST_MONGODB_URI when set). The database is dropped when the test ends.
func Mongo(t testing.TB) *mongo.Database {
	t.Helper()
	mongoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "banshi-test-mongo-")
		if err != nil {
			mongoErr = err
			return
		}
		mongoSrv, mongoErr = platform.OpenMongo(context.Background(), os.Getenv("BANSHI_TEST_MONGODB_URI"), "unused", dir, Logger())
	})
	if mongoErr != nil {
		t.Fatalf("test MongoDB: %v", mongoErr)
	}
	name := "t_" + RandomID()
	db := mongoSrv.Client.Database(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
	})
	return db
}

// MongoClient returns the client behind Mongo, for tests that open several
// handles on one database (several "processes").
func MongoClient(t testing.TB) *mongo.Client {
	t.Helper()
	Mongo(t)
	return mongoSrv.Client
}

// Redis returns a Redis client and a key prefix unique to this test. With
// BANSHI_TEST_REDIS_URL it is the real server and the prefix's keys are deleted
// at the end; otherwise a private miniredis.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	prefix := "banshitest:" + RandomID() + ":"
	if url := os.Getenv("BANSHI_TEST_REDIS_URL"); url != "" {
		c, err := platform.NewRedisClient(url)
		if err != nil {
			t.Fatalf("BANSHI_TEST_REDIS_URL: %v", err)
		}
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("BANSHI_TEST_REDIS_URL: %v", err)
		}
		t.Cleanup(func() {
			deletePrefix(context.Background(), c, prefix)
			c.Close()
		})
		return c, prefix
	}
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return c, prefix
}

// MiniRedis returns a private miniredis and a client on it, for tests that must
// lose Redis data (FLUSHALL) without touching a shared server.
func MiniRedis(t testing.TB) (*miniredis.Miniredis, redis.UniversalClient) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return m, c
}

// RealRedis reports whether tests run against a real Redis server.
func RealRedis() bool { return strings.TrimSpace(os.Getenv("BANSHI_TEST_REDIS_URL")) != "" }

// deletePrefix deletes the keys under prefix: on every master of a Redis
// Cluster (a SCAN sees one node's keys), one key at a time there (keys of
// one DEL must share a slot).
func deletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) {
	scanDel := func(ctx context.Context, node redis.Cmdable, batch int) {
		iter := node.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), batch)
			node.Del(ctx, keys[:n]...)
			keys = keys[n:]
		}
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			scanDel(ctx, node, 1)
			return nil
		})
		return
	}
	scanDel(ctx, c, 500)
}
