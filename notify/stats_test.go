package notify

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// TestStats: messages published and dispatched through the outbox are
// counted per Shanghai day and channel as sent, failed (dead letters) or
// skipped; a delivery still being retried is not counted; the inbox counts
// every message stored; an empty range is refused and changes nothing.
func TestStats(t *testing.T) {
	answer := func(d Delivery) error {
		switch d.Message.Kind {
		case "skip":
			return Skip("no_credit")
		case "permanent":
			return Permanent("40037", errors.New("bad template"))
		case "flaky":
			return errors.New("connection reset")
		}
		return nil
	}
	wechat, fcm := newFake("wechat"), newFake("fcm")
	wechat.answer, fcm.answer = answer, answer
	f := newOutboxFixture(t, nil, "wechat", "fcm")
	d := NewDispatcher(f.box, []Channel{wechat, fcm}, DispatcherConfig{})
	publish := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			kind := id[:len(id)-1]
			if err := f.box.Notify(f.ctx, Message{ID: id, UserID: "u1", Kind: kind, Title: "标题"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.RunOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	// t0 is 2026-03-09 10:00 in Shanghai; 03-10 begins 14 hours later.
	publish("ok1", "ok2", "permanent1", "skip1")
	f.clock.Advance(15 * time.Hour) // 03-10 01:00
	publish("ok3", "permanent2", "flaky1")

	row := func(day, ch string, sent, failed, skipped int) ChannelDayStats {
		return ChannelDayStats{Date: day, Channel: ch, Sent: sent, Failed: failed, Skipped: skipped}
	}
	for _, tc := range []struct {
		name, from, to string
		want           []ChannelDayStats
	}{
		{"three days", "2026-03-08", "2026-03-10", []ChannelDayStats{
			row("2026-03-08", "inbox", 0, 0, 0), row("2026-03-08", "wechat", 0, 0, 0), row("2026-03-08", "fcm", 0, 0, 0),
			row("2026-03-09", "inbox", 4, 0, 0), row("2026-03-09", "wechat", 2, 1, 1), row("2026-03-09", "fcm", 2, 1, 1),
			row("2026-03-10", "inbox", 3, 0, 0), row("2026-03-10", "wechat", 1, 1, 0), row("2026-03-10", "fcm", 1, 1, 0),
		}},
		{"the second day", "2026-03-10", "2026-03-10", []ChannelDayStats{
			row("2026-03-10", "inbox", 3, 0, 0), row("2026-03-10", "wechat", 1, 1, 0), row("2026-03-10", "fcm", 1, 1, 0),
		}},
	} {
		r, err := platform.ParseDayRange(tc.from, tc.to, platform.MaxStatsDays)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.box.Stats(f.ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}

	counts := func() string {
		t.Helper()
		a, _ := f.box.coll.CountDocuments(f.ctx, bson.M{})
		b, _ := f.box.results.CountDocuments(f.ctx, bson.M{})
		c, _ := f.inbox.coll.CountDocuments(f.ctx, bson.M{})
		return fmt.Sprint(a, b, c)
	}
	before := counts()
	_, err := f.box.Stats(f.ctx, platform.DayRange{})
	if e, ok := platform.AsError(err); !ok || e.Code != platform.CodeInvalid || e.Field != "from" {
		t.Fatalf("an empty range: %v", err)
	}
	if counts() != before {
		t.Fatal("a refused statistics query changed the outbox")
	}
}

// BenchmarkStats: one statistics query over 5,000 final results and 2,500
// inbox messages of 14 days on the test store.
func BenchmarkStats(b *testing.B) {
	f := newOutboxFixture(b, nil, "wechat", "fcm")
	var res, msgs []any
	for i := range 5000 {
		at := t0.Add(time.Duration(i%14) * 24 * time.Hour).Add(time.Duration(i) * time.Second)
		state := StateSent
		if i%10 == 0 {
			state = StateDead
		}
		ch := []string{"wechat", "fcm"}[i%2]
		res = append(res, resultDoc{ID: fmt.Sprintf("m%05d|%s#final", i, ch), DeliveryID: fmt.Sprintf("m%05d|%s", i, ch), Channel: ch,
			Final: true, State: state, Attempt: 1, At: at})
		if i%2 == 0 {
			msgs = append(msgs, Message{ID: fmt.Sprintf("m%05d", i), UserID: "u1", Kind: "k", Title: "t", CreatedAt: at})
		}
	}
	if _, err := f.box.results.InsertMany(f.ctx, res); err != nil {
		b.Fatal(err)
	}
	if _, err := f.inbox.coll.InsertMany(f.ctx, msgs); err != nil {
		b.Fatal(err)
	}
	r, err := platform.ParseDayRange("2026-03-09", "2026-03-22", platform.MaxStatsDays)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if got, err := f.box.Stats(f.ctx, r); err != nil || len(got) != 14*3 {
			b.Fatalf("%v %v", got, err)
		}
	}
}
