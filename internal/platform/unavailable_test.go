package platform_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestStoreOutagesAreRecognised: the errors a store gives when it is gone
// (connection refused, connection closed) or hangs (no answer) are
// StoreUnavailable, and come within about a second of the call; answers of
// a working store, and errors that are not about reaching a store, are not.
func TestStoreOutagesAreRecognised(t *testing.T) {
	ctx := context.Background()
	log := platformtest.Logger()

	mini, _ := platformtest.MiniRedis(t)
	rproxy := platformtest.NewProxy(t, mini.Addr())
	r, err := platform.OpenRedis(ctx, "redis://"+rproxy.Addr()+"/0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mproxy := platformtest.NewProxy(t, platformtest.FerretDB(t))
	m, err := platform.OpenMongo(ctx, "mongodb://"+mproxy.Addr()+"/", "outage", t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	coll := m.DB.Collection("c")

	redisCall := func() error { return r.Client.Set(ctx, "k", "v", time.Minute).Err() }
	mongoRead := func() error { return coll.FindOne(ctx, bson.M{"_id": "x"}).Err() }
	mongoWrite := func() error {
		_, err := coll.UpdateOne(ctx, bson.M{"_id": "x"}, bson.M{"$set": bson.M{"v": 1}})
		return err
	}
	check := func(what string, call func() error) {
		t.Helper()
		start := time.Now()
		err := call()
		took := time.Since(start)
		if !platform.StoreUnavailable(err) {
			t.Errorf("%s: %v (%T) is not recognised as an outage", what, err, err)
		}
		if !platform.StoreUnavailable(fmt.Errorf("feature: %w", err)) {
			t.Errorf("%s: the wrapped error is not recognised", what)
		}
		if took > 2*time.Second {
			t.Errorf("%s took %s, want about a second", what, took)
		}
	}
	up := func(what string, call func() error) {
		t.Helper()
		if err := call(); err != nil && platform.StoreUnavailable(err) {
			t.Errorf("%s: %v taken for an outage", what, err)
		}
	}
	up("redis up", redisCall)
	up("mongodb read, up", mongoRead)
	up("mongodb write, up", mongoWrite)
	up("mongodb write probe, up", func() error { return m.ProbeWrite(ctx) })

	rproxy.Pause()
	check("redis paused", redisCall)
	rproxy.Resume()
	rproxy.Kill()
	check("redis killed", redisCall)
	rproxy.Resume()
	mini.Close()
	check("redis stopped", redisCall)
	if err := mini.Restart(); err != nil {
		t.Fatal(err)
	}
	up("redis back", redisCall)

	mproxy.Pause()
	check("mongodb read, paused", mongoRead)
	check("mongodb write, paused", mongoWrite)
	check("mongodb write probe, paused", func() error { return m.ProbeWrite(ctx) })
	mproxy.Resume()
	mproxy.Kill()
	check("mongodb read, killed", mongoRead)
	mproxy.Resume()
	deadline := time.Now().Add(5 * time.Second)
	for mongoRead() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	up("mongodb back", mongoRead)

	for _, err := range []error{
		nil, errors.New("boom"), context.Canceled, fmt.Errorf("decode: %w", errors.New("bad")),
		platform.NewError("slot_full", "已满"),
	} {
		if platform.StoreUnavailable(err) {
			t.Errorf("%v taken for an outage", err)
		}
	}
	// An HTTP client's failure is an upstream's, not a store's.
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Close()
	_, herr := http.Get(srv.URL)
	if herr == nil || platform.StoreUnavailable(herr) {
		t.Errorf("HTTP client error %v taken for an outage", herr)
	}
}
