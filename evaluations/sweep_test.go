package evaluations

import (
	"sync"
	"testing"
	"time"
)

func TestDefaultRating(t *testing.T) {
	f := newFixture(t)
	// Before 7 days nothing is due.
	f.clock.Advance(7*24*time.Hour - time.Minute)
	rep, err := f.svc.Sweep(f.ctx)
	if err != nil || rep.Defaults != 0 || f.count(collEvaluations) != 0 {
		t.Fatalf("early sweep: %+v %v", rep, err)
	}
	f.clock.Advance(time.Minute)
	rep, err = f.svc.Sweep(f.ctx)
	// A1, E1 and appt-done are finished; L1 and appt-booked are not.
	if err != nil || rep.Defaults != 3 {
		t.Fatalf("sweep: %+v %v", rep, err)
	}
	for id, who := range map[string]evaluatorDoc{
		evalID(KindApplication, "dept-a|A1", 1): {Type: EvaluatorPerson, IDIndex: idxZhang},
		evalID(KindApplication, "dept-a|E1", 1): {Type: EvaluatorEnterprise, USCC: usccDemo},
		evalID(KindAppointment, "appt-done", 1): {Type: EvaluatorPerson, UserID: userZhang},
	} {
		d := f.evalDoc(id)
		if !d.Default || d.Level != LevelBasic || d.Channel != ChannelSystemDefault || d.Evaluator != who || !d.Effective {
			t.Fatalf("default %s: %+v", id, d)
		}
	}
	// Swept again: nothing more; the citizen can no longer rate that result.
	if rep, err := f.svc.Sweep(f.ctx); err != nil || rep.Defaults != 0 {
		t.Fatalf("second sweep: %+v %v", rep, err)
	}
	_, err = f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelSatisfied})
	wantCode(t, err, "already_evaluated")
	// The citizen sees the default of their application and of their visit.
	mine, err := f.svc.ForUser(f.ctx, userZhang)
	if err != nil || len(mine) != 2 || !mine[0].Default {
		t.Fatalf("mine: %+v %v", mine, err)
	}
	// A new result: rated by the citizen as evaluation 2, so no default.
	f.clock.Advance(time.Hour)
	f.subs.putApp(f.app("A1", idxZhang, "", true, "ev-9"))
	if v, err := f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{ApplicationNo: "A1"}, Level: LevelSatisfied}); err != nil || v.Sequence != 2 {
		t.Fatal(v, err)
	}
	f.clock.Advance(8 * 24 * time.Hour)
	if rep, err := f.svc.Sweep(f.ctx); err != nil || rep.Defaults != 0 {
		t.Fatalf("after evaluation 2: %+v %v", rep, err)
	}
}

// TestDefaultRacesCitizen: a citizen's evaluation and sweeps at the same
// moment store one evaluation of the result.
func TestDefaultRacesCitizen(t *testing.T) {
	f := newFixture(t)
	f.clock.Advance(7 * 24 * time.Hour)
	var wg sync.WaitGroup
	var citizenErr error
	wg.Add(5)
	go func() {
		defer wg.Done()
		_, citizenErr = f.svc.Evaluate(f.ctx, userZhang, Request{Subject: RequestSubject{AppointmentID: "appt-done"}, Level: LevelSatisfied})
	}()
	for range 4 {
		go func() {
			defer wg.Done()
			if _, err := f.svc.Sweep(f.ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if citizenErr != nil && !isErr(citizenErr, ErrAlreadyEvaluated) {
		t.Fatal(citizenErr)
	}
	d := f.evalDoc(evalID(KindAppointment, "appt-done", 1))
	if (citizenErr == nil) == d.Default {
		t.Fatalf("citizen %v, stored default=%v", citizenErr, d.Default)
	}
	if f.count(collEvaluations) != 3 { // appt-done, A1, E1
		t.Fatalf("%d evaluations", f.count(collEvaluations))
	}
}

// TestSweepOpensLostTickets: a 差评 stored without its ticket (a crash) gets
// it from the sweeper.
func TestSweepOpensLostTickets(t *testing.T) {
	f := newFixture(t)
	sub, _, _ := f.subs.Appointment(f.ctx, "appt-done")
	d := f.svc.record(sub, 1, evaluatorDoc{Type: EvaluatorPerson, UserID: userZhang})
	d.Level, d.Indicators, d.Channel, d.Mode, d.TicketPending = LevelDissatisfied, []string{IndicatorAttitude}, ChannelMobile, ModeOnsite, true
	if err := f.svc.insert(f.ctx, d); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	rep, err := f.svc.Sweep(f.ctx)
	if err != nil || rep.Tickets != 1 || f.count(collTickets) != 1 || f.evalDoc(d.ID).TicketPending {
		t.Fatalf("%+v %v", rep, err)
	}
	if rep, _ := f.svc.Sweep(f.ctx); rep.Tickets != 0 {
		t.Fatal("ticket opened twice")
	}
}
