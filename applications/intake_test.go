package applications

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

func TestReceiveStoresAppliesAndTellsTheProvenOwner(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	r := f.receive(ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", map[string]any{"note": "已受理"}))
	if r.Duplicate || r.ApplicationStatus != StatusAccepted || r.EventID != "e-1" || r.ApplicationNo != "GZ2026031600001" {
		t.Fatalf("receipt: %+v", r)
	}
	d := f.app("GZ2026031600001")
	if d.Status != StatusAccepted || len(d.Timeline) != 1 || d.Version != 1 || d.Applicant.NameMasked != "*三" ||
		d.IDIndex != f.cipher.BlindIndex(IDNumberKind, idZhang) {
		t.Fatalf("application: %+v", d)
	}
	ms := f.messages("u_zhang")
	if len(ms) != 1 || ms[0].ID != "application:dept-a:GZ2026031600001:e-1" || ms[0].Kind != KindProgress ||
		ms[0].Data["application_no"] != "GZ2026031600001" || ms[0].Data["service_code"] == "" || !strings.Contains(ms[0].Body, "受理") {
		t.Fatalf("messages: %+v", ms)
	}
	if !slices.Equal(f.changed, []string{"u_zhang"}) {
		t.Fatalf("page changes: %v", f.changed)
	}
	// Neither the ID number nor the name is stored in clear anywhere.
	for _, c := range []string{collApplications, collEvents} {
		coll := f.svc.apps.Database().Collection(c)
		cur, err := coll.Find(f.ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(f.ctx) {
			if bytes.Contains(cur.Current, []byte(idZhang)) || bytes.Contains(cur.Current, []byte("张三")) {
				t.Fatalf("%s stores the identity in clear: %s", c, cur.Current)
			}
		}
	}
	var e eventDoc
	if err := f.svc.events.FindOne(f.ctx, bson.M{"_id": "dept-a|e-1"}).Decode(&e); err != nil || !e.Applied || !e.Published || e.Owner != "u_zhang" {
		t.Fatalf("event record: %+v %v", e, err)
	}
}

func TestMessagesByStatus(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	steps := []struct{ status, kind, want string }{
		{StatusSubmitted, KindProgress, "已于 2026-03-16 09:00 提交"},
		{StatusAccepted, KindProgress, "受理"},
		{StatusNeedsMaterials, KindMaterials, "一次性备齐以下材料：1. 户口簿复印件（原件不清晰）；2. 近期免冠照片。"},
		{StatusUnderReview, KindProgress, "审核"},
		{StatusApproved, KindResult, "审批通过"},
		{StatusDelivered, KindDelivered, "中国邮政EMS，运单号 EMS1234567890"},
	}
	for i, s := range steps {
		f.receive(ev(fmt.Sprintf("e-%d", i), s.status, fmt.Sprintf("2026-03-16T09:0%d:00+08:00", i), nil))
	}
	ms := f.messages("u_zhang")
	if len(ms) != len(steps) {
		t.Fatalf("%d messages, want %d", len(ms), len(steps))
	}
	byID := map[string]int{}
	for i, m := range ms {
		byID[m.ID] = i
	}
	for i, s := range steps {
		m := ms[byID[MessageID(source, "GZ2026031600001", fmt.Sprintf("e-%d", i))]]
		if m.Kind != s.kind || !strings.Contains(m.Body, s.want) || m.Title == "" {
			t.Errorf("%s: %s %q %q", s.status, m.Kind, m.Title, m.Body)
		}
		// The display values subscribe templates show.
		if m.Data["status_text"] != StatusText(s.status) || m.Data["occurred_at"] != fmt.Sprintf("2026-03-16T09:0%d:00+08:00", i) {
			t.Errorf("%s: data %v", s.status, m.Data)
		}
	}
	if m := ms[byID[MessageID(source, "GZ2026031600001", "e-2")]]; m.Data["materials"] != "户口簿复印件、近期免冠照片" {
		t.Errorf("materials data: %v", m.Data)
	}
	if m := ms[byID[MessageID(source, "GZ2026031600001", "e-5")]]; m.Data["carrier"] != "中国邮政EMS" || m.Data["tracking_no"] != "EMS1234567890" {
		t.Errorf("delivered data: %v", m.Data)
	}
	for _, s := range Statuses() {
		if n := utf8.RuneCountInString(StatusText(s)); n == 0 || n > 5 {
			t.Errorf("status text of %s: %q is not a phrase of at most 5 characters", s, StatusText(s))
		}
	}
	for _, s := range []string{StatusRejected, StatusWithdrawn} {
		if KindOf(s) != KindResult {
			t.Errorf("kind of %s: %s", s, KindOf(s))
		}
	}
}

func TestDuplicateEventChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	body := ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", nil)
	f.receive(body)
	before := f.app("GZ2026031600001")
	f.clock.Advance(time.Minute)
	for _, b := range [][]byte{body, ev("e-1", StatusRejected, "2026-03-16T09:40:00+08:00", map[string]any{"application_no": "OTHER"})} {
		r := f.receive(b)
		if !r.Duplicate || r.ApplicationStatus != StatusAccepted || r.ApplicationNo != "GZ2026031600001" {
			t.Fatalf("again: %+v", r)
		}
	}
	after := f.app("GZ2026031600001")
	if after.Version != before.Version || !after.UpdatedAt.Equal(before.UpdatedAt) || len(after.Timeline) != 1 {
		t.Fatalf("a duplicate changed the application: %+v", after)
	}
	if n, m := f.count(collEvents), f.count(collApplications); n != 1 || m != 1 {
		t.Fatalf("%d events, %d applications stored", n, m)
	}
	if ms := f.messages("u_zhang"); len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	if f.notify.calls != 1 {
		t.Fatalf("published %d times", f.notify.calls)
	}
}

func TestBadEventStoresNothing(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	for _, b := range [][]byte{
		[]byte("not json"),
		ev("e-1", "done", "2026-03-16T09:30:00+08:00", nil),
		ev("e-1", StatusNeedsMaterials, "2026-03-16T09:30:00+08:00", map[string]any{"materials_missing": nil}),
		ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", map[string]any{"extra": true}),
		// A malformed USCC: its organisation code check fails.
		ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", map[string]any{"applicant": map[string]any{"type": "enterprise", "uscc": "91440101MA5CXXXX0Y", "name": "某公司"}}),
	} {
		_, err := f.svc.Receive(f.ctx, source, b)
		if pe, ok := platform.AsError(err); !ok || pe.Code != platform.CodeInvalid {
			t.Fatalf("%s: %v", b, err)
		}
	}
	if f.count(collEvents) != 0 || f.count(collApplications) != 0 || len(f.messages("u_zhang")) != 0 || f.notify.calls != 0 {
		t.Fatal("a bad event left a trace")
	}
}

func TestStatusesNeverMoveBackwards(t *testing.T) {
	type step struct{ id, status, at string }
	cases := []struct {
		name  string
		steps []step
		want  string
		order []string // timeline, by event id
	}{
		{"a late earlier event joins the timeline only",
			[]step{{"a", StatusUnderReview, "10:00"}, {"b", StatusAccepted, "09:00"}}, StatusUnderReview, []string{"b", "a"}},
		{"a final status stays when an earlier one arrives",
			[]step{{"a", StatusApproved, "10:00"}, {"b", StatusUnderReview, "09:00"}}, StatusApproved, []string{"b", "a"}},
		{"a final status stays even under a later non-final one",
			[]step{{"a", StatusApproved, "10:00"}, {"b", StatusNeedsMaterials, "11:00"}}, StatusApproved, []string{"a", "b"}},
		{"a later final replaces a final",
			[]step{{"a", StatusApproved, "10:00"}, {"b", StatusDelivered, "11:00"}}, StatusDelivered, []string{"a", "b"}},
		{"an earlier final does not replace a final",
			[]step{{"b", StatusDelivered, "11:00"}, {"a", StatusApproved, "10:00"}}, StatusDelivered, []string{"a", "b"}},
		{"latest non-final wins, back and forth",
			[]step{{"a", StatusNeedsMaterials, "10:00"}, {"b", StatusUnderReview, "11:00"}, {"c", StatusNeedsMaterials, "12:00"}}, StatusNeedsMaterials, []string{"a", "b", "c"}},
		{"same instant: the usual order decides",
			[]step{{"z", StatusAccepted, "10:00"}, {"a", StatusSubmitted, "10:00"}}, StatusAccepted, []string{"a", "z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, s := range tc.steps {
				f.receive(ev(s.id, s.status, "2026-03-16T"+s.at+":00+08:00", nil))
			}
			d := f.app("GZ2026031600001")
			var got []string
			for _, e := range d.Timeline {
				got = append(got, e.EventID)
			}
			if d.Status != tc.want || !slices.Equal(got, tc.order) {
				t.Fatalf("status %s, timeline %v; want %s, %v", d.Status, got, tc.want, tc.order)
			}
		})
	}
}

// TestConcurrentEventsInAnyOrder delivers the events of one application
// from goroutines at once, in a random order, several times over (each
// event twice): every event is in the timeline exactly once, in timeline
// order, and the status is the one the rule gives for the whole set.
func TestConcurrentEventsInAnyOrder(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	statuses := Statuses()
	for round := range 3 {
		no := fmt.Sprintf("GZRACE%d", round)
		var bodies [][]byte
		var want []entryDoc
		for i := range 12 {
			s := statuses[rand.IntN(len(statuses))]
			at := time.Date(2026, 3, 16, 0, rand.IntN(30), 0, 0, time.UTC)
			id := fmt.Sprintf("r%d-e%02d", round, i)
			bodies = append(bodies, ev(id, s, at.Format(time.RFC3339), map[string]any{"application_no": no}))
			want = insertEntry(want, entryDoc{EventID: id, Status: s, OccurredAt: at})
		}
		all := append(slices.Clone(bodies), bodies...)
		rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		var wg sync.WaitGroup
		start := make(chan struct{})
		dups := make(chan bool, len(all))
		for _, b := range all {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := f.svc.Receive(f.ctx, source, b)
				if err != nil {
					t.Error(err)
					return
				}
				dups <- r.Duplicate
			}()
		}
		close(start)
		wg.Wait()
		close(dups)
		n := 0
		for d := range dups {
			if d {
				n++
			}
		}
		if n != len(bodies) {
			t.Fatalf("round %d: %d duplicates, want %d", round, n, len(bodies))
		}
		d := f.app(no)
		var got, wantIDs []string
		for i := range d.Timeline {
			got = append(got, d.Timeline[i].EventID)
			wantIDs = append(wantIDs, want[i].EventID)
		}
		if !slices.Equal(got, wantIDs) || d.Status != want[current(want)].Status || d.Version != int64(len(bodies)) {
			t.Fatalf("round %d: status %s timeline %v version %d; want %s %v", round, d.Status, got, d.Version, want[current(want)].Status, wantIDs)
		}
	}
	if ms := f.messages("u_zhang"); len(ms) != 36 {
		t.Fatalf("%d messages, want one per event (36)", len(ms))
	}
}

func TestUnmatchedApplicantAppearsOnceProven(t *testing.T) {
	f := newFixture(t)
	f.receive(ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", nil))
	f.receive(ev("e-2", StatusApproved, "2026-03-16T09:40:00+08:00", nil))
	if f.notify.calls != 0 || len(f.changed) != 0 {
		t.Fatal("a message for an applicant nobody proved")
	}
	var e eventDoc
	if err := f.svc.events.FindOne(f.ctx, bson.M{"_id": "dept-a|e-1"}).Decode(&e); err != nil || !e.Published || e.Owner != "" {
		t.Fatalf("event: %+v %v", e, err)
	}
	if list, err := f.svc.ListMine(f.ctx, "u_zhang", 0); err != nil || len(list) != 0 {
		t.Fatalf("before proving: %v %v", list, err)
	}
	f.prove("u_zhang", idZhang)
	list, err := f.svc.ListMine(f.ctx, "u_zhang", 0)
	if err != nil || len(list) != 1 || list[0].Status != StatusApproved || list[0].LastEvent.Status != StatusApproved {
		t.Fatalf("after proving: %+v %v", list, err)
	}
	// Later events reach them.
	f.receive(ev("e-3", StatusDelivered, "2026-03-16T09:50:00+08:00", nil))
	if ms := f.messages("u_zhang"); len(ms) != 1 || ms[0].Kind != KindDelivered {
		t.Fatalf("messages: %+v", ms)
	}
}

func TestEnterpriseApplicationsAreKeptByUSCC(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	f.receive(ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", map[string]any{"application_no": "QY1",
		"applicant": map[string]any{"type": "enterprise", "uscc": uscc, "name": "广州某某科技有限公司"}}))
	d := f.app("QY1")
	if d.USCC != uscc || d.IDIndex != "" || d.Applicant.Name != "广州某某科技有限公司" || f.notify.calls != 0 {
		t.Fatalf("enterprise application: %+v", d)
	}
	if list, _ := f.svc.ListMine(f.ctx, "u_zhang", 0); len(list) != 0 {
		t.Fatalf("a citizen sees an enterprise's application: %+v", list)
	}
}

func TestCitizenViews(t *testing.T) {
	f := newFixture(t)
	f.prove("u_zhang", idZhang)
	f.prove("u_li", idLi)
	f.receive(ev("e-1", StatusAccepted, "2026-03-16T09:30:00+08:00", map[string]any{"application_no": "A1", "note": "已受理"}))
	f.clock.Advance(time.Second)
	f.receive(ev("e-2", StatusAccepted, "2026-03-16T09:31:00+08:00", map[string]any{"application_no": "A2"}))
	f.clock.Advance(time.Second)
	f.receive(ev("e-3", StatusNeedsMaterials, "2026-03-16T09:32:00+08:00", map[string]any{"application_no": "A1"}))
	f.receive(ev("e-4", StatusAccepted, "2026-03-16T09:33:00+08:00", map[string]any{"application_no": "B1",
		"applicant": map[string]any{"type": "person", "id_number": idLi, "name": "李四"}}))

	list, err := f.svc.ListMine(f.ctx, "u_zhang", 0)
	if err != nil || len(list) != 2 || list[0].ApplicationNo != "A1" || list[1].ApplicationNo != "A2" {
		t.Fatalf("list (newest first): %+v %v", list, err)
	}
	if list[0].Status != StatusNeedsMaterials || len(list[0].LastEvent.MaterialsMissing) != 2 || list[0].UpdatedAt.Location() != platform.Shanghai() {
		t.Fatalf("summary: %+v", list[0])
	}
	d, err := f.svc.GetMine(f.ctx, "u_zhang", "A1", "")
	if err != nil || len(d.Timeline) != 2 || d.Timeline[0].Note != "已受理" || d.ApplicantName != "*三" ||
		d.Timeline[0].OccurredAt.Format(time.RFC3339) != "2026-03-16T09:30:00+08:00" {
		t.Fatalf("detail: %+v %v", d, err)
	}
	if _, err := f.svc.GetMine(f.ctx, "u_zhang", "A1", "dept-b"); err != ErrNotFound {
		t.Fatalf("another source: %v", err)
	}
	for _, tc := range []struct{ uid, no string }{{"u_zhang", "B1"}, {"u_li", "A1"}, {"u_zhang", "NOPE"}, {"u_nobody", "A1"}, {"u_zhang", "../x"}} {
		if _, err := f.svc.GetMine(f.ctx, tc.uid, tc.no, ""); err != ErrNotFound {
			t.Errorf("%s reading %s: %v, want not_found", tc.uid, tc.no, err)
		}
	}
}
