package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/appointments"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

// TestQueueCallingAPI: a counter calls the next checked-in citizen of its
// department through /api/v1/staff/halls/{hall_id}/queue/…; the citizen is
// told the window; the board shows numbers and windows, never names; every
// refused request answers its 4xx and changes nothing.
func TestQueueCallingAPI(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	desk := s.staffLogin(t, staff.DemoStaff) // hall_staff of hall-tianhe
	finance := s.staffLogin(t, staff.DemoFinance)
	hall := appointments.DemoHallTianhe
	r := platformtest.RandomID()[:8]
	deptA, deptB := "dept-qa-"+r, "dept-qb-"+r
	for _, d := range []string{deptA, deptB} {
		s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/departments", admin, map[string]any{
			"id": d, "hall_id": hall, "name": "叫号测试" + d[5:7], "queue_prefix": "q",
		}))
	}
	// Two citizens checked in today in department A. Check-in is for the
	// appointment's day, which the shared clock does not reach: the test
	// writes what CheckIn writes.
	var ids []string
	var names []string
	for i := range 2 {
		p, token := levelThree(t, s)
		_, sl := s.openSlot(t, hall, thRSJ, 0, 1, true)
		id := s.must(t, 201, s.book(t, token, sl.ID, thRSJ)).str("id")
		now := s.app.Clock.Now().UTC().Truncate(time.Millisecond).Add(time.Duration(i) * time.Millisecond)
		today := s.app.Clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		if _, err := s.app.Mongo.DB.Collection("appointments").UpdateOne(context.Background(), bson.M{"_id": id},
			bson.M{"$set": bson.M{"status": "checked_in", "department_id": deptA, "date": today, "checked_in_at": now,
				"checked_in_by": staff.DemoStaff, "queue_number": fmt.Sprintf("Q%03d", i+1)}}); err != nil {
			t.Fatal(err)
		}
		ids, names = append(ids, id), append(names, p.Name)
	}
	state := func() string {
		var b strings.Builder
		for _, id := range ids {
			var d bson.M
			if err := s.app.Mongo.DB.Collection("appointments").FindOne(context.Background(), bson.M{"_id": id}).Decode(&d); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%v %v %v %v %v;", d["department_id"], d["queue_number"], d["call_state"], d["window"], d["call_count"])
			fmt.Fprintf(&b, "msgs %d;", s.countWhere(t, "inbox", bson.M{"kind": appointments.KindCalled, "data.appointment_id": id}))
		}
		return b.String()
	}
	q := apiV1 + "/staff/halls/" + hall + "/queue"
	before := state()
	for _, c := range []struct {
		name, path, token string
		body              any
		status            int
		code              string
	}{
		{"citizen token", q + "/call-next", "bs_x", map[string]string{"department_id": deptA, "window": "3"}, 401, "unauthenticated"},
		{"finance", q + "/call-next", finance, map[string]string{"department_id": deptA, "window": "3"}, 403, "forbidden"},
		{"another hall", apiV1 + "/staff/halls/" + appointments.DemoHallYuexiu + "/queue/call-next", desk, map[string]string{"department_id": deptA, "window": "3"}, 403, "wrong_hall"},
		{"unknown hall", apiV1 + "/staff/halls/hall-none/queue/call-next", admin, map[string]string{"department_id": deptA, "window": "3"}, 404, "not_found"},
		{"no window", q + "/call-next", desk, map[string]string{"department_id": deptA}, 400, "invalid_argument"},
		{"bad window", q + "/call-next", desk, map[string]string{"department_id": deptA, "window": "三号窗口"}, 400, "invalid_argument"},
		{"unknown field", q + "/call-next", desk, map[string]string{"department_id": deptA, "window": "3", "counter": "x"}, 400, "invalid_argument"},
		{"empty department", q + "/call-next", desk, map[string]string{"department_id": deptB, "window": "3"}, 409, "queue_empty"},
		{"recall before a call", q + "/" + ids[0] + "/recall", desk, map[string]string{}, 409, "not_called"},
		{"skip before a call", q + "/" + ids[0] + "/skip", desk, nil, 409, "not_called"},
		{"transfer to its own department", q + "/" + ids[0] + "/transfer", desk, map[string]string{"department_id": deptA}, 400, "invalid_argument"},
		{"transfer without department", q + "/" + ids[0] + "/transfer", desk, map[string]string{}, 400, "invalid_argument"},
	} {
		a := s.call(t, "POST", c.path, c.token, c.body)
		if a.Status != c.status || a.errCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.Status, a.Raw, c.status, c.code)
		}
		if after := state(); after != before {
			t.Fatalf("%s changed the queue:\n%s\n%s", c.name, before, after)
		}
	}

	got := s.must(t, 200, s.call(t, "POST", q+"/call-next", desk, map[string]string{"department_id": deptA, "window": "3"}))
	if got.str("id") != ids[0] || got.str("window") != "3" || got.str("call_state") != "called" {
		t.Fatalf("call next: %s", got.Raw)
	}
	if n := s.countWhere(t, "inbox", bson.M{"_id": appointments.KindCalled + ":" + ids[0] + ":1", "title": "请到 3 号窗口办理"}); n != 1 {
		t.Fatalf("%d messages telling the window", n)
	}
	if n := s.countWhere(t, "staff_audit", bson.M{"action": "queue.call_next", "target": ids[0], "outcome": "ok"}); n != 1 {
		t.Fatalf("%d audit records of the call", n)
	}
	board := s.must(t, 200, s.call(t, "GET", q, desk, nil))
	if !strings.Contains(string(board.Raw), `"queue_number":"Q001","window":"3"`) {
		t.Fatalf("board: %s", board.Raw)
	}
	for _, n := range names {
		if bytes.Contains(board.Raw, []byte(n)) {
			t.Fatalf("the board shows a name: %s", board.Raw)
		}
	}
	s.must(t, 200, s.call(t, "POST", q+"/"+ids[0]+"/recall", desk, map[string]string{"window": "5"}))
	s.must(t, 200, s.call(t, "POST", q+"/"+ids[0]+"/skip", desk, nil))
	tr := s.must(t, 200, s.call(t, "POST", q+"/"+ids[1]+"/transfer", desk, map[string]string{"department_id": deptB}))
	if tr.str("department_id") != deptB || tr.str("queue_number") != "Q001" {
		t.Fatalf("transfer: %s", tr.Raw)
	}
	if x := s.must(t, 200, s.call(t, "POST", q+"/call-next", admin, map[string]string{"department_id": deptB, "window": "7"})); x.str("id") != ids[1] {
		t.Fatalf("department B calls the transferred: %s", x.Raw)
	}
	if x := s.call(t, "POST", q+"/call-next", desk, map[string]string{"department_id": deptA, "window": "3"}); x.Status != 409 || x.errCode() != "queue_empty" {
		t.Fatalf("department A after everyone: %d %s", x.Status, x.Raw)
	}
}

// TestMarkNoShowAPI: the hall marks a missed booking only after its slot;
// refusals answer their 4xx and change nothing.
func TestMarkNoShowAPI(t *testing.T) {
	s := getStack(t)
	desk := s.staffLogin(t, staff.DemoStaff)
	finance := s.staffLogin(t, staff.DemoFinance)
	_, token := levelThree(t, s)
	_, sl := s.openSlot(t, appointments.DemoHallTianhe, thRSJ, 0, 1, true)
	id := s.must(t, 201, s.book(t, token, sl.ID, thRSJ)).str("id")
	p := apiV1 + "/staff/appointments/" + id + "/no-show"
	for _, c := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"citizen token", p, token, 401, "unauthenticated"},
		{"finance", p, finance, 403, "forbidden"},
		{"malformed id", apiV1 + "/staff/appointments/x/no-show", desk, 400, "invalid_argument"},
		{"unknown", apiV1 + "/staff/appointments/ap00000000000000000000/no-show", desk, 404, "not_found"},
		{"slot not ended", p, desk, 409, "no_show_too_early"},
	} {
		a := s.call(t, "POST", c.path, c.token, nil)
		if a.Status != c.status || a.errCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.Status, a.Raw, c.status, c.code)
		}
		if n := s.countWhere(t, "appointments", bson.M{"_id": id, "status": "booked"}); n != 1 {
			t.Fatalf("%s changed the appointment", c.name)
		}
	}
}
