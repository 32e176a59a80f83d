package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/appointments"
	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/session"
)

// booking is a booking service on the test's own database (returned too)
// and Redis prefix, at a fixed time.
func booking(t *testing.T) (*appointments.Service, *mongo.Database) {
	t.Helper()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	svc, err := appointments.NewService(appointments.Deps{
		DB: db, Redis: rdb, RedisPrefix: prefix,
		Clock:      platform.NewManualClock(time.Date(2026, 3, 9, 10, 0, 0, 0, platform.Shanghai())),
		Log:        platformtest.Logger(),
		CheckinKey: []byte("test-checkin-key-0123456789"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc, db
}

// TestPrepareSlotThroughThePublicAPI: prepareSlot adds the crowd's hall
// through the service's import and hands out an untouched slot of the
// asked capacity, and a different one once that one has a booking; the
// seats booked there are what countBooked finds in MongoDB (so the load
// test counts the collections the service really writes).
func TestPrepareSlotThroughThePublicAPI(t *testing.T) {
	ctx := context.Background()
	svc, db := booking(t)
	slot, service, err := prepareSlot(ctx, svc, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		_, err := svc.Book(ctx, appointments.Citizen{ID: fmt.Sprintf("crowd-%d", i), RealnameLevel: 3},
			appointments.BookRequest{SlotID: slot, ServiceID: service}, "")
		if (i < 3) != (err == nil) {
			t.Fatalf("booking %d of 3 seats: %v", i+1, err)
		}
	}
	booked, seats, err := countBooked(ctx, db, slot)
	if err != nil || booked != 3 || seats != 3 {
		t.Fatalf("MongoDB: %d booked, %d seats, %v; want 3 and 3", booked, seats, err)
	}
	next, _, err := prepareSlot(ctx, svc, 3)
	if err != nil || next == slot {
		t.Fatalf("second crowd got %s (%v), want a slot other than %s", next, err, slot)
	}
	other, _, err := prepareSlot(ctx, svc, 5)
	if err != nil || other == slot || other == next {
		t.Fatalf("a 5-seat crowd got %s (%v)", other, err)
	}
}

// TestPrepareCitizens: the crowd's citizens are level 3 with live sessions.
func TestPrepareCitizens(t *testing.T) {
	ctx := context.Background()
	db := platformtest.Mongo(t)
	rdb, prefix := platformtest.Redis(t)
	clock := platform.SystemClock{}
	cipher, err := account.NewCipher([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.NewStore(db, cipher, clock)
	if err := accounts.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	sessions := session.NewStore(rdb, session.Config{Prefix: prefix, Secret: []byte("s"), Idle: time.Hour, Max: 2 * time.Hour}, clock)
	tokens, err := prepareCitizens(ctx, accounts, sessions, 3, nil)
	if err != nil || len(tokens) != 3 {
		t.Fatalf("%d tokens, %v", len(tokens), err)
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		s, err := sessions.Touch(ctx, tok)
		if err != nil || s.Level != 3 || seen[s.UserID] {
			t.Fatalf("session %+v %v", s, err)
		}
		seen[s.UserID] = true
		if u, err := accounts.Get(ctx, s.UserID); err != nil || u.Level != 3 {
			t.Fatalf("citizen %+v %v", u, err)
		}
	}
}

// TestReleaseCountsAnswers: every token's request is sent, with its token,
// and every answer is counted by status.
func TestReleaseCountsAnswers(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/appointments" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer t") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n.Add(1) <= 3 {
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.WriteHeader(http.StatusConflict)
	}))
	defer srv.Close()
	tokens := make([]string, 20)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("t%d", i)
	}
	r := release(context.Background(), srv.URL, "slot", "svc", tokens)
	if r.statuses[http.StatusCreated] != 3 || r.statuses[http.StatusConflict] != 17 || len(r.statuses) != 2 || r.p99 < r.p50 {
		t.Fatalf("%+v", r)
	}
}
