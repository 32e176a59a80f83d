package appointments

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// sweepReminders sends the day-before reminder of tomorrow's (Asia/Shanghai)
// booked appointments, once each: the message ID is deterministic and the
// appointment is then marked reminded.
func (s *Service) sweepReminders(ctx context.Context, cat *catalog) (int, error) {
	if s.notify == nil {
		return 0, nil
	}
	tomorrow := addDays(dateOf(s.clock.Now()), 1)
	docs, err := s.findAppts(ctx, bson.M{"status": StatusBooked, "date": tomorrow, "reminded": false})
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range docs {
		if cat.dayClosed(docs[i].HallID, docs[i].Date) {
			continue // the hall does not open: nothing to remind of
		}
		if err := s.send(ctx, reminderMessage(cat, &docs[i])); err != nil {
			continue // try again next sweep
		}
		if _, err := s.appts.UpdateOne(ctx, bson.M{"_id": docs[i].ID}, bson.M{"$set": bson.M{"reminded": true}}); err != nil {
			return sent, fmt.Errorf("mark reminded: %w", err)
		}
		sent++
	}
	return sent, nil
}
