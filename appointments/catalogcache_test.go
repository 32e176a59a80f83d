package appointments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform/platformtest"
	"banshi/notify"
)

// failWritesOnce fails the first Redis SET of a key ending in suffix.
type failWritesOnce struct {
	suffix string
	failed atomic.Bool
}

func (h *failWritesOnce) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failWritesOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *failWritesOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); cmd.Name() == "set" && len(args) > 1 &&
			strings.HasSuffix(fmt.Sprint(args[1]), h.suffix) && h.failed.CompareAndSwap(false, true) {
			err := errors.New("injected: Redis write failed")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// TestCatalogChangeReachesOtherProcessesWhenRedisFails: an admin closes a
// day in one process while Redis fails one write there; another process
// must still notice the change at its next check and refuse the day.
func TestCatalogChangeReachesOtherProcessesWhenRedisFails(t *testing.T) {
	m, rdb := platformtest.MiniRedis(t)
	f := newFixture(t, withRedis(rdb))
	hooked := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { hooked.Close() })
	hooked.AddHook(&failWritesOnce{suffix: "version"})
	db := platformtest.MongoClient(t).Database(f.db.Name())
	admin, err := NewService(Deps{DB: db, Redis: hooked, RedisPrefix: f.prefix, Clock: f.clock,
		Log: platformtest.Logger(), Notifier: notify.NewInbox(db, f.clock), CheckinKey: []byte("test-checkin-key-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	const day = "2026-03-11"
	if w, _ := f.svc.BookingWindow(f.ctx, "h1"); !slices.Contains(w, day) {
		t.Fatalf("window %v", w)
	}
	if _, err := admin.PutCalendarDay(f.ctx, CalendarDay{HallID: "h1", Date: day, Kind: DayClosure, Name: "设备检修"}); err != nil {
		t.Fatal(err)
	}
	f.svc.cat.checkedAt.Store(0) // its next check is due (it comes within a second)
	if w, _ := f.svc.BookingWindow(f.ctx, "h1"); slices.Contains(w, day) {
		t.Errorf("another process still offers the closed day: %v", w)
	}
	if _, err := f.book(citizen(1), "sc1.20260311.0900", "s1"); !errors.Is(err, ErrSlotClosed) {
		t.Fatalf("booking the closed day in another process: %v, want ErrSlotClosed", err)
	}
}

// TestCatalogStalenessIsBounded: a change no process announced (a writer
// that died between its write and the announcement) still reaches every
// process within catalogMaxAge.
func TestCatalogStalenessIsBounded(t *testing.T) {
	f := newFixture(t)
	const day = "2026-03-11"
	if w, _ := f.svc.BookingWindow(f.ctx, "h1"); !slices.Contains(w, day) {
		t.Fatalf("window %v", w)
	}
	closure := CalendarDay{ID: calendarID("h1", day), HallID: "h1", Date: day, Kind: DayClosure, Name: "设备检修"}
	if _, err := f.db.Collection("appt_calendar").InsertOne(f.ctx, closure); err != nil {
		t.Fatal(err)
	}
	f.svc.cat.checkedAt.Store(0)
	if w, _ := f.svc.BookingWindow(f.ctx, "h1"); !slices.Contains(w, day) {
		t.Fatal("an unannounced change was seen before the bound: the test proves nothing")
	}
	f.svc.cat.cur.Load().loadedAt = 0 // loaded longer than catalogMaxAge ago
	f.svc.cat.checkedAt.Store(0)
	if w, _ := f.svc.BookingWindow(f.ctx, "h1"); slices.Contains(w, day) {
		t.Fatalf("a snapshot older than catalogMaxAge still served: %v", w)
	}
	if n := f.count("appt_calendar", bson.M{}); n != 1 {
		t.Fatalf("%d calendar days", n)
	}
}
