package appointments

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
	"banshi/notify"
)

// Queue calling (叫号). A checked-in appointment waits in its department's
// queue of the day, in check-in order. A counter (window) calls the next one
// (CallNext), may call the same citizen again (Recall), pass over one who
// does not come (Skip; a skipped citizen can still be recalled), or send one
// to another department's queue (Transfer). Complete (staffviews.go) ends
// the visit. The arbiter of a call is the appointment document itself: the
// conditional update from "waiting" to "called" succeeds for one counter
// only, so two counters calling at once never call the same citizen.
//
// Every change is published on the hall's Redis channel so that hall
// displays (WatchQueue) redraw within a second; the board (QueueBoard) shows
// queue numbers, windows and departments, never names.

// Call states of a checked-in appointment.
const (
	queueCalled  = "called"
	queueSkipped = "skipped"
)

// KindCalled is the message telling the citizen which window to go to.
const KindCalled = "queue_called"

// Queue errors.
var (
	ErrQueueEmpty = platform.NewError("queue_empty", "当前没有等候叫号的群众")
	ErrNotCalled  = platform.NewError("not_called", "该号尚未叫号，不能重呼或过号")
)

// boardSize is how many recent calls the board shows.
const boardSize = 10

var windowPattern = regexp.MustCompile(`^[0-9A-Za-z]{1,4}$`)

// QueueBoard is what a hall's display shows: recent calls, latest first, and
// how many checked-in citizens wait to be called. No names.
type QueueBoard struct {
	HallID    string      `json:"hall_id"`
	HallName  string      `json:"hall_name"`
	Calls     []QueueCall `json:"calls"`
	Waiting   int         `json:"waiting"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// QueueCall is one call on the board. Recall is true once the same number
// was called more than once.
type QueueCall struct {
	QueueNumber    string    `json:"queue_number"`
	Window         string    `json:"window"`
	DepartmentName string    `json:"department_name"`
	CalledAt       time.Time `json:"called_at"`
	Recall         bool      `json:"recall"`
}

// queueChannel is the Redis channel of hallID's queue changes.
func (s *Service) queueChannel(hallID string) string { return s.prefix + "queue:" + hallID }

// queueChanged tells the hall's displays to redraw. A lost publish only
// delays a display until the next change or its reconnect.
func (s *Service) queueChanged(ctx context.Context, hallID string) {
	if err := s.rdb.Publish(context.WithoutCancel(ctx), s.queueChannel(hallID), "1").Err(); err != nil {
		s.log.Warn("queue change not published", "hall", hallID, "err", err)
	}
}

// WatchQueue returns a channel that receives a value whenever hallID's queue
// changes (coalesced: a slow reader sees one tick for many changes) and is
// closed when ctx ends or the subscription fails. Errors: ErrNotFound (no
// such hall), a Redis error when the subscription cannot start.
func (s *Service) WatchQueue(ctx context.Context, hallID string) (<-chan struct{}, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	if cat.halls[hallID] == nil {
		return nil, ErrNotFound
	}
	sub := s.rdb.Subscribe(ctx, s.queueChannel(hallID))
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		_ = sub.Close()
		return nil, fmt.Errorf("watch queue: %w", err)
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer sub.Close()
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-msgs:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}

// QueueBoard is hallID's board now. Errors: ErrNotFound (no such hall).
func (s *Service) QueueBoard(ctx context.Context, hallID string) (QueueBoard, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return QueueBoard{}, err
	}
	h := cat.halls[hallID]
	if h == nil {
		return QueueBoard{}, ErrNotFound
	}
	now := s.clock.Now()
	today := dateOf(now)
	b := QueueBoard{HallID: hallID, HallName: h.Name, Calls: []QueueCall{}, UpdatedAt: now.In(shanghai())}
	cur, err := s.appts.Find(ctx, bson.M{"hall_id": hallID, "date": today, "call_state": queueCalled,
		"status": bson.M{"$in": []string{StatusCheckedIn, StatusCompleted}}},
		options.Find().SetSort(bson.D{{Key: "called_at", Value: -1}}).SetLimit(boardSize))
	if err != nil {
		return QueueBoard{}, fmt.Errorf("queue board: %w", err)
	}
	var docs []apptDoc
	if err := cur.All(ctx, &docs); err != nil {
		return QueueBoard{}, fmt.Errorf("queue board: %w", err)
	}
	for _, d := range docs {
		c := QueueCall{QueueNumber: d.QueueNumber, Window: d.Window, Recall: d.CallCount > 1}
		if d.CalledAt != nil {
			c.CalledAt = d.CalledAt.In(shanghai())
		}
		if dp := cat.depts[d.DepartmentID]; dp != nil {
			c.DepartmentName = dp.Name
		}
		b.Calls = append(b.Calls, c)
	}
	n, err := s.appts.CountDocuments(ctx, bson.M{"hall_id": hallID, "date": today, "status": StatusCheckedIn,
		"call_state": bson.M{"$exists": false}})
	if err != nil {
		return QueueBoard{}, fmt.Errorf("queue board: %w", err)
	}
	b.Waiting = int(n)
	return b, nil
}

// StaffQueueBoard is QueueBoard for a counter: the hall's staff and admins
// only. Errors: ErrForbidden, ErrNotFound, ErrWrongHall.
func (s *Service) StaffQueueBoard(ctx context.Context, actor StaffActor, hallID string) (QueueBoard, error) {
	if _, err := s.queueDesk(ctx, actor, hallID, ""); err != nil {
		return QueueBoard{}, err
	}
	return s.QueueBoard(ctx, hallID)
}

// queueDesk checks what every queue action needs: a desk role at hallID
// and a department of that hall (when departmentID is not "").
func (s *Service) queueDesk(ctx context.Context, actor StaffActor, hallID, departmentID string) (*catalog, error) {
	if actor.Role != RoleAdmin && actor.Role != RoleHallStaff {
		return nil, ErrForbidden
	}
	cat, err := s.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	if cat.halls[hallID] == nil {
		return nil, ErrNotFound
	}
	if !actor.mayWork(hallID) {
		return nil, ErrWrongHall
	}
	if departmentID != "" {
		if dp := cat.depts[departmentID]; dp == nil || dp.HallID != hallID {
			return nil, invalid("department_id", "exists", "该大厅没有这个部门")
		}
	}
	return cat, nil
}

// CallNext calls, at window, the citizen of departmentID who checked in
// earliest today at hallID and has not been called, and tells them where to
// go. Errors: ErrInvalid (window not 1-4 letters or digits, unknown
// department), ErrNotFound (hall), ErrForbidden, ErrWrongHall,
// ErrQueueEmpty (nobody waits).
func (s *Service) CallNext(ctx context.Context, actor StaffActor, hallID, departmentID, window string) (StaffAppointment, error) {
	if !windowPattern.MatchString(window) {
		return StaffAppointment{}, invalid("window", "format", "窗口号应为1至4位字母或数字")
	}
	if departmentID == "" {
		return StaffAppointment{}, invalid("department_id", "required", "请选择部门")
	}
	cat, err := s.queueDesk(ctx, actor, hallID, departmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	waiting := bson.M{"hall_id": hallID, "department_id": departmentID, "date": dateOf(s.clock.Now()),
		"status": StatusCheckedIn, "call_state": bson.M{"$exists": false}}
	for range 10 {
		cur, err := s.appts.Find(ctx, waiting, options.Find().
			SetSort(bson.D{{Key: "checked_in_at", Value: 1}, {Key: "queue_number", Value: 1}}).SetLimit(5))
		if err != nil {
			return StaffAppointment{}, fmt.Errorf("call next: %w", err)
		}
		var docs []apptDoc
		if err := cur.All(ctx, &docs); err != nil {
			return StaffAppointment{}, fmt.Errorf("call next: %w", err)
		}
		if len(docs) == 0 {
			return StaffAppointment{}, ErrQueueEmpty
		}
		for _, d := range docs {
			out, err := s.callUpdate(ctx, bson.M{"_id": d.ID, "status": StatusCheckedIn, "call_state": bson.M{"$exists": false}},
				bson.M{"$set": bson.M{"call_state": queueCalled, "window": window, "called_at": ms(s.clock.Now()), "called_by": actor.ID,
					"notice": KindCalled},
					"$inc": bson.M{"call_count": 1},
					// The first call ends the wait (dashboard): a recall or a
					// call after a transfer keeps it.
					"$min": bson.M{"first_called_at": ms(s.clock.Now())}})
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue // another counter called this one first
			}
			if err != nil {
				return StaffAppointment{}, err
			}
			s.metrics.called(out.HallID, CallFirst)
			return s.announce(ctx, cat, out), nil
		}
	}
	return StaffAppointment{}, ErrQueueEmpty
}

// Recall calls the called or skipped citizen of appointmentID again, at
// window (the window it was called to when window is ""). Errors: ErrInvalid,
// ErrNotFound (hall, appointment, or an appointment of another hall),
// ErrForbidden, ErrWrongHall, ErrNotCheckedIn, ErrNotActive, ErrNotCalled.
func (s *Service) Recall(ctx context.Context, actor StaffActor, hallID, appointmentID, window string) (StaffAppointment, error) {
	if window != "" && !windowPattern.MatchString(window) {
		return StaffAppointment{}, invalid("window", "format", "窗口号应为1至4位字母或数字")
	}
	cat, d, err := s.queued(ctx, actor, hallID, appointmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	if d.CallState == "" {
		return StaffAppointment{}, ErrNotCalled
	}
	if window == "" {
		window = d.Window
	}
	out, err := s.callUpdate(ctx, bson.M{"_id": d.ID, "status": StatusCheckedIn, "call_state": bson.M{"$in": []string{queueCalled, queueSkipped}}},
		bson.M{"$set": bson.M{"call_state": queueCalled, "window": window, "called_at": ms(s.clock.Now()), "called_by": actor.ID,
			"notice": KindCalled},
			"$inc": bson.M{"call_count": 1}})
	if errors.Is(err, mongo.ErrNoDocuments) {
		return StaffAppointment{}, s.queueConflict(ctx, d.ID)
	}
	if err != nil {
		return StaffAppointment{}, err
	}
	s.metrics.called(out.HallID, CallRecall)
	return s.announce(ctx, cat, out), nil
}

// Skip passes over a called citizen who did not come (过号): the number
// leaves the board; Recall can call it again. Skipping a skipped one
// returns it unchanged. Errors: as Recall.
func (s *Service) Skip(ctx context.Context, actor StaffActor, hallID, appointmentID string) (StaffAppointment, error) {
	cat, d, err := s.queued(ctx, actor, hallID, appointmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	switch d.CallState {
	case "":
		return StaffAppointment{}, ErrNotCalled
	case queueSkipped:
		return s.staffView(ctx, cat, d, nil), nil
	}
	out, err := s.callUpdate(ctx, bson.M{"_id": d.ID, "status": StatusCheckedIn, "call_state": queueCalled},
		bson.M{"$set": bson.M{"call_state": queueSkipped}})
	if errors.Is(err, mongo.ErrNoDocuments) {
		return StaffAppointment{}, s.queueConflict(ctx, d.ID)
	}
	if err != nil {
		return StaffAppointment{}, err
	}
	s.queueChanged(ctx, hallID)
	return s.staffView(ctx, cat, out, nil), nil
}

// Transfer sends a checked-in citizen to departmentID's queue of the same
// hall: a new queue number of that department, waiting again, ahead of
// those who checked in later (the citizen keeps the time already waited).
// Errors: as Recall; ErrInvalid also for the appointment's own department.
func (s *Service) Transfer(ctx context.Context, actor StaffActor, hallID, appointmentID, departmentID string) (StaffAppointment, error) {
	if departmentID == "" {
		return StaffAppointment{}, invalid("department_id", "required", "请选择转入的部门")
	}
	cat, d, err := s.queued(ctx, actor, hallID, appointmentID)
	if err != nil {
		return StaffAppointment{}, err
	}
	if dp := cat.depts[departmentID]; dp == nil || dp.HallID != hallID {
		return StaffAppointment{}, invalid("department_id", "exists", "该大厅没有这个部门")
	}
	if departmentID == d.DepartmentID {
		return StaffAppointment{}, invalid("department_id", "different", "已在该部门排队")
	}
	target := *d
	target.DepartmentID = departmentID
	q, err := s.nextQueueNumber(ctx, cat, &target)
	if err != nil {
		return StaffAppointment{}, err
	}
	out, err := s.callUpdate(ctx, bson.M{"_id": d.ID, "status": StatusCheckedIn, "department_id": d.DepartmentID},
		bson.M{"$set": bson.M{"department_id": departmentID, "queue_number": q},
			"$unset": bson.M{"call_state": "", "window": "", "called_at": "", "called_by": "", "call_count": ""}})
	if errors.Is(err, mongo.ErrNoDocuments) {
		return StaffAppointment{}, s.queueConflict(ctx, d.ID)
	}
	if err != nil {
		return StaffAppointment{}, err
	}
	s.queueChanged(ctx, hallID)
	return s.staffView(ctx, cat, out, nil), nil
}

// queued loads a checked-in appointment of hallID for a queue action.
func (s *Service) queued(ctx context.Context, actor StaffActor, hallID, appointmentID string) (*catalog, *apptDoc, error) {
	if !validAppointmentID(appointmentID) {
		return nil, nil, invalid("appointment_id", "format", "预约编号格式错误")
	}
	cat, err := s.queueDesk(ctx, actor, hallID, "")
	if err != nil {
		return nil, nil, err
	}
	d, err := s.findAppt(ctx, appointmentID)
	if err != nil {
		return nil, nil, err
	}
	if d.Status == statusFailed || d.HallID != hallID {
		return nil, nil, ErrNotFound
	}
	if err := queueStatus(d.Status); err != nil {
		return nil, nil, err
	}
	return cat, d, nil
}

// queueStatus is the refusal of a queue action on an appointment in status.
func queueStatus(status string) error {
	switch status {
	case StatusCheckedIn:
		return nil
	case StatusBooked:
		return ErrNotCheckedIn
	default: // completed, cancelled, no-show
		return ErrNotActive
	}
}

// queueConflict explains a lost conditional update from the current state.
func (s *Service) queueConflict(ctx context.Context, id string) error {
	cur, err := s.findAppt(ctx, id)
	if err != nil {
		return err
	}
	if err := queueStatus(cur.Status); err != nil {
		return err
	}
	return ErrNotCalled
}

// callUpdate applies update to the appointment filter matches and returns it
// as it is after; mongo.ErrNoDocuments when nothing matched.
func (s *Service) callUpdate(ctx context.Context, filter, update bson.M) (*apptDoc, error) {
	var out apptDoc
	err := s.appts.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	return &out, nil
}

// announce tells the citizen where to go and the displays to redraw, and
// returns the staff view of d. The call wrote its message as owed
// (notice KindCalled) in the same update, so a process that dies before the
// publish, or a notifier that is down, leaves it to the sweeper (see
// notices.go); the message ID names the call's count, so a recall is a new
// message and a repeated publish of one call is not.
func (s *Service) announce(ctx context.Context, cat *catalog, d *apptDoc) StaffAppointment {
	s.settleNotice(ctx, cat, d)
	s.queueChanged(ctx, d.HallID)
	return s.staffView(ctx, cat, d, nil)
}

// calledMessage tells the citizen of d, called to d.Window, where to go.
func calledMessage(cat *catalog, d *apptDoc) notify.Message {
	_, svc := names(cat, d)
	m := msg(cat, KindCalled, d, "请到 "+d.Window+" 号窗口办理",
		fmt.Sprintf("您的号码 %s 已叫号，请到 %s 号窗口办理“%s”。", d.QueueNumber, d.Window, svc))
	m.ID = fmt.Sprintf("%s:%s:%d", KindCalled, d.ID, d.CallCount)
	m.Data["queue_number"] = d.QueueNumber
	m.Data["window"] = d.Window
	return m
}
