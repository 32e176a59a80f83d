package appointments

import (
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMarkNoShow: the hall marks a missed booking once its slot ended; the
// no-show policy applies once (a later sweep adds nothing); refused marks
// change nothing.
func TestMarkNoShow(t *testing.T) {
	f := newFixture(t)
	a := f.mustBook(citizen(1), "sc1.20260310.0900", "s1")
	in := f.mustBook(citizen(2), "sc1.20260310.0900", "s1")
	f.clock.Set(time.Date(2026, 3, 10, 9, 30, 0, 0, t0.Location())) // during the slot
	if _, err := f.svc.CheckIn(f.ctx, h1Staff, in.CheckinCode); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		actor StaffActor
		id    string
		want  error
	}{
		{"finance", financier, a.ID, ErrForbidden},
		{"another hall's staff", h2Staff, a.ID, ErrWrongHall},
		{"malformed id", h1Staff, "x", ErrInvalid},
		{"unknown", h1Staff, "ap00000000000000000000", ErrNotFound},
		{"before the slot ends", h1Staff, a.ID, ErrNoShowTooEarly},
		{"checked in", h1Staff, in.ID, ErrAlreadyCheckedIn},
	} {
		before := f.state()
		if _, err := f.svc.MarkNoShow(f.ctx, c.actor, c.id); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		f.sameState(before)
	}
	f.clock.Set(time.Date(2026, 3, 10, 10, 5, 0, 0, t0.Location())) // the slot ended 5 minutes ago
	got, err := f.svc.MarkNoShow(f.ctx, h1Staff, a.ID)
	if err != nil || got.Status != StatusNoShow || got.NoShowAt == nil {
		t.Fatalf("mark: %+v %v", got, err)
	}
	if again, err := f.svc.MarkNoShow(f.ctx, admin, a.ID); err != nil || again.Status != StatusNoShow {
		t.Fatalf("again: %+v %v", again, err)
	}
	f.clock.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, t0.Location()))
	cat, err := f.svc.cat.get(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.sweepNoShows(f.ctx, cat); err != nil {
		t.Fatal(err)
	}
	if n := f.count("appt_noshows", bson.M{"_id": a.ID}); n != 1 {
		t.Fatalf("%d no-show records", n)
	}
	if n := f.count("inbox", bson.M{"kind": KindNoShow, "user_id": "u0001"}); n != 1 {
		t.Fatalf("%d no-show warnings", n)
	}
	if n := f.count("appointments", bson.M{"_id": a.ID, "penalized": true}); n != 1 {
		t.Fatal("the no-show is not marked penalized")
	}
}
