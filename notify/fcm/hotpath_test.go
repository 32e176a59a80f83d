package fcm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// filterLog records every command a client sends that would make the
// embedded FerretDB read a whole collection: a find, update, delete or
// findAndModify whose filter is not exactly {_id: <string>}, a sort, or a
// count, aggregate or distinct.
type filterLog struct {
	mu   sync.Mutex
	bad  []string
	seen int
}

func (l *filterLog) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		var filters []bson.Raw
		cmd := e.Command
		switch e.CommandName {
		case "find":
			if s, ok := cmd.Lookup("sort").DocumentOK(); ok && len(s) > 5 {
				l.note(e.CommandName + " sorted: " + cmd.String())
			}
			filters = append(filters, docOf(cmd, "filter"))
		case "findAndModify":
			if s, ok := cmd.Lookup("sort").DocumentOK(); ok && len(s) > 5 {
				l.note(e.CommandName + " sorted: " + cmd.String())
			}
			filters = append(filters, docOf(cmd, "query"))
		case "update", "delete":
			key := map[string]string{"update": "updates", "delete": "deletes"}[e.CommandName]
			arr, _ := cmd.Lookup(key).ArrayOK()
			vals, _ := arr.Values()
			for _, v := range vals {
				filters = append(filters, docOf(v.Document(), "q"))
			}
		case "count", "aggregate", "distinct":
			l.note(e.CommandName + ": " + cmd.String())
			return
		default:
			return
		}
		for _, f := range filters {
			if !idOnly(f) {
				l.note(e.CommandName + " by " + f.String())
			}
		}
		l.mu.Lock()
		l.seen++
		l.mu.Unlock()
	}}
}

func docOf(d bson.Raw, key string) bson.Raw {
	v, _ := d.Lookup(key).DocumentOK()
	return v
}

// idOnly reports a filter FerretDB pushes down: {_id: <string>}.
func idOnly(f bson.Raw) bool {
	elems, err := f.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "_id" {
		return false
	}
	_, ok := elems[0].Value().StringValueOK()
	return ok
}

func (l *filterLog) note(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bad = append(l.bad, s)
}

// TestEveryOperationIsByID: registering, moving, listing, deleting and
// removing devices, trimming to ten, and deliveries with a retry, a refusal
// and an unregistered token send FerretDB only filters it pushes down
// (exactly {_id: <string>}, no sort, no count or aggregate). Only Purge, off
// the hot path, may read a whole collection.
func TestEveryOperationIsByID(t *testing.T) {
	ctx := context.Background()
	log := &filterLog{}
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + platformtest.FerretDB(t) + "/").
		SetMaxPoolSize(1).SetTimeout(30 * time.Second).SetMonitor(log.monitor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database("hotpath")
	clock := platform.NewManualClock(t0)
	devices := NewDevices(db, clock)
	fake := &scriptedSender{sends: map[string]int{}, script: map[string][]error{
		"busy": {&SendError{Code: "unavailable", RetryAfter: 30 * time.Second, Err: errors.New("503")}},
		"bad":  {&SendError{Code: "invalid_argument", Permanent: true, Err: errors.New("400")}},
		"dead": {fmt.Errorf("%w: gone", ErrUnregistered)},
	}}
	ch := NewChannel(db, devices, fake, clock, nil)
	for _, tok := range []string{"ok", "busy", "bad", "dead", "moving"} {
		if _, err := devices.Register(ctx, "u1", PlatformAndroid, tok); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if _, err := devices.Register(ctx, "u1", PlatformIOS, "ok"); err != nil { // a refresh
		t.Fatal(err)
	}
	if _, err := devices.Register(ctx, "u2", PlatformIOS, "moving"); err != nil { // a move
		t.Fatal(err)
	}
	if _, err := devices.Register(ctx, "u1", PlatformIOS, "moving"); err != nil { // and back
		t.Fatal(err)
	}
	if code, kind := outcome(ch.Deliver(ctx, delivery("u1"))); code != "unavailable" || kind != "retry" {
		t.Fatalf("first attempt: %s %s", code, kind)
	}
	if err := ch.Deliver(ctx, delivery("u1")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if fake.sends["ok"] != 1 || fake.sends["busy"] != 2 || fake.sends["dead"] != 1 {
		t.Fatalf("sends %v", fake.sends)
	}
	if code, kind := outcome(ch.Deliver(ctx, delivery("nobody"))); code != "no_device" || kind != "skipped" {
		t.Fatalf("no device: %s %s", code, kind)
	}
	for i := range MaxDevices + 1 {
		if _, err := devices.Register(ctx, "u3", PlatformAndroid, fmt.Sprintf("many%02d", i)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if got := tokens(t, devices, "u3"); len(got) != MaxDevices || strings.Contains(fmt.Sprint(got), "many00") {
		t.Fatalf("u3 %v", got)
	}
	if err := devices.Delete(ctx, "u1", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := devices.Delete(ctx, "u2", "bad"); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatal(err)
	}
	if err := devices.RemoveToken(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	if got := tokens(t, devices, "u1"); fmt.Sprint(got) != "[moving busy]" {
		t.Fatalf("u1 %v", got)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.seen < 50 {
		t.Fatalf("only %d reads and writes seen: is the monitor attached?", log.seen)
	}
	for _, b := range log.bad {
		t.Errorf("not by _id: %s", b)
	}
}
