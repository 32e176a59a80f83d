package appointments

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Schedule writes and the capacity check.
//
// A changed capacity must be compared with the capacity it replaces, and a
// lowered one checked against the seats held, without another write of the
// schedule landing in between (two admins lowering one capacity at once
// would otherwise take each other's temporary values for the old one). So
// every write of an existing schedule (UpdateSchedule, the import) passes
// through a gate kept in the schedule document itself:
//
//	change_token  the writer holding the gate (random per write)
//	change_to     the capacity that writer may set; bookings honour it at once
//	change_at     when the gate was taken (by the clock)
//
// A writer takes the gate by a conditional update (no marker, or a marker
// older than gateStale: a writer that died), which returns the stored
// schedule: its capacity is the committed one, never a value under trial,
// because a write under way changes only the marker. A lowered capacity is
// then checked: the marker is written before the seats are read, and a
// booking reads capacity and marker after inserting its seat
// (booking.checkCapacity), so either the writer sees the seat and refuses,
// or the booking sees the lower capacity and gives the seat up. The writer
// ends by replacing the document on condition that the marker is still its
// own (which also removes it), or, refused, by removing its marker. A writer
// whose gate was taken over writes nothing. A marker left by a crash limits
// bookings to change_to until the next writer or the sweeper removes it
// (gateStale after it was set).

// scheduleDoc is a stored schedule with its gate.
type scheduleDoc struct {
	Schedule    `bson:",inline"`
	ChangeToken string    `bson:"change_token,omitempty"`
	ChangeTo    int       `bson:"change_to,omitempty"`
	ChangeAt    time.Time `bson:"change_at,omitempty"`
}

const (
	// gateStale is how old (by the clock) a schedule's gate must be before
	// another writer or the sweeper may take it from its writer.
	gateStale = 30 * time.Second
	// gateWait is how long (real time) a writer waits at most for a live
	// gate: as long as its holder may keep it, so that a slow holder (a
	// loaded store) is waited for and only a dead one's gate is taken.
	gateWait = gateStale
)

// errScheduleBusy: another write of the schedule held its gate throughout
// gateWait without going stale by the clock, or took it over from this one.
// Internal (retry later).
var errScheduleBusy = errors.New("appointments: the schedule is being changed by another writer; try again")

// capacityInUse is ErrCapacityInUse with the schedule and seats named for
// the log.
func capacityInUse(scheduleID string, held, capacity int) error {
	return ErrCapacityInUse.Wrap(fmt.Errorf("schedule %s: %d booked seats at or above %d", scheduleID, held, capacity))
}

// UpdateSchedule replaces schedule sc.ID. Slots already booked keep their
// bookings; a changed capacity applies to new bookings at once. A capacity
// lower than the stored one is refused while a seat at or above it is held
// on a slot not yet over; concurrent writes of one schedule are serialised
// (see above).
//
// Errors: ErrInvalid (naming the field), ErrNotFound, ErrCapacityInUse
// (nothing changed), internal errors (storage, or another
// write of the schedule kept it busy: retry).
func (s *Service) UpdateSchedule(ctx context.Context, sc Schedule) (Schedule, error) {
	return sc, s.putSchedule(ctx, &sc, false)
}

// replaceSchedule writes sc (already validated) over the stored schedule
// sc.ID through its gate, setting UpdatedAt and a new Rev. It does not
// announce the change.
// Errors: ErrNotFound, ErrCapacityInUse, errScheduleBusy (wrapped), storage.
func (s *Service) replaceSchedule(ctx context.Context, sc *Schedule) error {
	cur, token, err := s.openGate(ctx, sc.ID, sc.Capacity)
	if err != nil {
		return err
	}
	if sc.Capacity < cur.Capacity {
		held, err := s.heldSeatsFrom(ctx, sc.ID, sc.Capacity)
		if err == nil && held > 0 {
			err = capacityInUse(sc.ID, held, sc.Capacity)
		}
		if err != nil {
			s.closeGate(ctx, sc.ID, token)
			return err
		}
	}
	sc.UpdatedAt = platform.Local(ms(s.clock.Now()))
	sc.Rev = newScheduleRev()
	res, err := s.schedules.ReplaceOne(ctx, bson.M{"_id": sc.ID, "change_token": token}, sc)
	if err != nil {
		return fmt.Errorf("replace schedule: %w", err) // the marker, if left, goes stale
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("schedule %s: %w", sc.ID, errScheduleBusy)
	}
	return nil
}

// createSchedule inserts sc (validated), a new schedule, setting UpdatedAt
// and Rev. Seats of its slot IDs may still be held by bookings made under a
// deleted schedule of the same ID, so a capacity below one of them is
// refused as a lowering is: the schedule goes in with its gate on (change_to
// its capacity), the held seats are read, and then the gate comes off, or,
// refused, the schedule is deleted again while the gate is still this
// writer's. It does not announce the change.
// Errors: ErrAlreadyExists, ErrCapacityInUse, storage.
func (s *Service) createSchedule(ctx context.Context, sc *Schedule) error {
	now := ms(s.clock.Now())
	sc.UpdatedAt = platform.Local(now)
	sc.Rev = newScheduleRev()
	token := newScheduleRev()
	doc := scheduleDoc{Schedule: *sc, ChangeToken: token, ChangeTo: sc.Capacity, ChangeAt: now}
	if _, err := s.schedules.InsertOne(ctx, doc); err != nil {
		if platform.IsDuplicateKey(err) {
			return ErrAlreadyExists
		}
		return fmt.Errorf("insert schedule: %w", err)
	}
	held, err := s.heldSeatsFrom(ctx, sc.ID, sc.Capacity)
	if err == nil && held > 0 {
		err = capacityInUse(sc.ID, held, sc.Capacity)
	}
	if err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
		defer cancel()
		if _, derr := s.schedules.DeleteOne(dctx, bson.M{"_id": sc.ID, "change_token": token}); derr != nil {
			s.log.Warn("refused schedule not removed", "schedule", sc.ID, "err", derr)
		}
		return err
	}
	s.closeGate(ctx, sc.ID, token)
	return nil
}

// openGate takes the gate of schedule id for a write that may set capacity
// to, waiting (up to gateWait, or while ctx lasts) for a live one and taking
// over a stale one. It
// returns the schedule as stored (committed) and the writer's token.
// Errors: ErrNotFound, errScheduleBusy (wrapped), storage.
func (s *Service) openGate(ctx context.Context, id string, to int) (Schedule, string, error) {
	token := newScheduleRev()
	deadline := time.Now().Add(gateWait)
	pause := 10 * time.Millisecond
	for {
		var cur scheduleDoc
		err := s.schedules.FindOne(ctx, bson.M{"_id": id}).Decode(&cur)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return Schedule{}, "", ErrNotFound
		}
		if err != nil {
			return Schedule{}, "", fmt.Errorf("read schedule: %w", err)
		}
		now := s.clock.Now()
		filter := bson.M{"_id": id, "change_token": bson.M{"$exists": false}}
		if cur.ChangeToken != "" {
			if now.Sub(cur.ChangeAt) < gateStale {
				if time.Now().After(deadline) {
					return Schedule{}, "", fmt.Errorf("schedule %s: %w", id, errScheduleBusy)
				}
				select {
				case <-ctx.Done():
					return Schedule{}, "", ctx.Err()
				case <-time.After(pause):
				}
				pause = min(2*pause, 200*time.Millisecond)
				continue
			}
			filter["change_token"] = cur.ChangeToken
			s.log.Warn("schedule gate of a writer that died taken over", "schedule", id, "since", cur.ChangeAt)
		}
		var got scheduleDoc
		err = s.schedules.FindOneAndUpdate(ctx, filter,
			bson.M{"$set": bson.M{"change_token": token, "change_to": to, "change_at": ms(now)}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&got)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // another writer got in first, or the schedule went: look again
		}
		if err != nil {
			return Schedule{}, "", fmt.Errorf("take schedule gate: %w", err)
		}
		return got.Schedule, token, nil
	}
}

// closeGate removes this writer's marker (its write was refused). A marker
// it fails to remove goes stale.
func (s *Service) closeGate(ctx context.Context, id, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
	defer cancel()
	if _, err := s.schedules.UpdateOne(ctx, bson.M{"_id": id, "change_token": token},
		bson.M{"$unset": bson.M{"change_token": "", "change_to": "", "change_at": ""}}); err != nil {
		s.log.Warn("schedule gate not closed; it goes stale", "schedule", id, "err", err)
	}
}

// sweepGates removes the markers of writers that died (older than
// gateStale), so bookings stop honouring their change_to.
func (s *Service) sweepGates(ctx context.Context) error {
	if _, err := s.schedules.UpdateMany(ctx, bson.M{"change_at": bson.M{"$lt": s.clock.Now().Add(-gateStale)}},
		bson.M{"$unset": bson.M{"change_token": "", "change_to": "", "change_at": ""}}); err != nil {
		return fmt.Errorf("clear stale schedule gates: %w", err)
	}
	return nil
}

// heldSeatsFrom counts the seats numbered capacity or more that are held on
// slots of the schedule that have not ended.
func (s *Service) heldSeatsFrom(ctx context.Context, scheduleID string, capacity int) (int, error) {
	held, err := s.heldSeatsOf(ctx, map[string]int{scheduleID: capacity})
	return held[scheduleID], err
}

// heldSeatsOf counts, per schedule ID of from, the seats numbered from[id]
// or more that are held on its slots that have not ended: by an appointment
// that still holds its seat and is not over, or by a booking in progress.
func (s *Service) heldSeatsOf(ctx context.Context, from map[string]int) (map[string]int, error) {
	ids := make([]string, 0, len(from))
	for id := range from {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	today := dateOf(s.clock.Now())
	var live []arbiterDoc
	var holders []string
	for chunk := range slices.Chunk(ids, 100) {
		quoted := make([]string, len(chunk))
		lowest := from[chunk[0]]
		for i, id := range chunk {
			quoted[i] = regexp.QuoteMeta(id)
			lowest = min(lowest, from[id])
		}
		seats, err := loadWhere[arbiterDoc](ctx, s.seats, bson.M{"n": bson.M{"$gte": lowest},
			"slot_id": bson.M{"$regex": `^(?:` + strings.Join(quoted, "|") + `)\.`}})
		if err != nil {
			return nil, err
		}
		for _, st := range seats {
			id, date, _, ok := parseSlotID(st.SlotID)
			if c, asked := from[id]; ok && asked && date >= today && st.Seat >= c {
				live = append(live, st)
				holders = append(holders, st.AppointmentID)
			}
		}
	}
	held := map[string]int{}
	if len(live) == 0 {
		return held, nil
	}
	docs, err := s.findAppts(ctx, bson.M{"_id": bson.M{"$in": holders}})
	if err != nil {
		return nil, fmt.Errorf("read seat holders: %w", err)
	}
	status := map[string]string{}
	for _, d := range docs {
		status[d.ID] = d.Status
	}
	for _, st := range live {
		id, _, _, _ := parseSlotID(st.SlotID)
		switch status, known := status[st.AppointmentID]; {
		case !known:
			held[id]++ // a booking in progress: count it
		case holdsSeat(status) && status != StatusCompleted && status != StatusNoShow:
			held[id]++
		}
	}
	return held, nil
}
