package appointments

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// queueState is what a refused queue action must leave unchanged: every
// call field of the hall's appointments and the messages sent.
func (f *fixture) queueState() string {
	f.t.Helper()
	cur, err := f.db.Collection("appointments").Find(f.ctx, bson.M{"hall_id": bson.M{"$in": []string{"h1", "h2"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	var docs []apptDoc
	if err := cur.All(f.ctx, &docs); err != nil {
		f.t.Fatal(err)
	}
	s := fmt.Sprintf("inbox %d;", f.count("inbox", nil))
	for _, d := range docs {
		s += fmt.Sprintf("%s %s %s %s %s %d;", d.ID, d.Status, d.DepartmentID, d.QueueNumber, d.CallState+"@"+d.Window, d.CallCount)
	}
	return s
}

// checkIn checks a in.
func (f *fixture) checkIn(a Appointment) StaffAppointment {
	f.t.Helper()
	v, err := f.svc.CheckIn(f.ctx, h1Staff, a.CheckinCode)
	if err != nil {
		f.t.Fatalf("check in %s: %v", a.ID, err)
	}
	return v
}

// TestQueueCalling: counters call in check-in order, per department; the
// citizen is told the window; recall, skip and transfer move the number as
// the hall expects; the board shows numbers and windows, never names; bad
// or refused actions change nothing.
func TestQueueCalling(t *testing.T) {
	f := newFixture(t)
	bk := []Appointment{f.mustBook(citizen(1), "sc1.20260310.0900", "s1"), f.mustBook(citizen(2), "sc1.20260310.1000", "s2"),
		f.mustBook(citizen(3), "sc2.20260310.0900", "s3"), f.mustBook(citizen(4), "sc1.20260310.1100", "s1")}
	booked := f.mustBook(citizen(5), "sc1.20260310.1100", "s1")
	f.clock.Set(time.Date(2026, 3, 10, 8, 45, 0, 0, t0.Location()))
	var in []StaffAppointment
	for _, a := range bk {
		in = append(in, f.checkIn(a))
		f.clock.Advance(time.Minute)
	}
	a1, a2, b1, a3 := in[0], in[1], in[2], in[3]

	watch, err := f.svc.WatchQueue(f.ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "3")
	if err != nil || got.ID != a1.ID || got.QueueNumber != "A001" || got.Window != "3" || got.CallState != queueCalled {
		t.Fatalf("call next: %+v %v", got, err)
	}
	select {
	case <-watch:
	case <-time.After(5 * time.Second):
		t.Fatal("the display was not told of the call")
	}
	var m struct{ Title, Body string }
	if err := f.db.Collection("inbox").FindOne(f.ctx, bson.M{"_id": KindCalled + ":" + a1.ID + ":1"}).Decode(&m); err != nil ||
		m.Title != "请到 3 号窗口办理" {
		t.Fatalf("citizen's message: %+v %v", m, err)
	}
	b, err := f.svc.QueueBoard(f.ctx, "h1")
	if err != nil || len(b.Calls) != 1 || b.Calls[0].QueueNumber != "A001" || b.Calls[0].Window != "3" ||
		b.Calls[0].DepartmentName != "部门一" || b.Waiting != 3 || b.HallName != "一号大厅" {
		t.Fatalf("board: %+v %v", b, err)
	}

	before := f.queueState()
	for _, c := range []struct {
		name string
		do   func() error
		want error
	}{
		{"finance", func() error { _, err := f.svc.CallNext(f.ctx, financier, "h1", "d1", "1"); return err }, ErrForbidden},
		{"another hall's staff", func() error { _, err := f.svc.CallNext(f.ctx, h2Staff, "h1", "d1", "1"); return err }, ErrWrongHall},
		{"unknown hall", func() error { _, err := f.svc.CallNext(f.ctx, admin, "h9", "d1", "1"); return err }, ErrNotFound},
		{"window not a number", func() error { _, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "三号"); return err }, ErrInvalid},
		{"window too long", func() error { _, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "12345"); return err }, ErrInvalid},
		{"no department", func() error { _, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "", "1"); return err }, ErrInvalid},
		{"another hall's department", func() error { _, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d3", "1"); return err }, ErrInvalid},
		{"recall of one not called", func() error { _, err := f.svc.Recall(f.ctx, h1Staff, "h1", a2.ID, ""); return err }, ErrNotCalled},
		{"skip of one not called", func() error { _, err := f.svc.Skip(f.ctx, h1Staff, "h1", a2.ID); return err }, ErrNotCalled},
		{"recall of one not checked in", func() error { _, err := f.svc.Recall(f.ctx, h1Staff, "h1", booked.ID, ""); return err }, ErrNotCheckedIn},
		{"recall in another hall", func() error { _, err := f.svc.Recall(f.ctx, admin, "h2", a1.ID, ""); return err }, ErrNotFound},
		{"malformed id", func() error { _, err := f.svc.Skip(f.ctx, h1Staff, "h1", "x"); return err }, ErrInvalid},
		{"transfer to the same department", func() error { _, err := f.svc.Transfer(f.ctx, h1Staff, "h1", a2.ID, "d1"); return err }, ErrInvalid},
		{"transfer to another hall's department", func() error { _, err := f.svc.Transfer(f.ctx, h1Staff, "h1", a2.ID, "d3"); return err }, ErrInvalid},
		{"transfer by another hall's staff", func() error { _, err := f.svc.Transfer(f.ctx, h2Staff, "h1", a2.ID, "d2"); return err }, ErrWrongHall},
	} {
		if err := c.do(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if after := f.queueState(); after != before {
			t.Fatalf("%s changed the queue:\n%s\n%s", c.name, before, after)
		}
	}

	// Recall: a second message, the board marks it.
	if got, err := f.svc.Recall(f.ctx, h1Staff, "h1", a1.ID, ""); err != nil || got.Window != "3" {
		t.Fatalf("recall: %+v %v", got, err)
	}
	if n := f.count("inbox", bson.M{"_id": KindCalled + ":" + a1.ID + ":2"}); n != 1 {
		t.Fatalf("recall message: %d", n)
	}
	if b, _ := f.svc.QueueBoard(f.ctx, "h1"); len(b.Calls) != 1 || !b.Calls[0].Recall {
		t.Fatalf("board after recall: %+v", b)
	}
	// Skip: off the board; skipping again changes nothing; recall brings it back.
	if got, err := f.svc.Skip(f.ctx, h1Staff, "h1", a1.ID); err != nil || got.CallState != queueSkipped {
		t.Fatalf("skip: %+v %v", got, err)
	}
	if b, _ := f.svc.QueueBoard(f.ctx, "h1"); len(b.Calls) != 0 {
		t.Fatalf("board after skip: %+v", b)
	}
	if got, err := f.svc.Skip(f.ctx, h1Staff, "h1", a1.ID); err != nil || got.CallState != queueSkipped {
		t.Fatalf("skip again: %+v %v", got, err)
	}
	if got, err := f.svc.Recall(f.ctx, h1Staff, "h1", a1.ID, "5"); err != nil || got.Window != "5" || got.CallState != queueCalled {
		t.Fatalf("recall of the skipped: %+v %v", got, err)
	}
	// Transfer: a2 joins department two with a B number, ahead of b1 who
	// checked in after a2.
	tr, err := f.svc.Transfer(f.ctx, h1Staff, "h1", a2.ID, "d2")
	if err != nil || tr.DepartmentID != "d2" || tr.QueueNumber != "B002" || tr.CallState != "" {
		t.Fatalf("transfer: %+v %v", tr, err)
	}
	if got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d2", "7"); err != nil || got.ID != a2.ID {
		t.Fatalf("department two calls the transferred first: %+v %v", got, err)
	}
	if got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d2", "7"); err != nil || got.ID != b1.ID {
		t.Fatalf("then b1: %+v %v", got, err)
	}
	f.clock.Advance(time.Minute)
	if got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "3"); err != nil || got.ID != a3.ID {
		t.Fatalf("department one's next: %+v %v", got, err)
	}
	before = f.queueState()
	if _, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "3"); !errors.Is(err, ErrQueueEmpty) || f.queueState() != before {
		t.Fatalf("empty queue: %v", err)
	}
	// Completed: no more recalls.
	if _, err := f.svc.Complete(f.ctx, h1Staff, a3.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Recall(f.ctx, h1Staff, "h1", a3.ID, ""); !errors.Is(err, ErrNotActive) {
		t.Fatalf("recall of a completed visit: %v", err)
	}
	if b, _ := f.svc.QueueBoard(f.ctx, "h1"); b.Waiting != 0 || len(b.Calls) != 4 || b.Calls[0].QueueNumber != "A003" {
		t.Fatalf("final board: %+v", b)
	}
}

// TestQueueCallRace: counters of two processes call at once; every waiting
// citizen is called by exactly one counter, and the rest hear the queue is
// empty.
func TestQueueCallRace(t *testing.T) {
	f := newFixture(t)
	const waiting, counters = 12, 16
	var bk []Appointment
	for i := range waiting {
		bk = append(bk, f.mustBook(citizen(i+10), "sc1.20260310.0900", "s1"))
	}
	f.clock.Set(time.Date(2026, 3, 10, 8, 45, 0, 0, t0.Location()))
	for _, a := range bk {
		f.checkIn(a)
	}
	procs := []*Service{f.svc, f.another()}
	var (
		mu     sync.Mutex
		called = map[string]string{}
		empty  int
		wg     sync.WaitGroup
	)
	for c := range counters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			window := fmt.Sprint(c + 1)
			got, err := procs[c%2].CallNext(f.ctx, h1Staff, "h1", "d1", window)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrQueueEmpty):
				empty++
			case err != nil:
				t.Errorf("counter %s: %v", window, err)
			default:
				if prev, dup := called[got.ID]; dup {
					t.Errorf("%s called by windows %s and %s", got.ID, prev, window)
				}
				called[got.ID] = window
			}
		}()
	}
	wg.Wait()
	if len(called) != waiting || empty != counters-waiting {
		t.Fatalf("%d called, %d told empty; want %d and %d", len(called), empty, waiting, counters-waiting)
	}
	if n := f.count("appointments", bson.M{"call_state": queueCalled, "call_count": 1}); n != waiting {
		t.Fatalf("%d appointments called once", n)
	}
	if n := f.count("inbox", bson.M{"kind": KindCalled}); n != waiting {
		t.Fatalf("%d call messages", n)
	}
}

// TestCallMessageSurvivesAFailedPublish: a call whose message could not be
// published (the notifier was down, or the process died right after the
// call's write) keeps it owed on the appointment; the sweeper publishes it
// once after a minute — unless the visit ended meanwhile (no late "go to
// window 3"). A published call owes nothing.
func TestCallMessageSurvivesAFailedPublish(t *testing.T) {
	n := &flakyNotifier{}
	f := newFixture(t, func(f *fixture, d *Deps) { n.inbox = f.inbox; d.Notifier = n })
	a := f.mustBook(citizen(1), "sc1.20260310.0900", "s1")
	b := f.mustBook(citizen(2), "sc1.20260310.1000", "s1")
	c := f.mustBook(citizen(3), "sc1.20260310.1100", "s1")
	f.clock.Set(time.Date(2026, 3, 10, 8, 45, 0, 0, t0.Location()))
	for _, x := range []Appointment{a, b, c} {
		f.checkIn(x)
		f.clock.Advance(time.Second)
	}
	if got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "1"); err != nil || got.ID != a.ID {
		t.Fatalf("call a: %+v %v", got, err)
	}
	if f.count("appointments", bson.M{"_id": a.ID, "notice": bson.M{"$exists": true}}) != 0 || f.messagesOf(KindCalled, citizen(1).ID) != 1 {
		t.Fatal("a published call still owes its message, or was not published")
	}

	n.setDown(true)
	for _, want := range []string{b.ID, c.ID} {
		if got, err := f.svc.CallNext(f.ctx, h1Staff, "h1", "d1", "2"); err != nil || got.ID != want {
			t.Fatalf("call %s: %+v %v", want, got, err)
		}
	}
	if f.count("appointments", bson.M{"notice": KindCalled}) != 2 || f.count("inbox", bson.M{"kind": KindCalled}) != 1 {
		t.Fatal("the unpublished calls are not owed")
	}
	// c is served before the sweeper runs: its call is no longer news.
	if _, err := f.svc.Complete(f.ctx, h1Staff, c.ID); err != nil {
		t.Fatal(err)
	}
	n.setDown(false)
	f.clock.Advance(30 * time.Second)
	if r, _ := f.svc.SweepOnce(f.ctx); r.Notices != 0 {
		t.Fatalf("published within the grace: %+v", r)
	}
	f.clock.Advance(31 * time.Second)
	if r, err := f.svc.SweepOnce(f.ctx); err != nil || r.Notices != 2 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if f.count("inbox", bson.M{"_id": KindCalled + ":" + b.ID + ":1"}) != 1 || f.messagesOf(KindCalled, citizen(3).ID) != 0 {
		t.Fatal("b's call not published once, or c (served) told to go to the window late")
	}
	if f.count("appointments", bson.M{"notice": bson.M{"$exists": true}}) != 0 {
		t.Fatal("notices left after the sweep")
	}
	if r, _ := f.svc.SweepOnce(f.ctx); r.Notices != 0 {
		t.Fatalf("second sweep %+v", r)
	}
}
