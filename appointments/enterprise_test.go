package appointments

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

const entUSCC = "91440101MA5CXXXX7X"

// fakeEnterprises: user → the service item codes they may act for at
// entUSCC ("*": all).
type fakeEnterprises map[string][]string

func (e fakeEnterprises) MayActFor(_ context.Context, user, uscc, item string) (bool, error) {
	items, ok := e[user]
	return ok && uscc == entUSCC && (slices.Contains(items, "*") || slices.Contains(items, item)), nil
}

func withEnterprises(e Enterprises, perDay int) fixtureOpt {
	return func(_ *fixture, d *Deps) { d.Enterprises, d.MaxPerEnterpriseDay = e, perDay }
}

func onBehalf(slot, service string) BookRequest {
	return BookRequest{SlotID: slot, ServiceID: service, OnBehalfOf: &OnBehalfOf{USCC: entUSCC}}
}

// TestBookOnBehalfOf: a member whose scope covers the service books for the
// enterprise (the appointment says so, the enterprise lists it without the
// check-in code); a member of another scope, a stranger, a malformed code
// are refused and change nothing; cancelling frees the enterprise's slot.
func TestBookOnBehalfOf(t *testing.T) {
	ents := fakeEnterprises{"u0001": {"*"}, "u0002": {"CODE-s1"}}
	f := newFixture(t, withEnterprises(ents, 5))
	a, err := f.svc.Book(f.ctx, citizen(1), onBehalf(raceSlot, "s1"), "")
	if err != nil || a.OnBehalfOf == nil || a.OnBehalfOf.USCC != entUSCC {
		t.Fatalf("book on behalf: %+v %v", a, err)
	}
	list, err := f.svc.ListForEnterprise(f.ctx, entUSCC, nil, 20)
	if err != nil || len(list) != 1 || list[0].ID != a.ID || list[0].CheckinCode != "" || list[0].CheckinQR != "" {
		t.Fatalf("enterprise's appointments: %+v %v", list, err)
	}
	if l, _ := f.svc.ListForEnterprise(f.ctx, entUSCC, func(code string) bool { return code == "CODE-s2" }, 20); len(l) != 0 {
		t.Fatalf("out of scope listed: %+v", l)
	}
	if n := f.count("appt_userslots", bson.M{"_id": bson.M{"$regex": "^ent\\|"}}); n != 1 {
		t.Fatalf("%d enterprise slots", n)
	}
	before := f.state()
	for _, tc := range []struct {
		name  string
		who   Citizen
		req   BookRequest
		want  error
		field string
	}{
		{"another scope", citizen(2), onBehalf(raceSlot, "s2"), ErrNotActingFor, ""},
		{"a stranger", citizen(3), onBehalf(raceSlot, "s1"), ErrNotActingFor, ""},
		{"no code", citizen(1), BookRequest{SlotID: raceSlot, ServiceID: "s2", OnBehalfOf: &OnBehalfOf{}}, ErrInvalid, "on_behalf_of.uscc"},
		{"malformed code", citizen(1), BookRequest{SlotID: raceSlot, ServiceID: "s2", OnBehalfOf: &OnBehalfOf{USCC: "91440101MA5CXXXX8X"}}, ErrInvalid, "on_behalf_of.uscc"},
		{"the citizen's own limit", citizen(1), onBehalf(raceSlot, "s1"), ErrDuplicateBooking, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Book(f.ctx, tc.who, tc.req, "")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if pe, _ := platform.AsError(err); tc.field != "" && pe.Field != tc.field {
				t.Fatalf("field %q, want %q", pe.Field, tc.field)
			}
			f.sameState(before)
		})
	}
	if _, err := f.svc.Cancel(f.ctx, citizen(1).ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.count("appt_userslots", bson.M{"_id": bson.M{"$regex": "^ent\\|"}}); n != 0 {
		t.Fatalf("%d enterprise slots after cancelling", n)
	}
	if l, _ := f.svc.ListForEnterprise(f.ctx, entUSCC, nil, 20); len(l) != 0 {
		t.Fatalf("cancelled still listed: %+v", l)
	}
}

// TestEnterpriseDayLimitRace: twelve members book for one enterprise at
// once with a limit of three a day: exactly three are booked, nine refused
// with ErrEnterpriseLimit; the refused still book for themselves.
func TestEnterpriseDayLimitRace(t *testing.T) {
	ents := fakeEnterprises{}
	for i := range 12 {
		ents[citizen(i).ID] = []string{"*"}
	}
	f := newFixture(t, withEnterprises(ents, 3))
	errs := make([]error, 12)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.svc.Book(context.Background(), citizen(i), onBehalf(raceSlot, "s1"), "")
		}()
	}
	close(start)
	wg.Wait()
	booked, limited := 0, 0
	var refused []int
	for i, err := range errs {
		switch {
		case err == nil:
			booked++
		case errors.Is(err, ErrEnterpriseLimit):
			limited++
			refused = append(refused, i)
		default:
			t.Fatalf("booking %d: %v", i, err)
		}
	}
	if booked != 3 || limited != 9 {
		t.Fatalf("%d booked, %d limited; want 3 and 9", booked, limited)
	}
	if n := f.count("appointments", bson.M{"on_behalf_of": entUSCC, "status": StatusBooked}); n != 3 {
		t.Fatalf("%d booked for the enterprise", n)
	}
	if a, s := f.booked(raceSlot); a != 3 || s != 3 {
		t.Fatalf("%d appointments, %d seats", a, s)
	}
	// The refused still book for themselves: their own limits are untouched.
	f.mustBook(citizen(refused[0]), raceSlot, "s1")
}
