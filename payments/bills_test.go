package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

func TestReceiveIssueStoresTheBillAndTellsItsOwner(t *testing.T) {
	f := newBillFixture(t)
	f.prove("u-zhang", billIDZhang)
	r := f.receive(billBody("e-1", BillIssue, "JT-1", nil))
	if r.Duplicate || r.BillNo != "JT-1" || r.State != BillUnpaid {
		t.Fatalf("receipt %+v", r)
	}
	d := f.bill("JT-1")
	if d.Source != billSource || d.State != BillUnpaid || d.Version != 1 || d.AmountFen != 20000 ||
		d.IDIndex != f.cipher.BlindIndex(IDNumberKind, billIDZhang) || d.Payer.NameMasked != "*三" ||
		d.CodeDigest != f.cipher.BlindIndex(CodeKind, "JT-1|AB12cd") || d.LateFee.CapFen != 20000 ||
		d.Unit.Name != "广州市公安局交通警察支队" || len(d.Events) != 1 {
		t.Fatalf("bill %+v", d)
	}
	// Neither the ID number nor the code is stored in clear.
	raw, err := f.bills.bills.FindOne(f.ctx, bson.M{"_id": "JT-1"}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if s := raw.String(); containsAny(s, billIDZhang, "AB12cd", "张三") {
		t.Fatalf("stored in clear: %s", s)
	}
	ms := f.messages("u-zhang")
	if len(ms) != 1 || ms[0].Kind != MsgBillIssued || ms[0].ID != BillMessageID(billSource, "JT-1", "e-1") || ms[0].Data["amount_fen"] != "20000" {
		t.Fatalf("messages %+v", ms)
	}

	// The same event again: a duplicate, nothing changes, no second message.
	r = f.receive(billBody("e-1", BillIssue, "JT-1", map[string]any{"amount_fen": 30000}))
	if !r.Duplicate || r.State != BillUnpaid || f.bill("JT-1").Version != 1 || f.bill("JT-1").AmountFen != 20000 || len(f.messages("u-zhang")) != 1 {
		t.Fatalf("duplicate changed something: %+v", r)
	}

	// An enterprise's bill tells nobody; an unproven person's neither.
	f.receive(billBody("e-2", BillIssue, "QY-1", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": billUSCC, "name": "某某公司"}}))
	f.receive(billBody("e-3", BillIssue, "JT-3", map[string]any{"payer": map[string]any{"type": "person", "id_number": billIDLi, "name": "李四"}}))
	if d := f.bill("QY-1"); d.USCC != billUSCC || d.IDIndex != "" || d.Payer.Name != "某某公司" {
		t.Fatalf("enterprise bill %+v", d)
	}
	if n := len(f.messages("u-zhang")); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// snapshot is what a refused event must leave as it was.
func (f *billFixture) snapshot(no string) string {
	f.t.Helper()
	d, err := f.bills.load(f.ctx, no)
	if err != nil && !errors.Is(err, ErrBillNotFound) {
		f.t.Fatal(err)
	}
	j, _ := json.Marshal(d)
	return fmt.Sprintf("%s events=%d", j, f.eventCount())
}

func TestReceiveRefusalsChangeNothing(t *testing.T) {
	f := newBillFixture(t)
	f.prove("u-zhang", billIDZhang)
	f.receive(billBody("i-1", BillIssue, "B-UNPAID", nil))
	f.receive(billBody("i-2", BillIssue, "B-PAYING", nil))
	f.receive(billBody("i-3", BillIssue, "B-PAID", nil))
	f.receive(billBody("i-4", BillIssue, "B-CANCELLED", nil))
	f.receive(billBody("c-4", BillCancel, "B-CANCELLED", nil))
	if _, err := f.bills.openOrder(f.ctx, f.bill("B-PAYING"), "O-1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.bills.markPaid(f.ctx, "B-PAID", "O-2", 20000, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	msgs := len(f.messages("u-zhang"))
	for _, c := range []struct {
		source, body string
		bill         string
		want         error
	}{
		{billSource, string(billBody("x-1", BillIssue, "B-UNPAID", nil)), "B-UNPAID", ErrBillConflict},
		{"dept-b", string(billBody("x-2", BillIssue, "B-UNPAID", nil)), "B-UNPAID", ErrBillConflict},
		{"dept-b", string(billBody("x-3", BillCancel, "B-UNPAID", nil)), "B-UNPAID", ErrBillNotFound},
		{billSource, string(billBody("x-4", BillCancel, "B-NONE", nil)), "B-NONE", ErrBillNotFound},
		{billSource, string(billBody("x-5", BillAdjust, "B-NONE", map[string]any{"amount_fen": 1})), "B-NONE", ErrBillNotFound},
		{billSource, string(billBody("x-6", BillCancel, "B-PAYING", nil)), "B-PAYING", ErrBillInPayment},
		{billSource, string(billBody("x-7", BillAdjust, "B-PAYING", map[string]any{"amount_fen": 1})), "B-PAYING", ErrBillInPayment},
		{billSource, string(billBody("x-8", BillCancel, "B-PAID", nil)), "B-PAID", ErrBillPaid},
		{billSource, string(billBody("x-9", BillAdjust, "B-PAID", map[string]any{"due_date": "2026-05-01"})), "B-PAID", ErrBillPaid},
		{billSource, string(billBody("x-10", BillCancel, "B-CANCELLED", nil)), "B-CANCELLED", ErrBillCancelled},
		{billSource, string(billBody("x-11", BillAdjust, "B-CANCELLED", map[string]any{"amount_fen": 5})), "B-CANCELLED", ErrBillCancelled},
		// A cap above the bill's amount is refused when applied.
		{billSource, string(billBody("x-12", BillAdjust, "B-UNPAID", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 3, "cap_fen": 20001}})), "B-UNPAID", platform.Invalid("late_fee.cap_fen", "range", "")},
		{billSource, `{"event_id":"x-13","action":"cancel","bill_no":"B-UNPAID","note":"x"}`, "B-UNPAID", platform.Invalid("note", "unknown_field", "")},
		// A malformed USCC (its organisation code check fails) is refused.
		{billSource, string(billBody("x-14", BillIssue, "B-QY", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "91440101MA5CXXXX0Y", "name": "某公司"}})), "B-QY", platform.Invalid("payer.uscc", "", "")},
	} {
		before := f.snapshot(c.bill)
		_, err := f.bills.Receive(f.ctx, c.source, []byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.body, err, c.want)
		}
		if after := f.snapshot(c.bill); after != before {
			t.Errorf("%s changed the bill:\n%s\n%s", c.body, before, after)
		}
	}
	if n := len(f.messages("u-zhang")); n != msgs {
		t.Fatalf("refused events sent messages: %d → %d", msgs, n)
	}

	// A refused event is not stored: after the payment ends (the order
	// closed unpaid), the same event is decided afresh and applies.
	if _, err := f.bills.releaseOrder(f.ctx, "B-PAYING", "O-1"); err != nil {
		t.Fatal(err)
	}
	r := f.receive(billBody("x-6", BillCancel, "B-PAYING", nil))
	if r.Duplicate || r.State != BillCancelled || f.bill("B-PAYING").State != BillCancelled {
		t.Fatalf("retry after the payment: %+v", r)
	}
}

func TestReceiveAdjustAndCancel(t *testing.T) {
	f := newBillFixture(t)
	f.prove("u-zhang", billIDZhang)
	f.receive(billBody("i-1", BillIssue, "B-1", nil))
	r := f.receive(billBody("a-1", BillAdjust, "B-1", map[string]any{"amount_fen": 15000, "due_date": "2026-04-30"}))
	d := f.bill("B-1")
	if r.Duplicate || d.AmountFen != 15000 || d.DueDate != "2026-04-30" || d.LateFee.CapFen != 20000 || d.Version != 2 || d.LastEvent != "a-1" {
		t.Fatalf("adjusted %+v", d)
	}
	f.receive(billBody("a-2", BillAdjust, "B-1", map[string]any{"late_fee": map[string]any{"from": "2026-05-01", "permille_per_day": 5}}))
	if d := f.bill("B-1"); d.LateFee.From != "2026-05-01" || d.LateFee.PermillePerDay != 5*PermilleScale || d.LateFee.CapFen != MaxBillAmountFen || d.AmountFen != 15000 || d.Version != 3 {
		t.Fatalf("late fee adjusted %+v", d)
	}
	f.receive(billBody("c-1", BillCancel, "B-1", nil))
	if d := f.bill("B-1"); d.State != BillCancelled || d.Version != 4 || len(d.Events) != 4 {
		t.Fatalf("cancelled %+v", d)
	}
	var kinds []string
	for _, m := range f.messages("u-zhang") {
		kinds = append(kinds, m.Kind)
	}
	slices.Sort(kinds)
	if fmt.Sprint(kinds) != fmt.Sprint([]string{MsgBillAdjusted, MsgBillAdjusted, MsgBillCancelled, MsgBillIssued}) {
		t.Fatalf("messages %v", kinds)
	}
	if f.eventCount() != 4 {
		t.Fatalf("%d events", f.eventCount())
	}
}

// A failure after the bill changed (the message could not be published)
// answers an error; the department's retry finishes the event once.
func TestReceiveRetryAfterFailureFinishes(t *testing.T) {
	f := newBillFixture(t)
	f.prove("u-zhang", billIDZhang)
	f.notify.mu.Lock()
	f.notify.fail = errors.New("outbox down")
	f.notify.mu.Unlock()
	if _, err := f.bills.Receive(f.ctx, billSource, billBody("i-1", BillIssue, "B-1", nil)); err == nil {
		t.Fatal("no error while the outbox is down")
	}
	if f.bill("B-1").State != BillUnpaid || f.eventCount() != 0 {
		t.Fatal("the bill should be there, the event not yet recorded")
	}
	f.notify.mu.Lock()
	f.notify.fail = nil
	f.notify.mu.Unlock()
	r := f.receive(billBody("i-1", BillIssue, "B-1", nil))
	if !r.Duplicate || f.eventCount() != 1 || len(f.messages("u-zhang")) != 1 || f.bill("B-1").Version != 1 {
		t.Fatalf("retry: %+v", r)
	}
	r = f.receive(billBody("i-1", BillIssue, "B-1", nil))
	if !r.Duplicate || len(f.messages("u-zhang")) != 1 {
		t.Fatalf("again: %+v", r)
	}
}

// The same new event delivered many times at once is applied once.
func TestReceiveConcurrentDuplicates(t *testing.T) {
	f := newBillFixture(t)
	f.prove("u-zhang", billIDZhang)
	f.receive(billBody("i-1", BillIssue, "B-1", nil))
	for _, body := range [][]byte{billBody("i-2", BillIssue, "B-2", nil), billBody("a-1", BillAdjust, "B-1", map[string]any{"amount_fen": 100})} {
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh, dup := 0, 0
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				r, err := f.bills.Receive(f.ctx, billSource, body)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("receive: %v", err)
				case r.Duplicate:
					dup++
				default:
					fresh++
				}
			})
		}
		close(start)
		wg.Wait()
		if fresh != 1 || dup != n-1 {
			t.Fatalf("%s: %d fresh, %d duplicates", body, fresh, dup)
		}
	}
	if d := f.bill("B-1"); d.Version != 2 || d.AmountFen != 100 {
		t.Fatalf("B-1 %+v", d)
	}
	if n := len(f.messages("u-zhang")); n != 3 {
		t.Fatalf("%d messages", n)
	}
}

// A cancel, an adjust and the opening of an order race on one unpaid bill,
// many times over: the order and the cancel never both succeed (exactly one
// of them does), a refusal names the state that won, no change is lost
// (the version counts the successes) and refused events are not recorded.
func TestCancelAdjustAndOrderRace(t *testing.T) {
	f := newBillFixture(t)
	outcomes := map[string]int{}
	for round := range 16 {
		no := fmt.Sprintf("R-%d", round)
		f.receive(billBody("i-"+no, BillIssue, no, nil))
		read := f.bill(no)
		var wg sync.WaitGroup
		start := make(chan struct{})
		var cancelErr, adjustErr, orderErr error
		// The order's path is shorter (no parsing): it starts a little
		// later, by a random pause, so that every one of them gets to win.
		pause := time.Duration(rand.IntN(15000)) * time.Microsecond
		wg.Go(func() {
			<-start
			_, cancelErr = f.bills.Receive(f.ctx, billSource, billBody("c-"+no, BillCancel, no, nil))
		})
		wg.Go(func() {
			<-start
			_, adjustErr = f.bills.Receive(f.ctx, billSource, billBody("a-"+no, BillAdjust, no, map[string]any{"amount_fen": 15000}))
		})
		wg.Go(func() {
			<-start
			time.Sleep(pause)
			_, orderErr = f.bills.openOrder(f.ctx, read, "O-"+no)
		})
		close(start)
		wg.Wait()
		d := f.bill(no)
		okCount := 0
		for _, err := range []error{cancelErr, adjustErr, orderErr} {
			if err == nil {
				okCount++
			}
		}
		switch {
		case orderErr == nil:
			if !errors.Is(cancelErr, ErrBillInPayment) || d.State != BillPaying || d.OpenOrder != "O-"+no {
				t.Fatalf("%s: order won, cancel %v, bill %+v", no, cancelErr, d)
			}
			if adjustErr != nil && !errors.Is(adjustErr, ErrBillInPayment) {
				t.Fatalf("%s: adjust %v", no, adjustErr)
			}
			outcomes["order"]++
		case cancelErr == nil:
			if !errors.Is(orderErr, errBillChanged) || d.State != BillCancelled || d.OpenOrder != "" {
				t.Fatalf("%s: cancel won, order %v, bill %+v", no, orderErr, d)
			}
			if adjustErr != nil && !errors.Is(adjustErr, ErrBillCancelled) {
				t.Fatalf("%s: adjust %v", no, adjustErr)
			}
			outcomes["cancel"]++
		default:
			t.Fatalf("%s: neither the order nor the cancel: %v %v %v", no, cancelErr, adjustErr, orderErr)
		}
		if d.Version != int64(1+okCount) {
			t.Fatalf("%s: version %d after %d changes", no, d.Version, okCount)
		}
		if (adjustErr == nil) != (d.AmountFen == 15000) {
			t.Fatalf("%s: adjust %v, amount %d", no, adjustErr, d.AmountFen)
		}
		for _, c := range []struct {
			id  string
			err error
		}{{"c-" + no, cancelErr}, {"a-" + no, adjustErr}} {
			n, err := f.bills.events.CountDocuments(f.ctx, bson.M{"_id": billEventID(billSource, c.id)})
			if err != nil {
				t.Fatal(err)
			}
			if (n == 1) != (c.err == nil) {
				t.Fatalf("%s: event %s recorded %d, err %v", no, c.id, n, c.err)
			}
		}
	}
	t.Logf("winners: %v", outcomes)
}
