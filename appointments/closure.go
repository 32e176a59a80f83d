package appointments

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/notify"
)

// A day the calendar closes after citizens booked it (a typhoon, a hall
// closure, a public holiday declared late) cancels those bookings: each is
// cancelled by "system" with the reason the calendar gives, its seat and the
// citizen's per-person limits are released, and every citizen is told. It
// never counts as a no-show. The work is done in bulk (a batch of
// appointments per round trip, one message batch), because a closure may
// concern thousands of citizens at once; every step is conditional and
// idempotent, and what a crash interrupts (released false, a notice still
// owed) the sweeper finishes.

// closureBatch is how many appointments one round of the bulk cancellation
// handles.
const closureBatch = 500

// CancelClosedDays cancels every booked appointment on a day, from today on,
// that the calendar now closes for its hall, and tells the citizens. It
// returns how many it cancelled. Admins' calendar changes call it at once;
// the sweeper calls it too, so a closure takes effect within a sweep even if
// that call was cut short. Errors: storage errors (what was done stays done).
func (s *Service) CancelClosedDays(ctx context.Context) (int, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return 0, err
	}
	today := dateOf(s.clock.Now())
	var dates bson.A
	seen := map[string]bool{}
	for _, e := range cat.days {
		if (e.Kind == DayClosure || e.Kind == DayHoliday) && e.Date >= today && !seen[e.Date] {
			seen[e.Date] = true
			dates = append(dates, e.Date)
		}
	}
	if len(dates) == 0 {
		return 0, nil
	}
	docs, err := s.findAppts(ctx, bson.M{"status": StatusBooked, "date": bson.M{"$in": dates}})
	if err != nil {
		return 0, err
	}
	var closed []*apptDoc
	for i := range docs {
		if cat.dayClosed(docs[i].HallID, docs[i].Date) {
			closed = append(closed, &docs[i])
		}
	}
	n := 0
	for len(closed) > 0 {
		k := min(len(closed), closureBatch)
		c, err := s.cancelClosedBatch(ctx, cat, closed[:k])
		n += c
		if err != nil {
			return n, err
		}
		closed = closed[k:]
	}
	if n > 0 {
		s.log.Info("bookings on closed days cancelled", "appointments", n)
	}
	return n, nil
}

// cancelClosedBatch cancels the batch (conditionally on each still being
// booked), releases what the cancelled ones held and publishes their
// messages. It returns how many it cancelled.
func (s *Service) cancelClosedBatch(ctx context.Context, cat *catalog, batch []*apptDoc) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	stamp := ms(s.clock.Now())
	byReason := map[string]bson.A{}
	for _, d := range batch {
		r := closureReason(cat, d)
		byReason[r] = append(byReason[r], d.ID)
	}
	for reason, ids := range byReason {
		if _, err := s.appts.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "status": StatusBooked},
			bson.M{"$set": bson.M{"status": StatusCancelled, "cancelled_at": stamp, "cancelled_by": cancelledBySystem,
				"cancel_reason": reason, "released": false, "notice": KindCancelled}}); err != nil {
			return 0, fmt.Errorf("cancel bookings of a closed day: %w", err)
		}
	}
	all := make(bson.A, len(batch))
	for i, d := range batch {
		all[i] = d.ID
	}
	// Those this call cancelled (a check-in or a citizen's cancel may have won).
	mine, err := s.findAppts(ctx, bson.M{"_id": bson.M{"$in": all}, "status": StatusCancelled,
		"cancelled_by": cancelledBySystem, "cancelled_at": stamp})
	if err != nil {
		return 0, err
	}
	if len(mine) == 0 {
		return 0, nil
	}
	ids := make(bson.A, len(mine))
	slots := map[string]slotDef{}
	msgs := make([]notify.Message, len(mine))
	var idList []string
	for i := range mine {
		d := &mine[i]
		s.metrics.cancelled(d.HallID, CancelledBySystem)
		ids[i] = d.ID
		idList = append(idList, d.ID)
		msgs[i] = cancelledMessage(cat, d)
		if sl, found, _ := cat.lookupSlot(d.SlotID); found {
			slots[d.SlotID] = sl
		}
	}
	for _, coll := range []struct {
		name string
		del  func() error
	}{
		{"seats", func() error {
			_, err := s.seats.DeleteMany(ctx, bson.M{"appointment_id": bson.M{"$in": ids}})
			return err
		}},
		{"day locks", func() error {
			_, err := s.daylocks.DeleteMany(ctx, bson.M{"appointment_id": bson.M{"$in": ids}})
			return err
		}},
		{"user slots", func() error {
			_, err := s.userslots.DeleteMany(ctx, bson.M{"appointment_id": bson.M{"$in": ids}})
			return err
		}},
	} {
		if err := coll.del(); err != nil {
			return len(mine), fmt.Errorf("release %s of a closed day: %w", coll.name, err)
		}
	}
	for _, sl := range slots {
		if err := s.pool.drop(ctx, sl); err != nil {
			s.redisOK.failed(s.log, err) // the pools expire; the sweeper's reconciliation repairs them
		}
	}
	if _, err := s.appts.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "released": false},
		bson.M{"$set": bson.M{"released": true}}); err != nil {
		return len(mine), fmt.Errorf("mark released: %w", err)
	}
	if err := s.send(ctx, msgs...); err == nil {
		s.clearNotices(ctx, KindCancelled, idList...)
	}
	return len(mine), nil
}
