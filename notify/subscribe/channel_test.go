package subscribe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"banshi/internal/platform/platformtest"
	"banshi/internal/wechat"
	"banshi/notify"
)

// TestAcceptToDeliveryEndToEnd: the citizen accepts on the phone (the
// simulator pushes the popup event to a real PushEvents), the mini-program
// reports the same accept (confirmed, not counted twice), the outbox's
// dispatcher delivers an appointment_booked message through the channel with
// fitted values, the simulator shows the message and pushes its sent event,
// which is logged; the spent credit leaves nothing for a second message.
func TestAcceptToDeliveryEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	userID, openID := f.person(t)

	phoneAnswers(t, openID, "accept", tplBooked)
	if n := f.count(t, userID, tplBooked); n != 1 {
		t.Fatalf("after the popup push: %d credits, want 1", n)
	}
	subs, err := f.svc.Record(ctx, userID, map[string]string{tplBooked: "accept", "errMsg": "requestSubscribeMessage:ok"})
	if err != nil || len(subs) != 1 || subs[0].Credits != 1 {
		t.Fatalf("client's report of the same accept: %+v, %v (want 1 credit)", subs, err)
	}

	inbox := notify.NewInbox(f.db, f.clock)
	rdb, prefix := platformtest.Redis(t)
	outbox := notify.NewOutbox(notify.OutboxDeps{DB: f.db, Redis: rdb, RedisPrefix: prefix, Inbox: inbox, Channels: []string{ChannelName}, Clock: f.clock}, notify.OutboxConfig{})
	d := notify.NewDispatcher(outbox, []notify.Channel{f.svc.Channel()}, notify.DispatcherConfig{})
	m := bookedMessage(userID, "ap-1")
	if err := outbox.Notify(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n, err := d.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if v, err := outbox.Get(ctx, m.ID+"|"+ChannelName); err != nil || v.State != notify.StateSent {
		t.Fatalf("delivery: %+v, %v", v, err)
	}
	msgs := received(t, openID)
	if len(msgs) != 1 {
		t.Fatalf("%d messages received, want 1", len(msgs))
	}
	got := msgs[0]
	want := map[string]string{"thing1": "居住证办理（含港澳台居民居住证首次申领…", "thing2": "天河区政务服务中心",
		"time3": "2026年3月9日 09:00", "character_string4": "483920"}
	for k, v := range want {
		if got.Data[k]["value"] != v {
			t.Errorf("%s = %q, want %q", k, got.Data[k]["value"], v)
		}
	}
	if got.TemplateID != tplBooked || got.Page != "pages/appointments/detail?id=ap-1" {
		t.Errorf("message: %+v", got)
	}
	testSim.FlushPushes()
	c, err := f.svc.Credit(ctx, userID, tplBooked)
	if err != nil {
		t.Fatal(err)
	}
	last := c.Log[len(c.Log)-1]
	if c.Count != 0 || last.What != "sent" || last.Code != "0" || last.Source != "push" {
		t.Fatalf("credit after the send: %+v", c)
	}
	if o := deliver(t, f, bookedMessage(userID, "ap-2")); o != "skip no_credit" {
		t.Fatalf("a second message without credit: %s", o)
	}
	if len(received(t, openID)) != 1 {
		t.Fatal("a message went out without a credit")
	}
}

// TestSkips: no openid, no template for the kind, no credit; nothing is sent.
func TestSkips(t *testing.T) {
	s := &fakeSender{}
	f := newFixture(t, s)
	userID, _ := f.person(t)
	m := bookedMessage(userID, "ap-1")
	if o := deliver(t, f, m); o != "skip no_credit" {
		t.Errorf("no credit: %s", o)
	}
	m.Kind = "appointment_no_show"
	if o := deliver(t, f, m); o != "skip no_template" {
		t.Errorf("no template: %s", o)
	}
	// A credit but no openid (a user who left the mini-program): skipped, and
	// the credit taken for it is given back.
	m = bookedMessage("u_never_in_miniprogram", "ap-1")
	if o := deliver(t, f, m); o != "skip no_credit" {
		t.Errorf("no openid, no credit: %s", o)
	}
	if _, err := f.svc.Record(context.Background(), "u_never_in_miniprogram", map[string]string{"DEMO-APPOINTMENT-BOOKED": "accept", "errMsg": "requestSubscribeMessage:ok"}); err != nil {
		t.Fatal(err)
	}
	if o := deliver(t, f, m); o != "skip no_openid" {
		t.Errorf("no openid: %s", o)
	}
	if c, err := f.svc.Credit(context.Background(), "u_never_in_miniprogram", "DEMO-APPOINTMENT-BOOKED"); err != nil || c.Count != 1 {
		t.Errorf("the credit was not given back: %+v %v", c, err)
	}
	if s.calls != 0 {
		t.Fatalf("%d sends", s.calls)
	}
}

// TestErrcodesAgainstTheSimulator: each answer of the simulated
// subscribe/send is classified, and the credit is given back unless WeChat
// spent it; 43101 sets the count to zero and logs it; an expired access
// token is refreshed and the send retried once (it succeeds).
func TestErrcodesAgainstTheSimulator(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	tpl := func(kind, id, page string, keys ...string) {
		fields := make([]Field, len(keys))
		for i, k := range keys {
			fields[i] = Field{Key: k, Type: KeyType(k), Label: "字段", From: FromTitle}
		}
		if err := f.svc.Templates().Put(ctx, Template{Event: kind, TemplateID: id, Title: "测试", Page: page, Fields: fields}); err != nil {
			t.Fatal(err)
		}
	}
	testSim.AddTemplate(testApp, "T-SHORT-IN-SIM", []string{"thing1", "time2"}, nil)
	testSim.AddTemplate(testApp, "T-PAGE", []string{"thing1"}, nil)
	tpl("k_40037", "T-NOT-IN-SIM", "pages/index/index", "thing1")
	tpl("k_47003", "T-SHORT-IN-SIM", "pages/index/index", "thing1")
	tpl("k_41030", "T-PAGE", "pages/unreleased/index", "thing1")

	userID, openID := f.person(t)
	credit := func(templateID string) {
		if _, err := f.svc.Record(ctx, userID, map[string]string{templateID: "accept"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ kind, template, want string }{
		{"k_40037", "T-NOT-IN-SIM", "permanent 40037"},
		{"k_47003", "T-SHORT-IN-SIM", "permanent 47003"},
		{"k_41030", "T-PAGE", "permanent 41030"},
	} {
		credit(tc.template)
		m := bookedMessage(userID, "ap-"+tc.kind)
		m.Kind = tc.kind
		before := f.count(t, userID, tc.template)
		if o := deliver(t, f, m); o != tc.want {
			t.Errorf("%s: %s, want %s", tc.kind, o, tc.want)
		}
		if after := f.count(t, userID, tc.template); after != before {
			t.Errorf("%s: credits %d → %d, want it given back", tc.kind, before, after)
		}
	}

	// 40003: Banshi's openid for the user is not WeChat's.
	ghost := "u_ghost"
	f.users.add(ghost, "o_unknown_to_wechat")
	if _, err := f.svc.Record(ctx, ghost, map[string]string{tplBooked: "accept"}); err != nil {
		t.Fatal(err)
	}
	if o := deliver(t, f, bookedMessage(ghost, "ap-g")); o != "permanent 40003" || f.count(t, ghost, tplBooked) != 1 {
		t.Errorf("40003: %s, %d credits", o, f.count(t, ghost, tplBooked))
	}

	// 43101: the client said accept, WeChat holds no credit.
	credit(tplBooked)
	credit(tplBooked)
	if o := deliver(t, f, bookedMessage(userID, "ap-43101")); o != "skip 43101" {
		t.Errorf("43101: %s", o)
	}
	c, _ := f.svc.Credit(ctx, userID, tplBooked)
	if c.Count != 0 || c.Log[len(c.Log)-1].Code != "43101" {
		t.Errorf("after 43101: %+v", c)
	}

	// WeChat down (HTTP 502): retried later, credit given back.
	phoneAnswers(t, openID, "accept", tplBooked)
	testSim.SetDown(502)
	o := deliver(t, f, bookedMessage(userID, "ap-502"))
	testSim.SetDown(0)
	if o != "retry upstream" || f.count(t, userID, tplBooked) != 1 {
		t.Errorf("502: %s, %d credits", o, f.count(t, userID, tplBooked))
	}

	// An expired access token (42001): refreshed, retried once, sent.
	if err := f.wc.SendSubscribe(ctx, openID, "T-NOT-IN-SIM", "", map[string]string{"thing1": "x"}); wechat.Errcode(err) != 40037 {
		t.Fatalf("a token is cached first: %v", err)
	}
	tokens := testSim.Calls("/cgi-bin/stable_token")
	testSim.ExpireAccessTokens()
	if o := deliver(t, f, bookedMessage(userID, "ap-42001")); o != "sent" {
		t.Errorf("after the token expired: %s", o)
	}
	if n := testSim.Calls("/cgi-bin/stable_token") - tokens; n != 1 {
		t.Errorf("%d token fetches after 42001, want 1", n)
	}
	if len(received(t, openID)) != 1 {
		t.Error("the message after the refresh was not received")
	}
}

// TestErrcodesWeChatDoesNotSimulate: 45011 backs off at least a minute,
// -1 and a token still refused after the refresh are retried, all giving
// the credit back.
func TestErrcodesWeChatDoesNotSimulate(t *testing.T) {
	ctx := context.Background()
	s := &fakeSender{}
	f := newFixture(t, s)
	userID, _ := f.person(t)
	if _, err := f.svc.Record(ctx, userID, map[string]string{tplBooked: "accept"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{wechat.ErrUpstreamBusy.Wrap(&wechat.APIError{Code: 45011, Msg: "api minute-quota reach limit"}), "retry 45011"},
		{wechat.ErrUpstream.Wrap(&wechat.APIError{Code: -1, Msg: "system error"}), "retry -1"},
		{wechat.ErrUpstreamRefused.Wrap(&wechat.APIError{Code: 40001, Msg: "invalid credential"}), "retry 40001"},
		{wechat.ErrUpstream.Wrap(errors.New("subscribe/send: HTTP 503")), "retry upstream"},
		{context.DeadlineExceeded, "retry upstream"},
	} {
		s.err = tc.err
		err := f.svc.Channel().Deliver(ctx, notify.Delivery{ID: "x", Message: bookedMessage(userID, "ap-1"), Attempt: 1})
		if o := outcome(err); o != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, o, tc.want)
		}
		var out *notify.Outcome
		if errors.As(err, &out) && out.Code == "45011" && out.After < time.Minute {
			t.Errorf("45011 retries after %v", out.After)
		}
		if n := f.count(t, userID, tplBooked); n != 1 {
			t.Errorf("%v: %d credits, want the credit given back", tc.err, n)
		}
	}
}

// TestRaceForOneCredit: eight dispatchers deliver eight messages at once to
// a citizen with one credit: exactly one is sent, and WeChat received one.
func TestRaceForOneCredit(t *testing.T) {
	f := newFixture(t, nil)
	userID, openID := f.person(t)
	phoneAnswers(t, openID, "accept", tplBooked)
	const n = 8
	results := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = outcome(f.svc.Channel().Deliver(context.Background(),
				notify.Delivery{ID: fmt.Sprint(i), Message: bookedMessage(userID, fmt.Sprint("ap-", i)), Attempt: 1}))
		}()
	}
	close(start)
	wg.Wait()
	sent := 0
	for _, r := range results {
		switch r {
		case "sent":
			sent++
		case "skip no_credit":
		default:
			t.Errorf("outcome %s", r)
		}
	}
	if sent != 1 || len(received(t, openID)) != 1 || f.count(t, userID, tplBooked) != 0 {
		t.Fatalf("%d sent (%s), %d received, %d credits left", sent, strings.Join(results, ", "), len(received(t, openID)), f.count(t, userID, tplBooked))
	}
}
