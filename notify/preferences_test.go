package notify

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

func testPrefs(t *testing.T, clock platform.Clock) *PreferenceStore {
	t.Helper()
	return NewPreferenceStore(platformtest.Mongo(t), clock, PreferencesConfig{
		Kinds: []KindInfo{
			{Kind: "appointment_reminder", Name: "预约提醒", Deferred: true},
			{Kind: "application_result", Name: "办件结果"},
		},
		Channels:      []string{"wechat_subscribe", "fcm"},
		QuietChannels: []string{"fcm"},
	})
}

func TestPreferencesDefaultsAndUpdate(t *testing.T) {
	ctx := context.Background()
	p := testPrefs(t, platform.NewManualClock(t0))
	got, err := p.Get(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.QuietHours != (QuietHours{Enabled: true, Start: "22:00", End: "08:00"}) || len(got.Kinds) != 2 {
		t.Fatalf("defaults: %+v", got)
	}
	for _, k := range got.Kinds {
		if !reflect.DeepEqual(k.Channels, map[string]bool{"inbox": true, "wechat_subscribe": true, "fcm": true}) {
			t.Fatalf("default channels of %s: %v", k.Kind, k.Channels)
		}
	}
	got, err = p.Update(ctx, "u1", PreferencesUpdate{
		Kinds:      []KindChannels{{Kind: "appointment_reminder", Channels: map[string]bool{"fcm": false}}},
		QuietHours: &QuietHours{Enabled: true, Start: "21:30", End: "07:00"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Kinds[0].Channels["fcm"] || !got.Kinds[0].Channels["wechat_subscribe"] || !got.Kinds[1].Channels["fcm"] {
		t.Fatalf("after update: %+v", got.Kinds)
	}
	if got.QuietHours.Start != "21:30" {
		t.Fatalf("quiet hours not saved: %+v", got.QuietHours)
	}
	// Turning it back on, leaving other channels as they are.
	got, err = p.Update(ctx, "u1", PreferencesUpdate{Kinds: []KindChannels{{Kind: "appointment_reminder", Channels: map[string]bool{"fcm": true}}}})
	if err != nil || !got.Kinds[0].Channels["fcm"] || got.QuietHours.Start != "21:30" {
		t.Fatalf("turned back on: %+v %v", got, err)
	}
}

func TestPreferencesBadUpdatesChangeNothing(t *testing.T) {
	ctx := context.Background()
	p := testPrefs(t, platform.NewManualClock(t0))
	for _, tc := range []struct {
		name string
		u    PreferencesUpdate
		code string
	}{
		{"unknown kind", PreferencesUpdate{Kinds: []KindChannels{{Kind: "lottery", Channels: map[string]bool{"fcm": false}}}}, platform.CodeInvalid},
		{"unknown channel", PreferencesUpdate{Kinds: []KindChannels{{Kind: "application_result", Channels: map[string]bool{"sms": false}}}}, platform.CodeInvalid},
		{"kind twice", PreferencesUpdate{Kinds: []KindChannels{{Kind: "application_result"}, {Kind: "application_result"}}}, platform.CodeInvalid},
		{"inbox off", PreferencesUpdate{Kinds: []KindChannels{{Kind: "application_result", Channels: map[string]bool{"fcm": false, "inbox": false}}}}, "inbox_required"},
		{"bad start", PreferencesUpdate{QuietHours: &QuietHours{Enabled: true, Start: "25:00", End: "08:00"}}, platform.CodeInvalid},
		{"bad end", PreferencesUpdate{QuietHours: &QuietHours{Enabled: true, Start: "22:00", End: "8:00"}}, platform.CodeInvalid},
		{"empty span", PreferencesUpdate{QuietHours: &QuietHours{Enabled: true, Start: "22:00", End: "22:00"}}, platform.CodeInvalid},
		{"valid kind then bad channel", PreferencesUpdate{Kinds: []KindChannels{
			{Kind: "appointment_reminder", Channels: map[string]bool{"fcm": false}},
			{Kind: "application_result", Channels: map[string]bool{"pigeon": true}}}}, platform.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Update(ctx, "u2", tc.u)
			var pe *platform.Error
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			n, err := p.coll.CountDocuments(ctx, bson.M{"_id": "u2"})
			if err != nil || n != 0 {
				t.Fatalf("a refused update stored something: %d %v", n, err)
			}
		})
	}
}

func TestQuietEnd(t *testing.T) {
	sh := platform.Shanghai()
	night := QuietHours{Enabled: true, Start: "22:00", End: "08:00"}
	noon := QuietHours{Enabled: true, Start: "12:00", End: "13:30"}
	for _, tc := range []struct {
		name string
		q    QuietHours
		now  time.Time
		want time.Time
	}{
		{"evening before start", night, time.Date(2026, 3, 9, 21, 59, 0, 0, sh), time.Time{}},
		{"at start", night, time.Date(2026, 3, 9, 22, 0, 0, 0, sh), time.Date(2026, 3, 10, 8, 0, 0, 0, sh)},
		{"before midnight", night, time.Date(2026, 3, 9, 23, 30, 0, 0, sh), time.Date(2026, 3, 10, 8, 0, 0, 0, sh)},
		{"after midnight", night, time.Date(2026, 3, 10, 3, 0, 0, 0, sh), time.Date(2026, 3, 10, 8, 0, 0, 0, sh)},
		{"at end", night, time.Date(2026, 3, 10, 8, 0, 0, 0, sh), time.Time{}},
		{"UTC clock", night, time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 8, 0, 0, 0, sh)},
		{"span in a day", noon, time.Date(2026, 3, 9, 12, 45, 0, 0, sh), time.Date(2026, 3, 9, 13, 30, 0, 0, sh)},
		{"after span in a day", noon, time.Date(2026, 3, 9, 13, 30, 0, 0, sh), time.Time{}},
		{"disabled", QuietHours{Start: "22:00", End: "08:00"}, time.Date(2026, 3, 9, 23, 0, 0, 0, sh), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quietEnd(tc.q, tc.now); !got.Equal(tc.want) {
				t.Fatalf("quietEnd = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRouteByPreferences: a reminder at 23:00 waits for 08:00 on FCM but not
// on WeChat; a result goes at once everywhere; a channel turned off gets no
// delivery; the inbox always gets the message. Through the real Outbox.
func TestRouteByPreferences(t *testing.T) {
	ctx := context.Background()
	sh := platform.Shanghai()
	clock := platform.NewManualClock(time.Date(2026, 3, 9, 23, 0, 0, 0, sh))
	p := testPrefs(t, clock)
	db := p.coll.Database()
	in := NewInbox(db, clock)
	rdb, prefix := platformtest.Redis(t)
	box := NewOutbox(OutboxDeps{DB: db, Redis: rdb, RedisPrefix: prefix, Inbox: in, Router: p, Channels: []string{"wechat_subscribe", "fcm"}, Clock: clock}, OutboxConfig{})
	if _, err := p.Update(ctx, "u-off", PreferencesUpdate{Kinds: []KindChannels{{Kind: "application_result", Channels: map[string]bool{"wechat_subscribe": false}}}}); err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		{ID: "r1", UserID: "u-on", Kind: "appointment_reminder", Title: "提醒"},
		{ID: "a1", UserID: "u-on", Kind: "application_result", Title: "结果"},
		{ID: "a2", UserID: "u-off", Kind: "application_result", Title: "结果"},
	}
	if err := box.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	morning := time.Date(2026, 3, 10, 8, 0, 0, 0, sh) // in the outbox, and in the queue
	want := map[string]time.Time{
		"r1|wechat_subscribe": clock.Now(), "r1|fcm": morning,
		"a1|wechat_subscribe": clock.Now(), "a1|fcm": clock.Now(),
		"a2|fcm": clock.Now(),
	}
	var docs []deliveryDoc
	cur, err := box.coll.Find(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(want) {
		t.Fatalf("%d deliveries, want %d: %+v", len(docs), len(want), docs)
	}
	for _, d := range docs {
		due, ok := want[d.ID]
		if !ok || !d.DueAt.Equal(due) {
			t.Errorf("delivery %s due %v, want %v (expected: %v)", d.ID, d.DueAt, due, ok)
		}
	}
	for _, id := range []string{"r1", "a1", "a2"} {
		if n, _ := in.coll.CountDocuments(ctx, bson.M{"_id": id}); n != 1 {
			t.Errorf("inbox lacks %s", id)
		}
	}
}
