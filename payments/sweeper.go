package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/notify"
)

// SweepLease is the lease under which one process sweeps at a time.
const SweepLease = "payments.sweep"

// RunSweeper sweeps every interval under the SweepLease (held for
// Config.SweepLease between renewals) until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, leases *platform.Leases, every time.Duration) {
	leases.RunEvery(ctx, SweepLease, platform.LeaseRun{Log: s.log, TTL: s.cfg.SweepLease}, every, func(ctx context.Context) error {
		_, err := s.SweepOnce(ctx)
		return err
	})
}

// SweepReport counts what one sweep did.
type SweepReport struct {
	Checked  int // paying orders asked of the channel
	Closed   int // expired orders closed
	Finished int // payments whose effects were finished
	Handled  int // payments the department accepted
	Failed   int // payments the department refused or never accepted (refunded)
	Refunds  int // refunds asked again or followed
}

// SweepOnce finishes what callbacks and crashes left open: paying orders
// older than SweepAfter are asked of the channel (paid → applied; expired →
// closed there and here, the bill freed); paid orders get their effects
// finished and the department's answer followed (accepted → handled;
// refused, dead or past the handling deadline → handle_failed and a full
// refund); refunds not settled are asked again or queried, and orders still
// refunding a refund already settled catch up with it. Every step is
// idempotent; one failure does not stop the others, and the first error is
// returned.
func (s *Service) SweepOnce(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	now := s.now()
	keep(s.eachOrder(ctx, bson.M{"state": OrderPaying}, func(d orderDoc) error {
		if now.Sub(d.CreatedAt) < s.cfg.SweepAfter && now.Before(d.ExpiresAt) {
			return nil
		}
		rep.Checked++
		nd, err := s.check(ctx, d, "sweep")
		if err != nil {
			return err
		}
		if nd.State == OrderPaying && !now.Before(nd.ExpiresAt) {
			err := s.closeOrder(ctx, nd, "expired")
			if errors.Is(err, ErrBillPaid) {
				return nil // paid meanwhile: applied
			}
			if err != nil {
				return err
			}
			rep.Closed++
			_, err = s.bills.releaseOrder(ctx, nd.BillNo, nd.ID)
			return err
		}
		if nd.State == OrderClosed {
			rep.Closed++
		}
		return nil
	}))
	keep(s.eachOrder(ctx, bson.M{"state": bson.M{"$in": []string{OrderPaid, OrderHandleFailed}}}, func(d orderDoc) error {
		if !d.Published {
			if now.Sub(d.UpdatedAt) < FinishGrace {
				return nil // the callback that recorded it is still at it
			}
			rep.Finished++
			var err error
			if d, err = s.finishPaid(ctx, d); err != nil {
				return err
			}
		}
		switch d.State {
		case OrderPaid:
			r, err := s.followDepartment(ctx, d, now)
			if r == OrderHandled {
				rep.Handled++
			} else if r == OrderHandleFailed {
				rep.Failed++
			}
			return err
		case OrderHandleFailed:
			return s.refundUnhandled(ctx, d, d.HandleNote)
		}
		return nil
	}))
	keep(s.eachRefund(ctx, func(r refundDoc) error {
		rep.Refunds++
		return s.followRefund(ctx, r, now)
	}))
	keep(s.eachOrder(ctx, bson.M{"state": OrderRefunding}, func(d orderDoc) error {
		if now.Sub(d.UpdatedAt) < FinishGrace {
			return nil // the refund's own settlement may still be at it
		}
		return s.catchUpRefunds(ctx, d)
	}))
	return rep, first
}

// sweepEach calls fn for every document of coll matching filter, read
// first (the sweep changes what the filter matches), logging what fn could
// not finish as what (the document's log attributes from attrs) and going on;
// it returns the first error.
func sweepEach[D any](ctx context.Context, s *Service, coll *mongo.Collection, filter bson.M, what string, attrs func(D) []any, fn func(D) error) error {
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", coll.Name(), err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("sweep %s: %w", coll.Name(), err)
	}
	var first error
	for _, d := range docs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(d); err != nil {
			s.log.WarnContext(ctx, "payments sweep: "+what, append(attrs(d), "err", err)...)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// eachOrder calls fn for the orders matching filter (sweepEach).
func (s *Service) eachOrder(ctx context.Context, filter bson.M, fn func(orderDoc) error) error {
	return sweepEach(ctx, s, s.orders, filter, "order not finished",
		func(d orderDoc) []any { return []any{"order_no", d.ID, "state", d.State} }, fn)
}

// followDepartment reads the state of the order's department event: sent →
// handled (the citizen told); dead (refused, or never accepted within the
// outbox's deadline) or still unsent after HandleBy → handle_failed and the
// payment refunded in full. It returns the state it moved the order to.
func (s *Service) followDepartment(ctx context.Context, d orderDoc, now time.Time) (string, error) {
	v, err := s.notify.Get(ctx, deptMessageID(d.ID)+"|"+integrations.ChannelDepartment)
	if err != nil {
		return "", err
	}
	switch {
	case v.State == notify.StateSent:
		nd, err := s.casOrder(ctx, d, bson.M{"state": OrderHandled, "handle_note": "accepted"}, "department_accepted")
		if err != nil {
			return "", ignoreChanged(err)
		}
		return OrderHandled, s.tell(ctx, nd, KindHandled, nd.ID, "已办理",
			fmt.Sprintf("缴费单 %s 的付款已由开单部门确认，业务已办理。", nd.BillNo))
	case v.State == notify.StateDead && v.LastCode == "refused":
		return OrderHandleFailed, s.failHandling(ctx, d, "department_refused")
	case v.State == notify.StateDead || !now.Before(d.HandleBy):
		return OrderHandleFailed, s.failHandling(ctx, d, "department_timeout")
	}
	return "", nil
}

// failHandling marks the payment not handled and refunds it in full; a
// bill it paid is owed again.
func (s *Service) failHandling(ctx context.Context, d orderDoc, why string) error {
	nd, err := s.casOrder(ctx, d, bson.M{"state": OrderHandleFailed, "handle_note": why}, why)
	if err != nil {
		return ignoreChanged(err)
	}
	s.log.WarnContext(ctx, "payment not handled by the department; refunding", "order_no", nd.ID, "why", why)
	return s.refundUnhandled(ctx, nd, why)
}

// refundUnhandled frees the bill a payment that was not handled paid,
// then refunds the payment (once). Idempotent: the sweeper repeats it while
// the order is handle_failed, which the refund's reservation ends — so the
// bill is freed first: freed after the refund, a crash or a lost context in
// between would leave it paid by a refunded order for ever.
func (s *Service) refundUnhandled(ctx context.Context, d orderDoc, why string) error {
	if _, err := s.bills.unmarkPaid(ctx, d.BillNo, d.ID); err != nil && !errors.Is(err, ErrBillNotFound) {
		return err
	}
	_, err := s.autoRefund(ctx, d, why)
	return err
}

// ignoreChanged: a compare-and-swap lost to another change is the next
// sweep's business.
func ignoreChanged(err error) error {
	if errors.Is(err, errOrderChanged) {
		return nil
	}
	return err
}

// eachRefund calls fn for refunds not settled (sweepEach).
func (s *Service) eachRefund(ctx context.Context, fn func(refundDoc) error) error {
	return sweepEach(ctx, s, s.refunds, bson.M{"state": bson.M{"$in": []string{RefundRequested, RefundProcessing}}},
		"refund not settled", func(r refundDoc) []any { return []any{"refund_no", r.ID} }, fn)
}

// followRefund asks again for a refund the channel never accepted, or
// queries one in progress. A requested refund its order does not list was
// never reserved (a crash between the two writes): it fails after a minute.
func (s *Service) followRefund(ctx context.Context, r refundDoc, now time.Time) error {
	p := s.providers[r.Provider]
	if p == nil {
		return fmt.Errorf("refund %s: channel %s not configured", r.ID, r.Provider)
	}
	if r.isOrphan() {
		if r.State == RefundRequested {
			return s.askOrphanRefund(ctx, p, r, "")
		}
		got, err := p.QueryRefund(ctx, r.OrderNo, r.ID)
		if err != nil {
			return err
		}
		_, err = s.settleRefund(ctx, r, got)
		return err
	}
	d, err := s.loadOrder(ctx, r.OrderNo)
	if err != nil {
		return err
	}
	if r.State == RefundRequested {
		if !slices.Contains(d.Refunds, r.ID) {
			if now.Sub(r.CreatedAt) > time.Minute {
				_, err := s.refunds.UpdateOne(ctx, bson.M{"_id": r.ID, "state": RefundRequested},
					bson.M{"$set": bson.M{"state": RefundFailed, "settled_at": now}})
				return err
			}
			return nil
		}
		_, err := s.askRefund(ctx, d, r)
		return err
	}
	got, err := p.QueryRefund(ctx, r.OrderNo, r.ID)
	if err != nil {
		return err
	}
	_, err = s.settleRefund(ctx, r, got)
	return err
}
