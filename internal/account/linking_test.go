package account

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestUnionIDAppearingKeepsThePerson is issue 9's first report: a citizen
// logs in while the mini-program is not bound to the Open Platform (no
// unionid: keyed by openid) and proves who they are; after binding, the same
// openid arrives with a unionid. Before, that created a fresh level-1 user
// sharing the openid, on which re-proving the ID number answered
// realname_taken for good.
func TestUnionIDAppearingKeepsThePerson(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	before, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, before.ID, idA, 3); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	after, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "union-1", "mini-1")
	if err != nil {
		t.Fatal(err)
	}
	if after.ID != before.ID || after.Level != 3 || after.UnionID != "union-1" || after.MiniOpenID != "mini-1" {
		t.Fatalf("after binding: %+v, want user %s at level 3 with the unionid", after, before.ID)
	}
	if n := e.count(t, collUsers, bson.M{}); n != 1 {
		t.Fatalf("%d users for one person", n)
	}
	if _, err := e.store.RaiseLevel(ctx, after.ID, idA, 4); err != nil {
		t.Fatalf("proving again: %v", err)
	}
	// The app, bound to the same Open Platform, reaches the same person.
	app, err := e.store.LoginWeChat(ctx, ChannelApp, "union-1", "app-1")
	if err != nil || app.ID != before.ID || app.Level != 4 {
		t.Fatalf("app login: %+v, %v", app, err)
	}
	// And so does the mini-program should the unionid go missing again.
	again, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-1")
	if err != nil || again.ID != before.ID {
		t.Fatalf("without unionid again: %+v, %v", again, err)
	}
}

// TestUnionIDGoingMissingKeepsThePerson: the reverse. A person known by
// unionid logs in without one (the binding was removed, or WeChat did not
// send it): the channel's openid still finds them. Before, a second user was
// created.
func TestUnionIDGoingMissingKeepsThePerson(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	u, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "union-2", "mini-2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-2")
	if err != nil || got.ID != u.ID {
		t.Fatalf("login without the unionid: %+v, %v; want %s", got, err, u.ID)
	}
	// A person an earlier release created by unionid alone (no openid
	// login record, only the openid on the user): found by that openid.
	users := e.db.Collection(collUsers)
	if _, err := e.db.Collection(collLogins).InsertOne(ctx, bson.M{"_id": "unionid:union-3", "user_id": "u_legacy", "created_at": testStart}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.InsertOne(ctx, bson.M{"_id": "u_legacy", "union_id": "union-3", "mini_openid": "mini-3", "level": 2, "created_at": testStart, "updated_at": testStart}); err != nil {
		t.Fatal(err)
	}
	got, err = e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-3")
	if err != nil || got.ID != "u_legacy" || got.Level != 2 {
		t.Fatalf("legacy person without unionid: %+v, %v", got, err)
	}
	if n := e.count(t, collUsers, bson.M{}); n != 2 {
		t.Fatalf("%d users, want 2", n)
	}
}

// TestBindingTransitionRace: while the binding takes effect, logins of one
// person on one channel arrive with and without the unionid at once, for a
// person known by openid and for a new one. Exactly one user each.
func TestBindingTransitionRace(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	known, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-k")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ union, open, want string }{
		{"union-k", "mini-k", known.ID},
		{"union-n", "mini-n", ""},
	} {
		const n = 24
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				union := tc.union
				if i%2 == 1 {
					union = ""
				}
				u, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, union, tc.open)
				if err != nil {
					t.Errorf("login %d: %v", i, err)
					return
				}
				ids[i] = u.ID
			}()
		}
		wg.Wait()
		want := tc.want
		if want == "" {
			want = ids[0]
		}
		for i, id := range ids {
			if id != want {
				t.Fatalf("%s: login %d got %s, want %s (all: %v)", tc.open, i, id, want, ids)
			}
		}
		if c := e.count(t, collUsers, bson.M{"mini_openid": tc.open}); c != 1 {
			t.Fatalf("%s: %d users hold the openid", tc.open, c)
		}
	}
}

// TestSplitPersonIsJoinedOnLogin: a person split by an earlier release (one
// user keyed by openid, proven; another created when the unionid appeared)
// is joined at the next login that carries both ids: the login goes to the
// user with the higher real-name level, every id of the login is linked to
// it, and the move is recorded as an identity event naming both users.
func TestSplitPersonIsJoinedOnLogin(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	logins, users := e.db.Collection(collLogins), e.db.Collection(collUsers)
	// What the earlier release left behind.
	old, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, old.ID, idA, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := logins.InsertOne(ctx, bson.M{"_id": "unionid:union-s", "user_id": "u_split", "created_at": testStart}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.InsertOne(ctx, bson.M{"_id": "u_split", "union_id": "union-s", "mini_openid": "mini-s", "level": 1, "created_at": testStart.Add(time.Hour), "updated_at": testStart}); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		got, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "union-s", "mini-s")
		if err != nil || got.ID != old.ID || got.Level != 3 || got.UnionID != "union-s" {
			t.Fatalf("login of the split person: %+v, %v; want %s", got, err, old.ID)
		}
	}
	var link ownerDoc
	if err := logins.FindOne(ctx, bson.M{"_id": "unionid:union-s"}).Decode(&link); err != nil || link.UserID != old.ID {
		t.Fatalf("unionid now leads to %q, %v", link.UserID, err)
	}
	if app, err := e.store.LoginWeChat(ctx, ChannelApp, "union-s", "app-s"); err != nil || app.ID != old.ID {
		t.Fatalf("app login: %+v, %v", app, err)
	}
	var ev bson.M
	if err := e.db.Collection(collEvents).FindOne(ctx, bson.M{"kind": eventLoginRelinked, "user_id": "u_split"}).Decode(&ev); err != nil {
		t.Fatalf("no identity event for the relink: %v", err)
	}
	if ev["other_user_id"] != old.ID || ev["login"] != "unionid" {
		t.Fatalf("event = %v", ev)
	}
	if n := e.count(t, collEvents, bson.M{"kind": eventLoginRelinked}); n != 1 {
		t.Fatalf("%d relink events, want 1", n)
	}

}

// TestTwoChannelsBeforeBindingAreJoined: a person who used the mini-program
// and the app before either was bound to the Open Platform is two users; the
// first logins after the binding join them (the older one, both at level 1)
// and every id then leads to that one, with or without unionid.
func TestTwoChannelsBeforeBindingAreJoined(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	mini, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "", "mini-j")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	app, err := e.store.LoginWeChat(ctx, ChannelApp, "", "app-j")
	if err != nil || app.ID == mini.ID {
		t.Fatalf("app before binding: %+v, %v", app, err)
	}
	for _, l := range []struct {
		ch          Channel
		union, open string
	}{
		{ChannelMiniProgram, "union-j", "mini-j"},
		{ChannelApp, "union-j", "app-j"},
		{ChannelApp, "", "app-j"},
		{ChannelMiniProgram, "", "mini-j"},
	} {
		got, err := e.store.LoginWeChat(ctx, l.ch, l.union, l.open)
		if err != nil || got.ID != mini.ID {
			t.Fatalf("%s login (unionid %q): %+v, %v; want %s", l.ch, l.union, got, err, mini.ID)
		}
	}
	var ev identityEvent
	if err := e.db.Collection(collEvents).FindOne(ctx, bson.M{"user_id": app.ID}).Decode(&ev); err != nil ||
		ev.Kind != eventLoginRelinked || ev.OtherUserID != mini.ID || ev.Login != "openid:app" {
		t.Fatalf("event %+v, %v", ev, err)
	}
}
