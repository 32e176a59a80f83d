package subscribe

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/wechat"
)

// popup is WeChat's popup event for openID: one item per template.
func popup(openID, status string, created int64, templates ...string) wechat.Event {
	ev := wechat.Event{ToUserName: "gh_x", FromUserName: openID, CreateTime: created, MsgType: "event", Event: wechat.EventSubscribePopup}
	for _, t := range templates {
		ev.Popup = append(ev.Popup, wechat.PopupItem{TemplateID: t, Status: status})
	}
	return ev
}

// TestClientAndPushCountOneAcceptOnce: the mini-program's result and
// WeChat's popup push describe the same accept and count once, in either
// order; two accepts count twice; a push handed over again (same event id)
// changes nothing; reports further apart than the window are two accepts.
func TestClientAndPushCountOneAcceptOnce(t *testing.T) {
	ctx := context.Background()
	type step struct {
		client bool          // the mini-program's result, else the push
		id     string        // the push's event id
		wait   time.Duration // clock advance before the step
	}
	for name, tc := range map[string]struct {
		steps []step
		want  int
	}{
		"client then push":             {[]step{{client: true}, {id: "e1"}}, 1},
		"push then client":             {[]step{{id: "e1"}, {client: true}}, 1},
		"push alone":                   {[]step{{id: "e1"}}, 1},
		"client alone":                 {[]step{{client: true}}, 1},
		"two accepts interleaved":      {[]step{{client: true}, {id: "e1"}, {id: "e2"}, {client: true}}, 2},
		"two clients then two pushes":  {[]step{{client: true}, {client: true}, {id: "e1"}, {id: "e2"}}, 2},
		"the same push handed over 3×": {[]step{{id: "e1"}, {id: "e1"}, {id: "e1"}}, 1},
		"retried push after client":    {[]step{{client: true}, {id: "e1"}, {id: "e1"}, {client: true}}, 2},
		"push after the window":        {[]step{{client: true}, {id: "e1", wait: 11 * time.Minute}}, 2},
		"client after the window":      {[]step{{id: "e1"}, {client: true, wait: 11 * time.Minute}}, 2},
		"within the window":            {[]step{{id: "e1"}, {client: true, wait: 9 * time.Minute}}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, &fakeSender{})
			userID, openID := f.person(t)
			for _, s := range tc.steps {
				f.clock.Advance(s.wait)
				var err error
				if s.client {
					_, err = f.svc.Record(ctx, userID, map[string]string{tplBooked: "accept", "errMsg": "requestSubscribeMessage:ok"})
				} else {
					err = f.svc.HandleWeChatEvent(ctx, s.id, popup(openID, "accept", 1714036504, tplBooked))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := f.count(t, userID, tplBooked); n != tc.want {
				t.Fatalf("%d credits, want %d", n, tc.want)
			}
		})
	}
}

// TestPushedEventsEndToEnd: through the simulator's real pushes: an accept
// of two templates in one popup gives one credit each, WeChat's duplicate
// deliveries of the push count once, a popup reject keeps earlier credits,
// and turning a template off (change event) sets its count to zero.
func TestPushedEventsEndToEnd(t *testing.T) {
	f := newFixture(t, nil)
	userID, openID := f.person(t)
	pushDuplicates(t, 2)
	phoneAnswers(t, openID, "accept", tplBooked, tplProgress)
	phoneAnswers(t, openID, "accept", tplBooked)
	if a, b := f.count(t, userID, tplBooked), f.count(t, userID, tplProgress); a != 2 || b != 1 {
		t.Fatalf("credits %d and %d, want 2 and 1", a, b)
	}
	phoneAnswers(t, openID, "reject", tplBooked)
	if n := f.count(t, userID, tplBooked); n != 2 {
		t.Fatalf("a popup reject changed the credits to %d", n)
	}
	control(t, "POST", "/subscriptions/off", map[string]string{"openid": openID, "template_id": tplBooked}, 204)
	testSim.FlushPushes()
	if a, b := f.count(t, userID, tplBooked), f.count(t, userID, tplProgress); a != 0 || b != 1 {
		t.Fatalf("after turning off: %d and %d, want 0 and 1", a, b)
	}
	// A template Banshi does not list, and an openid of nobody: ignored.
	testSim.AddTemplate(testApp, "T-UNLISTED", []string{"thing1"}, nil)
	phoneAnswers(t, openID, "accept", "T-UNLISTED")
	var stranger struct{ OpenID string }
	decode(t, control(t, "POST", "/users", map[string]string{}, 201), &stranger)
	phoneAnswers(t, stranger.OpenID, "accept", tplBooked)
	n, err := f.db.Collection(collCredits).CountDocuments(context.Background(), bson.M{})
	if err != nil || n != 2 {
		t.Fatalf("%d credit documents, %v; want the 2 of the known user's listed templates", n, err)
	}
}

// TestRejectBanFilterTurnOff: what each answer does to earlier credits.
func TestRejectBanFilterTurnOff(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &fakeSender{})
	userID, openID := f.person(t)
	record := func(word string) {
		t.Helper()
		if _, err := f.svc.Record(ctx, userID, map[string]string{tplBooked: word}); err != nil {
			t.Fatal(err)
		}
	}
	record("accept")
	record("accept")
	for _, word := range []string{"reject", "filter"} {
		record(word)
		if n := f.count(t, userID, tplBooked); n != 2 {
			t.Fatalf("%s: %d credits, want 2 (earlier accepts stay)", word, n)
		}
	}
	if err := f.svc.HandleWeChatEvent(ctx, "r1", popup(openID, "reject", 1, tplBooked)); err != nil || f.count(t, userID, tplBooked) != 2 {
		t.Fatalf("pushed popup reject: %v, %d credits", err, f.count(t, userID, tplBooked))
	}
	record("ban")
	if n := f.count(t, userID, tplBooked); n != 0 {
		t.Fatalf("ban: %d credits", n)
	}
	record("accept")
	off := wechat.Event{FromUserName: openID, CreateTime: 2, MsgType: "event", Event: wechat.EventSubscribeChange,
		Change: []wechat.ChangeItem{{TemplateID: tplBooked, Status: "reject"}}}
	if err := f.svc.HandleWeChatEvent(ctx, "c1", off); err != nil || f.count(t, userID, tplBooked) != 0 {
		t.Fatalf("turned off: %v, %d credits", err, f.count(t, userID, tplBooked))
	}
	c, _ := f.svc.Credit(ctx, userID, tplBooked)
	whats := []string{}
	for _, e := range c.Log {
		whats = append(whats, e.Source+":"+e.What)
	}
	want := []string{"client:accept", "client:accept", "client:reject", "client:filter", "push:reject", "client:ban", "client:accept", "push:turned_off"}
	if len(whats) != len(want) {
		t.Fatalf("log %v, want %v", whats, want)
	}
	for i := range want {
		if whats[i] != want[i] {
			t.Fatalf("log %v, want %v", whats, want)
		}
	}
}

// TestGiveBackAfterZeroDoesNotResurrect: a credit taken before the count was
// zeroed (turned off while a send was under way) is not given back.
func TestGiveBackAfterZeroDoesNotResurrect(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, &fakeSender{})
	userID, openID := f.person(t)
	for range 2 {
		if _, err := f.svc.Record(ctx, userID, map[string]string{tplBooked: "accept"}); err != nil {
			t.Fatal(err)
		}
	}
	epoch, ok, err := f.svc.credits.take(ctx, userID, tplBooked)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	off := wechat.Event{FromUserName: openID, CreateTime: 2, MsgType: "event", Event: wechat.EventSubscribeChange,
		Change: []wechat.ChangeItem{{TemplateID: tplBooked, Status: "reject"}}}
	if err := f.svc.HandleWeChatEvent(ctx, "c1", off); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.credits.giveBack(ctx, userID, tplBooked, epoch); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, userID, tplBooked); n != 0 {
		t.Fatalf("%d credits after a give-back across a zero", n)
	}
}

// TestUserLookupFailureIsRetried: an event whose user cannot be looked up
// fails (WeChat's retry hands it over again) and changes nothing.
func TestUserLookupFailureIsRetried(t *testing.T) {
	f := newFixture(t, &fakeSender{})
	userID, openID := f.person(t)
	f.users.err = errors.New("store down")
	if err := f.svc.HandleWeChatEvent(context.Background(), "e1", popup(openID, "accept", 1, tplBooked)); err == nil {
		t.Fatal("no error")
	}
	f.users.err = nil
	if n := f.count(t, userID, tplBooked); n != 0 {
		t.Fatalf("%d credits", n)
	}
}
