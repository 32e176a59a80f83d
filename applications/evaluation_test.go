package applications

import (
	"testing"
	"time"

	"banshi/internal/platform"
)

// TestOutcomes: Numbered finds an application by number (of a source or of
// any), with its result and applicant; FinishedBetween pages through final
// applications in (updated_at, _id) order, on the embedded engine.
func TestOutcomes(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.EnsureEvaluationIndexes(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EnsureEvaluationIndexes(f.ctx); err != nil {
		t.Fatal("second EnsureEvaluationIndexes:", err)
	}
	at := func() string { return platform.Local(f.clock.Now()).Format(time.RFC3339) }
	begin := f.clock.Now()
	for i, no := range []string{"N1", "N2", "N3", "N4"} {
		f.receive(ev("s-"+no, StatusSubmitted, at(), map[string]any{"application_no": no}))
		if i != 2 { // N3 stays unfinished
			f.receive(ev("a-"+no, StatusApproved, at(), map[string]any{"application_no": no}))
		}
		f.clock.Advance(time.Second)
	}
	got, err := f.svc.Numbered(f.ctx, "N2", "")
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	o := got[0]
	idx := f.cipher.BlindIndex(IDNumberKind, idZhang)
	if o.Key != source+"|N2" || !o.Final || o.ResultEventID != "a-N2" || o.IDIndex != idx || o.ApplicantType != ApplicantPerson || o.ResultAt.IsZero() {
		t.Fatalf("outcome %+v", o)
	}
	if got, _ := f.svc.Numbered(f.ctx, "N2", "other-dept"); len(got) != 0 {
		t.Fatal("another source's number found")
	}
	if got, _ := f.svc.Numbered(f.ctx, "N 2", ""); len(got) != 0 {
		t.Fatal("a malformed number found")
	}
	if got, _ := f.svc.Numbered(f.ctx, "N3", source); len(got) != 1 || got[0].Final {
		t.Fatalf("unfinished %+v", got)
	}
	var keys []string
	afterAt, afterKey := begin.Add(-time.Hour), ""
	for range 5 {
		page, err := f.svc.FinishedBetween(f.ctx, afterAt, afterKey, f.clock.Now(), 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			keys = append(keys, o.ApplicationNo)
		}
		if len(page) < 2 {
			break
		}
		afterAt, afterKey = page[len(page)-1].UpdatedAt, page[len(page)-1].Key
	}
	if len(keys) != 3 || keys[0] != "N1" || keys[1] != "N2" || keys[2] != "N4" {
		t.Fatalf("finished pages %v", keys)
	}
	if page, _ := f.svc.FinishedBetween(f.ctx, begin.Add(-time.Hour), "", begin, 10); len(page) != 1 {
		t.Fatalf("before bounds the pages: %d", len(page))
	}
}
