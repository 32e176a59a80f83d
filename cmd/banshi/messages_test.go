package main

import (
	"strings"
	"testing"

	"banshi/appointments"
)

// TestInboxOverHTTP: booking and cancelling leave messages; the citizen
// pages through them, reads one and then all, and /me counts the unread.
// Another citizen's message and bad paging answer 4xx and change nothing.
func TestInboxOverHTTP(t *testing.T) {
	s := getStack(t)
	_, token := levelThree(t, s)
	_, slot := s.openSlot(t, appointments.DemoHallTianhe, thRSJ, 0, 1, false)
	appt := s.must(t, 201, s.book(t, token, slot.ID, thRSJ))
	s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+appt.str("id")+"/cancel", token, nil))

	me := s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil))
	if me.str("unread_messages") != "2" {
		t.Fatalf("unread in /me: %s", me.Raw)
	}
	p1 := s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages?limit=1", token, nil))
	msgs, _ := p1.Body["messages"].([]any)
	next := p1.str("next")
	if len(msgs) != 1 || next == "" || msgs[0].(map[string]any)["kind"] != "appointment_cancelled" {
		t.Fatalf("first page: %s", p1.Raw)
	}
	p2 := s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages?limit=1&before="+next, token, nil))
	msgs2, _ := p2.Body["messages"].([]any)
	if len(msgs2) != 1 || msgs2[0].(map[string]any)["kind"] != "appointment_booked" {
		t.Fatalf("second page: %s", p2.Raw)
	}
	bookedID := msgs2[0].(map[string]any)["id"].(string)

	// Another citizen cannot read (or mark) it.
	_, other := levelThree(t, s)
	if a := s.call(t, "POST", apiV1+"/me/messages/"+bookedID+"/read", other, nil); a.Status != 404 || a.errCode() != "not_found" {
		t.Fatalf("another citizen's message: %d %s", a.Status, a.Raw)
	}
	for _, q := range []string{"?before=%21%21", "?limit=0", "?limit=101", "?limit=x", "?unread=maybe"} {
		if a := s.call(t, "GET", apiV1+"/me/messages"+q, token, nil); a.Status != 400 || a.errCode() != "invalid_argument" {
			t.Errorf("%s: %d %s", q, a.Status, a.Raw)
		}
	}
	if s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)).str("unread_messages") != "2" {
		t.Fatal("refused requests changed the unread count")
	}

	// Sent as encodeURIComponent sends it (':' as %3A): the same message.
	if !strings.Contains(bookedID, ":") {
		t.Fatalf("message id %q has no ':' to encode", bookedID)
	}
	r := s.must(t, 200, s.call(t, "POST", apiV1+"/me/messages/"+strings.ReplaceAll(bookedID, ":", "%3A")+"/read", token, nil))
	if r.str("read_at") == "" {
		t.Fatalf("read: %s", r.Raw)
	}
	if s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)).str("unread_messages") != "1" {
		t.Fatal("/me did not count the read message")
	}
	unread := s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages?unread=true", token, nil))
	if u, _ := unread.Body["messages"].([]any); len(u) != 1 {
		t.Fatalf("unread filter: %s", unread.Raw)
	}
	if a := s.must(t, 200, s.call(t, "POST", apiV1+"/me/messages/read-all", token, nil)); a.str("read") != "1" {
		t.Fatalf("read-all: %s", a.Raw)
	}
	if s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)).str("unread_messages") != "0" {
		t.Fatal("unread after read-all")
	}
}
