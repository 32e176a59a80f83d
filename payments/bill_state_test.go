package payments

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestOpenAndReleaseOrder(t *testing.T) {
	f := newBillFixture(t)
	f.receive(billBody("i-1", BillIssue, "B-1", nil))
	if _, err := f.bills.load(f.ctx, "B-NONE"); !errors.Is(err, ErrBillNotFound) {
		t.Fatalf("load unknown: %v", err)
	}
	read := f.bill("B-1")
	d, err := f.bills.openOrder(f.ctx, read, "O-1")
	if err != nil || d.State != BillPaying || d.OpenOrder != "O-1" || d.Version != 2 {
		t.Fatalf("open: %+v %v", d, err)
	}
	if got := f.bill("B-1"); got.State != BillPaying || got.OpenOrder != "O-1" || got.Version != 2 {
		t.Fatalf("stored %+v", got)
	}
	// A second order from the same stale read loses and is told what is there.
	d, err = f.bills.openOrder(f.ctx, read, "O-2")
	if !errors.Is(err, errBillChanged) || d.OpenOrder != "O-1" || d.Version != 2 {
		t.Fatalf("stale open: %+v %v", d, err)
	}
	// From a read that shows it paying: its state's error, nothing written.
	d, err = f.bills.openOrder(f.ctx, f.bill("B-1"), "O-2")
	if !errors.Is(err, ErrBillInPayment) || f.bill("B-1").Version != 2 {
		t.Fatalf("open paying: %+v %v", d, err)
	}
	// Releasing another order changes nothing; releasing the open one frees it.
	d, err = f.bills.releaseOrder(f.ctx, "B-1", "O-2")
	if err != nil || d.State != BillPaying || d.Version != 2 {
		t.Fatalf("release other: %+v %v", d, err)
	}
	d, err = f.bills.releaseOrder(f.ctx, "B-1", "O-1")
	if err != nil || d.State != BillUnpaid || d.OpenOrder != "" || d.Version != 3 {
		t.Fatalf("release: %+v %v", d, err)
	}
	d, err = f.bills.releaseOrder(f.ctx, "B-1", "O-1") // again: no change
	if err != nil || d.State != BillUnpaid || d.Version != 3 {
		t.Fatalf("release again: %+v %v", d, err)
	}
	if _, err := f.bills.releaseOrder(f.ctx, "B-NONE", "O-1"); !errors.Is(err, ErrBillNotFound) {
		t.Fatalf("release unknown: %v", err)
	}
	// A cancelled bill cannot be opened.
	f.receive(billBody("c-1", BillCancel, "B-1", nil))
	if _, err := f.bills.openOrder(f.ctx, f.bill("B-1"), "O-3"); !errors.Is(err, ErrBillCancelled) {
		t.Fatalf("open cancelled: %v", err)
	}
}

func TestMarkPaid(t *testing.T) {
	f := newBillFixture(t)
	paidAt := time.Date(2026, 3, 16, 7, 30, 0, 123456789, time.UTC)
	for _, c := range []struct {
		name  string
		setup func(no string)
	}{
		{"unpaid", func(string) {}},
		{"paying with this order", func(no string) { f.bills.openOrder(f.ctx, f.bill(no), "O-"+no) }},
		{"paying with another order", func(no string) { f.bills.openOrder(f.ctx, f.bill(no), "O-other") }},
		{"cancelled", func(no string) { f.receive(billBody("c-"+no, BillCancel, no, nil)) }},
	} {
		no := fmt.Sprintf("B-%d", len(c.name))
		f.receive(billBody("i-"+no, BillIssue, no, nil))
		c.setup(no)
		before := f.bill(no).Version
		d, changed, err := f.bills.markPaid(f.ctx, no, "O-"+no, 20600, paidAt)
		if err != nil || !changed || d.State != BillPaid || d.PaidOrder != "O-"+no || d.OpenOrder != "" ||
			d.PaidFen != 20600 || !d.PaidAt.Equal(paidAt.Truncate(time.Millisecond)) || d.Version != before+1 {
			t.Fatalf("%s: %+v %v %v", c.name, d, changed, err)
		}
		// The same order again: no change.
		d, changed, err = f.bills.markPaid(f.ctx, no, "O-"+no, 20600, paidAt)
		if err != nil || changed || d.Version != before+1 {
			t.Fatalf("%s again: %+v %v %v", c.name, d, changed, err)
		}
		// Another order: refused, to be refunded.
		d, changed, err = f.bills.markPaid(f.ctx, no, "O-late", 20600, paidAt)
		if !errors.Is(err, ErrBillPaidByOther) || changed || d.PaidOrder != "O-"+no || d.Version != before+1 {
			t.Fatalf("%s by another: %+v %v %v", c.name, d, changed, err)
		}
	}
	if _, _, err := f.bills.markPaid(f.ctx, "B-NONE", "O-1", 1, paidAt); !errors.Is(err, ErrBillNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// Many orders open one bill at once from the same read: exactly one opens
// it; the others are told it changed and see that one.
func TestOpenOrderRace(t *testing.T) {
	f := newBillFixture(t)
	f.receive(billBody("i-1", BillIssue, "B-1", nil))
	read := f.bill("B-1")
	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			order := fmt.Sprintf("O-%d", i)
			d, err := f.bills.openOrder(f.ctx, read, order)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, order)
			case !errors.Is(err, errBillChanged) || d.State != BillPaying || d.OpenOrder == order:
				t.Errorf("%s: %+v %v", order, d, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if d := f.bill("B-1"); len(won) != 1 || d.OpenOrder != won[0] || d.Version != 2 {
		t.Fatalf("winners %v, bill %+v", won, d)
	}
}

// Callbacks of several orders and duplicates of each race to pay one bill:
// exactly one call changes it, the winner's duplicates see it paid by them,
// every other order is told the bill is paid by another (to be refunded).
func TestMarkPaidRace(t *testing.T) {
	f := newBillFixture(t)
	f.receive(billBody("i-1", BillIssue, "B-1", nil))
	f.bills.openOrder(f.ctx, f.bill("B-1"), "O-0")
	const orders, dups = 4, 3
	type result struct {
		order   string
		changed bool
		err     error
	}
	var wg sync.WaitGroup
	results := make(chan result, orders*dups)
	start := make(chan struct{})
	for i := range orders {
		for range dups {
			wg.Go(func() {
				<-start
				order := fmt.Sprintf("O-%d", i)
				_, changed, err := f.bills.markPaid(f.ctx, "B-1", order, 20000, f.clock.Now())
				results <- result{order, changed, err}
			})
		}
	}
	close(start)
	wg.Wait()
	close(results)
	d := f.bill("B-1")
	changes := 0
	for r := range results {
		switch {
		case r.changed:
			changes++
			if r.order != d.PaidOrder || r.err != nil {
				t.Errorf("%+v won but the bill says %s", r, d.PaidOrder)
			}
		case r.order == d.PaidOrder:
			if r.err != nil {
				t.Errorf("duplicate of the winner: %+v", r)
			}
		default:
			if !errors.Is(r.err, ErrBillPaidByOther) {
				t.Errorf("loser: %+v", r)
			}
		}
	}
	if changes != 1 || d.State != BillPaid || d.Version != 3 {
		t.Fatalf("%d changes, bill %+v", changes, d)
	}
}
