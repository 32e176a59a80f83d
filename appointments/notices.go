package appointments

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/notify"
)

// Every change of an appointment that its citizen must hear about (booked,
// cancelled, called to a window) writes the kind of message it owes (apptDoc.Notice) in the same
// document write as the change itself. The message is then published
// (idempotently, by its deterministic ID) and the notice removed,
// conditionally on still being that kind. A process that dies in between, or
// a notifier that is down, leaves the notice: the sweeper publishes it after
// a minute. So an accepted change always leads to its message, and at most
// repeats one (harmlessly: same ID).

// noticeGrace is how long a notice may wait for the request that wrote it
// before the sweeper publishes it.
const noticeGrace = time.Minute

// settleNotice publishes the message d owes and removes its notice. A failure
// leaves the notice for the sweeper.
func (s *Service) settleNotice(ctx context.Context, cat *catalog, d *apptDoc) {
	m, ok := noticeMessage(cat, d)
	if !ok || s.notify == nil {
		return
	}
	if err := s.send(ctx, m); err != nil {
		return
	}
	s.clearNotices(ctx, d.Notice, d.ID)
}

// clearNotices removes the notice kind from the appointments ids (published).
func (s *Service) clearNotices(ctx context.Context, kind string, ids ...string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
	defer cancel()
	in := make(bson.A, len(ids))
	for i, id := range ids {
		in[i] = id
	}
	if _, err := s.appts.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": in}, "notice": kind},
		bson.M{"$unset": bson.M{"notice": ""}}); err != nil {
		s.log.Warn("notices not cleared; the sweeper publishes them again (same message IDs)", "err", err)
	}
}

// sweepNotices publishes the messages changes older than noticeGrace still
// owe, in one batch per kind, and clears their notices.
func (s *Service) sweepNotices(ctx context.Context, cat *catalog) (int, error) {
	if s.notify == nil {
		return 0, nil
	}
	docs, err := s.findAppts(ctx, bson.M{"notice": bson.M{"$exists": true}})
	if err != nil {
		return 0, err
	}
	cutoff := s.clock.Now().Add(-noticeGrace)
	byKind := map[string][]*apptDoc{}
	for i := range docs {
		d := &docs[i]
		changed := d.CreatedAt
		if d.CancelledAt != nil {
			changed = *d.CancelledAt
		}
		if d.Notice == KindCalled && d.CalledAt != nil {
			changed = *d.CalledAt
		}
		if changed.After(cutoff) {
			continue // its request may still be publishing it
		}
		byKind[d.Notice] = append(byKind[d.Notice], d)
	}
	n := 0
	for kind, ds := range byKind {
		var msgs []notify.Message
		var ids []string
		for _, d := range ds {
			if m, ok := noticeMessage(cat, d); ok {
				msgs = append(msgs, m)
			}
			ids = append(ids, d.ID)
		}
		if err := s.send(ctx, msgs...); err != nil {
			return n, err
		}
		s.clearNotices(ctx, kind, ids...)
		n += len(ids)
	}
	return n, nil
}
