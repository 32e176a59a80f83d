package payments

import (
	"errors"
	"testing"
	"time"

	"banshi/internal/platform"
)

func TestForUserOrdersAndHides(t *testing.T) {
	f := newBillFixture(t)
	for _, b := range []struct {
		no, due string
	}{{"B-LATER", "2026-05-01"}, {"B-SOON", "2026-03-20"}, {"B-PAYING", "2026-04-01"}, {"B-PAID-1", "2026-03-01"}, {"B-PAID-2", "2026-03-02"}, {"B-GONE", "2026-03-10"}} {
		f.receive(billBody("i-"+b.no, BillIssue, b.no, map[string]any{"due_date": b.due, "late_fee": nil}))
	}
	f.receive(billBody("i-other", BillIssue, "B-LI", map[string]any{"payer": map[string]any{"type": "person", "id_number": billIDLi, "name": "李四"}}))
	f.bills.openOrder(f.ctx, f.bill("B-PAYING"), "O-1")
	f.bills.markPaid(f.ctx, "B-PAID-1", "O-2", 20000, time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	f.bills.markPaid(f.ctx, "B-PAID-2", "O-3", 20000, time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC))
	f.receive(billBody("c-gone", BillCancel, "B-GONE", nil))

	// Nobody proved the ID number yet (a level-2 declaration): none.
	list, err := f.bills.ForUser(f.ctx, "u-zhang")
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("unproven: %v %v", list, err)
	}
	f.prove("u-zhang", billIDZhang)
	list, err = f.bills.ForUser(f.ctx, "u-zhang")
	if err != nil {
		t.Fatal(err)
	}
	var nos []string
	for _, v := range list {
		nos = append(nos, v.BillNo)
	}
	want := []string{"B-SOON", "B-PAYING", "B-LATER", "B-PAID-2", "B-PAID-1"}
	if len(nos) != len(want) {
		t.Fatalf("bills %v, want %v", nos, want)
	}
	for i := range want {
		if nos[i] != want[i] {
			t.Fatalf("bills %v, want %v", nos, want)
		}
	}
	paid := list[3]
	if paid.State != BillPaid || paid.OrderNo != "O-3" || paid.PaidAt == nil || paid.PaidAt.Location() != platform.Shanghai() ||
		paid.PaidFen != 20000 || paid.Payer.Name != "*三" || paid.Payer.USCC != "" || paid.IssuedAt.Location() != platform.Shanghai() {
		t.Fatalf("paid view %+v", paid)
	}
	if list[1].State != BillPaying || list[1].OrderNo != "" {
		t.Fatalf("paying view %+v", list[1])
	}
}

func TestViewLateFeeAsOfToday(t *testing.T) {
	f := newBillFixture(t)
	f.receive(billBody("i-1", BillIssue, "B-1", nil)) // 200 元, 30‰ a day from 2026-04-01, cap 200 元
	v, err := f.bills.View(f.ctx, "B-1")
	if err != nil || v.LateFeeFen != 0 || v.DueFen != 20000 || v.LateFee == nil || v.LateFee.CapFen != 20000 {
		t.Fatalf("before: %+v %v", v, err)
	}
	f.clock.Set(time.Date(2026, 4, 2, 16, 0, 0, 0, time.UTC)) // 2026-04-03 00:00 in Shanghai: day 3
	v, _ = f.bills.View(f.ctx, "B-1")
	if v.LateFeeFen != 1800 || v.DueFen != 21800 {
		t.Fatalf("day 3: %+v", v)
	}
	// Paid on day 3: the view keeps the fee of that day, whatever today is.
	f.bills.markPaid(f.ctx, "B-1", "O-1", 21800, f.clock.Now())
	f.clock.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	v, _ = f.bills.View(f.ctx, "B-1")
	if v.LateFeeFen != 1800 || v.DueFen != 21800 || v.PaidFen != 21800 {
		t.Fatalf("paid: %+v", v)
	}
	// Cancelled: nothing due.
	f.receive(billBody("i-2", BillIssue, "B-2", nil))
	f.receive(billBody("c-2", BillCancel, "B-2", nil))
	if v, _ := f.bills.View(f.ctx, "B-2"); v.State != BillCancelled || v.DueFen != 0 || v.LateFeeFen != 0 {
		t.Fatalf("cancelled: %+v", v)
	}
	if _, err := f.bills.View(f.ctx, "B-NONE"); !errors.Is(err, ErrBillNotFound) {
		t.Fatal(err)
	}
}

func TestLookupWrongCodeIsUnknown(t *testing.T) {
	f := newBillFixture(t)
	f.receive(billBody("i-1", BillIssue, "B-1", nil))
	v, err := f.bills.Lookup(f.ctx, "B-1", "AB12cd")
	if err != nil || v.BillNo != "B-1" || v.Payer.Name != "*三" {
		t.Fatalf("%+v %v", v, err)
	}
	var answers []string
	for _, c := range [][2]string{{"B-1", "AB12CD"}, {"B-1", "wrong1"}, {"B-1", ""}, {"B-NONE", "AB12cd"}, {"B/1", "AB12cd"}, {"B-2", "AB12cd"}} {
		_, err := f.bills.Lookup(f.ctx, c[0], c[1])
		pe, ok := platform.AsError(err)
		if !ok || !errors.Is(err, ErrBillNotFound) {
			t.Fatalf("%v: %v", c, err)
		}
		answers = append(answers, pe.Code+pe.Message+pe.Field)
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Fatalf("answers differ: %q", answers)
		}
	}
}

func TestForEnterprise(t *testing.T) {
	f := newBillFixture(t)
	f.receive(billBody("i-1", BillIssue, "QY-1", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": billUSCC, "name": "某某公司"}}))
	f.receive(billBody("i-2", BillIssue, "B-2", nil))
	list, err := f.bills.ForEnterprise(f.ctx, billUSCC)
	if err != nil || len(list) != 1 || list[0].BillNo != "QY-1" || list[0].Payer.USCC != billUSCC || list[0].Payer.Name != "某某公司" {
		t.Fatalf("%+v %v", list, err)
	}
	if _, err := f.bills.ForEnterprise(f.ctx, "bad"); !errors.Is(err, platform.Invalid("uscc", "", "")) {
		t.Fatalf("bad uscc: %v", err)
	}
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	f := newBillFixture(t)
	f.prove("u-zhang", DemoIDNumber)
	for range 2 {
		if err := f.bills.SeedDemo(f.ctx, "demo-dept"); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.bills.ForUser(f.ctx, "u-zhang")
	if err != nil || len(list) != 3 {
		t.Fatalf("%+v %v", list, err)
	}
	// The traffic fine fell due ten days ago: its late fee runs since nine
	// days ago, 30‰ a day, capped at the fine.
	if list[0].BillNo != DemoBills()[0].BillNo || list[0].LateFeeFen != 20000*30*10/1000 {
		t.Fatalf("traffic fine %+v", list[0])
	}
	for _, d := range DemoBills() {
		if _, err := f.bills.Lookup(f.ctx, d.BillNo, d.Code); err != nil {
			t.Fatalf("%s: %v", d.BillNo, err)
		}
	}
	if f.eventCount() != int64(len(DemoBills())) || len(f.messages("u-zhang")) != 3 {
		t.Fatalf("events %d, messages %d", f.eventCount(), len(f.messages("u-zhang")))
	}
}
