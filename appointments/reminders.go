package appointments

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/notify"
)

// soonBefore is how long before the start the second reminder goes.
const soonBefore = 2 * time.Hour

// sweepReminders publishes the day-before reminder of tomorrow's (Asia/
// Shanghai) booked appointments and the reminder 2 hours before the start,
// once each: the message IDs are deterministic and the appointments are then
// marked. Nothing is sent for a day the hall does not open.
func (s *Service) sweepReminders(ctx context.Context, cat *catalog) (int, error) {
	if s.notify == nil {
		return 0, nil
	}
	now := s.clock.Now()
	n, err := s.remind(ctx, cat, bson.M{"status": StatusBooked, "date": addDays(dateOf(now), 1), "reminded": false},
		"reminded", reminderMessage)
	if err != nil {
		return n, err
	}
	m, err := s.remind(ctx, cat, bson.M{"status": StatusBooked, "start": bson.M{"$gt": now, "$lte": now.Add(soonBefore)}, "reminded_2h": false},
		"reminded_2h", soonReminderMessage)
	return n + m, err
}

// remind publishes build's message for every appointment filter finds, in
// batches, and sets flag on each once published.
func (s *Service) remind(ctx context.Context, cat *catalog, filter bson.M, flag string, build func(*catalog, *apptDoc) notify.Message) (int, error) {
	docs, err := s.findAppts(ctx, filter)
	if err != nil {
		return 0, err
	}
	var msgs []notify.Message
	var ids bson.A
	for i := range docs {
		if cat.dayClosed(docs[i].HallID, docs[i].Date) {
			continue // the hall does not open: nothing to remind of
		}
		msgs = append(msgs, build(cat, &docs[i]))
		ids = append(ids, docs[i].ID)
	}
	sent := 0
	for len(msgs) > 0 {
		k := min(len(msgs), 500)
		if err := s.send(ctx, msgs[:k]...); err != nil {
			return sent, nil // the next sweep tries again
		}
		if _, err := s.appts.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids[:k]}}, bson.M{"$set": bson.M{flag: true}}); err != nil {
			return sent, fmt.Errorf("mark %s: %w", flag, err)
		}
		sent += k
		msgs, ids = msgs[k:], ids[k:]
	}
	return sent, nil
}
