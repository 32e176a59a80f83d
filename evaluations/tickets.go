package evaluations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Ticket states. The path is open → verified → rectified → replied →
// closed (called back); an appeal (before the reply) goes to appealed, and
// the review either annuls the ticket (upheld: the evaluation is
// ineffective) or returns it to the state it was appealed from.
const (
	StateOpen      = "open"      // 待核实
	StateVerified  = "verified"  // 已核实
	StateRectified = "rectified" // 已整改
	StateReplied   = "replied"   // 已反馈
	StateClosed    = "closed"    // 已回访
	StateAppealed  = "appealed"  // 申诉中
	StateAnnulled  = "annulled"  // 申诉成立，评价无效
)

// TicketStates lists the states.
func TicketStates() []string {
	return []string{StateOpen, StateVerified, StateRectified, StateReplied, StateClosed, StateAppealed, StateAnnulled}
}

// pendingStates are those whose ticket still owes the citizen a reply: past
// the deadline in one of them, a ticket is overdue.
var pendingStates = []string{StateOpen, StateVerified, StateRectified, StateAppealed}

// Appeal kinds.
const (
	AppealMistaken  = "mistaken"  // 误评
	AppealMalicious = "malicious" // 恶意差评
)

// Call-back outcomes (回访结果).
const (
	CallbackSatisfied    = "satisfied"
	CallbackBasic        = "basic"
	CallbackDissatisfied = "dissatisfied"
	CallbackUnreachable  = "unreachable"
)

// MaxNote is the most characters of a step's note, a reply or a reason.
const MaxNote = 1000

// Step is one handling step: who, when, what.
type Step struct {
	By   string    `json:"by" bson:"by"`
	At   time.Time `json:"at" bson:"at"`
	Note string    `json:"note" bson:"note"`
}

// CallbackStep is the call-back to the citizen and its outcome.
type CallbackStep struct {
	Step    `bson:",inline"`
	Outcome string `json:"outcome" bson:"outcome"`
}

// Appeal is a department's appeal against a 差评 and its review.
type Appeal struct {
	Kind   string        `json:"kind" bson:"kind"`
	Reason string        `json:"reason" bson:"reason"`
	By     string        `json:"by" bson:"by"`
	At     time.Time     `json:"at" bson:"at"`
	From   string        `json:"from_state" bson:"from"`
	Review *AppealReview `json:"review,omitempty" bson:"review,omitempty"`
}

// AppealReview is an admin's decision on an appeal.
type AppealReview struct {
	By     string    `json:"by" bson:"by"`
	At     time.Time `json:"at" bson:"at"`
	Upheld bool      `json:"upheld" bson:"upheld"`
	Note   string    `json:"note" bson:"note"`
}

// ticketDoc is a rectification ticket (collection eval_tickets; _id = the
// evaluation's). Changes are compare-and-swap on Version.
type ticketDoc struct {
	ID          string        `bson:"_id"`
	Kind        string        `bson:"kind"`
	SubjectRef  string        `bson:"subject_ref"`
	Source      string        `bson:"source,omitempty"`
	Level       string        `bson:"level"`
	Indicators  []string      `bson:"indicators"`
	Text        string        `bson:"text,omitempty"`
	Mode        string        `bson:"mode"`
	ServiceCode string        `bson:"service_code"`
	Department  string        `bson:"department"`
	DeptName    string        `bson:"department_name,omitempty"`
	HallID      string        `bson:"hall_id,omitempty"`
	StaffID     string        `bson:"staff_id,omitempty"`
	Channel     string        `bson:"channel"`
	UserID      string        `bson:"user_id,omitempty"` // the citizen who rated, told the reply
	State       string        `bson:"state"`
	Deadline    time.Time     `bson:"deadline"`
	CreatedAt   time.Time     `bson:"created_at"`
	Verify      *Step         `bson:"verify,omitempty"`
	Rectify     *Step         `bson:"rectify,omitempty"`
	Reply       *Step         `bson:"reply,omitempty"`
	Callback    *CallbackStep `bson:"callback,omitempty"`
	Appeal      *Appeal       `bson:"appeal,omitempty"`
	// IneffectivePending: the appeal was upheld and the evaluation not yet
	// marked ineffective (the sweeper finishes it).
	IneffectivePending bool `bson:"ineffective_pending"`
	// ReplyPending: replied, and the citizen not yet known to be told (the
	// sweeper tells what a crash left).
	ReplyPending bool  `bson:"reply_pending"`
	Version      int64 `bson:"version"`
}

// Ticket is a rectification ticket as staff see it.
type Ticket struct {
	ID           string        `json:"id"`
	EvaluationID string        `json:"evaluation_id"`
	Subject      SubjectRef    `json:"subject"`
	Level        string        `json:"level"`
	LevelName    string        `json:"level_name"`
	Indicators   []string      `json:"indicators"`
	Text         string        `json:"text,omitempty"`
	ServiceCode  string        `json:"service_code"`
	Department   string        `json:"department"`
	DeptName     string        `json:"department_name,omitempty"`
	HallID       string        `json:"hall_id,omitempty"`
	StaffID      string        `json:"staff_id,omitempty"`
	State        string        `json:"state"`
	Deadline     time.Time     `json:"deadline"`
	Overdue      bool          `json:"overdue"`
	CreatedAt    time.Time     `json:"created_at"`
	Verify       *Step         `json:"verify,omitempty"`
	Rectify      *Step         `json:"rectify,omitempty"`
	Reply        *Step         `json:"reply,omitempty"`
	Callback     *CallbackStep `json:"callback,omitempty"`
	Appeal       *Appeal       `json:"appeal,omitempty"`
}

func localStep(st *Step) *Step {
	if st == nil {
		return nil
	}
	c := *st
	c.At = platform.Local(c.At)
	return &c
}

func (t ticketDoc) overdue(now time.Time) bool {
	return slices.Contains(pendingStates, t.State) && now.After(t.Deadline)
}

func (t ticketDoc) view(now time.Time) Ticket {
	ref := SubjectRef{Kind: t.Kind}
	if t.Kind == KindApplication {
		ref.ApplicationNo, ref.Source = t.SubjectRef, t.Source
	} else {
		ref.AppointmentID = t.SubjectRef
	}
	v := Ticket{ID: t.ID, EvaluationID: t.ID, Subject: ref, Level: t.Level, LevelName: LevelName(t.Level),
		Indicators: t.Indicators, Text: t.Text, ServiceCode: t.ServiceCode, Department: t.Department,
		DeptName: t.DeptName, HallID: t.HallID, StaffID: t.StaffID, State: t.State,
		Deadline: platform.Local(t.Deadline), Overdue: t.overdue(now), CreatedAt: platform.Local(t.CreatedAt),
		Verify: localStep(t.Verify), Rectify: localStep(t.Rectify), Reply: localStep(t.Reply)}
	if v.Indicators == nil {
		v.Indicators = []string{}
	}
	if t.Callback != nil {
		c := *t.Callback
		c.At = platform.Local(c.At)
		v.Callback = &c
	}
	if t.Appeal != nil {
		a := *t.Appeal
		a.At = platform.Local(a.At)
		if a.Review != nil {
			r := *a.Review
			r.At = platform.Local(r.At)
			a.Review = &r
		}
		v.Appeal = &a
	}
	return v
}

// summary is what the citizen sees of the ticket.
func (t ticketDoc) summary() *TicketSummary {
	s := &TicketSummary{State: t.State}
	if t.Reply != nil {
		s.Reply = t.Reply.Note
		at := platform.Local(t.Reply.At)
		s.RepliedAt = &at
	}
	return s
}

// openTicket stores the ticket of the 差评 d (idempotent: the ticket's _id
// is the evaluation's) and clears the evaluation's ticket_pending. It
// returns the ticket as stored.
func (s *Service) openTicket(ctx context.Context, d evalDoc) (ticketDoc, error) {
	deadline, err := s.calendar.AddWorkingDays(ctx, d.CreatedAt, s.cfg.RectifyWorkingDays)
	if err != nil {
		return ticketDoc{}, fmt.Errorf("ticket deadline: %w", err)
	}
	t := ticketDoc{ID: d.ID, Kind: d.Kind, SubjectRef: d.SubjectRef, Source: d.Source, Level: d.Level,
		Indicators: d.Indicators, Text: d.Text, Mode: d.Mode, ServiceCode: d.ServiceCode,
		Department: d.Department, DeptName: d.DeptName, HallID: d.HallID, StaffID: d.StaffID,
		Channel: d.Channel, UserID: d.Evaluator.UserID, State: StateOpen, Deadline: deadline.UTC(), CreatedAt: d.CreatedAt, Version: 1}
	if _, err := s.tickets.InsertOne(ctx, t); err != nil {
		if !platform.IsDuplicateKey(err) {
			return ticketDoc{}, fmt.Errorf("store ticket: %w", err)
		}
		stored, ferr := s.ticket(ctx, d.ID)
		if ferr != nil {
			return ticketDoc{}, ferr
		}
		t = stored
	}
	if _, err := s.evals.UpdateOne(ctx, bson.M{"_id": d.ID}, bson.M{"$set": bson.M{"ticket_pending": false}}); err != nil {
		return t, fmt.Errorf("record ticket opened: %w", err)
	}
	return t, nil
}

func (s *Service) ticket(ctx context.Context, id string) (ticketDoc, error) {
	var t ticketDoc
	err := s.tickets.FindOne(ctx, bson.M{"_id": id}).Decode(&t)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ticketDoc{}, ErrTicketNotFound
	}
	if err != nil {
		return ticketDoc{}, fmt.Errorf("read ticket: %w", err)
	}
	return t, nil
}

// Actor is the staff member handling tickets: admins handle every ticket;
// hall staff those of their halls' visits. Only admins review appeals.
type Actor struct {
	ID      string
	Role    string
	HallIDs []string
}

func (a Actor) may(t ticketDoc) bool {
	switch a.Role {
	case platform.RoleAdmin:
		return true
	case platform.RoleHallStaff:
		return t.HallID != "" && slices.Contains(a.HallIDs, t.HallID)
	}
	return false
}

// TicketQuery filters the ticket list.
type TicketQuery struct {
	State   string // one of TicketStates, or "" for all
	Overdue bool   // only tickets past their deadline without a reply
	Limit   int    // 1..200, default 50
}

// ListTickets returns the tickets actor may handle, newest first.
// Errors: platform.Invalid (state), ErrForbidden (not admin or hall staff),
// storage errors.
func (s *Service) ListTickets(ctx context.Context, actor Actor, q TicketQuery) ([]Ticket, error) {
	if actor.Role != platform.RoleAdmin && actor.Role != platform.RoleHallStaff {
		return nil, ErrForbidden
	}
	if q.State != "" && !slices.Contains(TicketStates(), q.State) {
		return nil, platform.Invalid("state", "enum", "工单状态应为 "+strings.Join(TicketStates(), "、")+" 之一")
	}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	now := s.now()
	f := bson.M{}
	if q.State != "" {
		f["state"] = q.State
	}
	if q.Overdue {
		if q.State != "" && !slices.Contains(pendingStates, q.State) {
			return []Ticket{}, nil
		}
		if q.State == "" {
			f["state"] = bson.M{"$in": pendingStates}
		}
		f["deadline"] = bson.M{"$lt": now}
	}
	if actor.Role == platform.RoleHallStaff {
		f["hall_id"] = bson.M{"$in": actor.HallIDs}
		if len(actor.HallIDs) == 0 {
			return []Ticket{}, nil
		}
	}
	cur, err := s.tickets.Find(ctx, f, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	var docs []ticketDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	out := make([]Ticket, 0, len(docs))
	for _, t := range docs {
		out = append(out, t.view(now))
	}
	return out, nil
}

// GetTicket returns one ticket actor may handle.
// Errors: ErrTicketNotFound (also another hall's), storage errors.
func (s *Service) GetTicket(ctx context.Context, actor Actor, id string) (Ticket, error) {
	t, err := s.ticket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	if !actor.may(t) {
		return Ticket{}, ErrTicketNotFound
	}
	return t.view(s.now()), nil
}

func note(field, v string, required bool) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		return "", platform.Invalid(field, "required", "请填写内容")
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' }):
		return "", platform.Invalid(field, "format", "内容含有无效字符")
	case utf8.RuneCountInString(v) > MaxNote:
		return "", platform.Invalid(field, "length", "内容过长")
	}
	return v, nil
}

// step moves ticket id from one of from to a new state by compare-and-swap
// on its version, with change applied to what was read.
func (s *Service) step(ctx context.Context, actor Actor, id string, from []string, change func(t *ticketDoc, now time.Time)) (Ticket, error) {
	t, err := s.ticket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	if !actor.may(t) {
		return Ticket{}, ErrTicketNotFound
	}
	if !slices.Contains(from, t.State) {
		return Ticket{}, ErrTicketState
	}
	now := s.now()
	next := t
	change(&next, now)
	next.Version = t.Version + 1
	res, err := s.tickets.ReplaceOne(ctx, bson.M{"_id": t.ID, "version": t.Version}, next)
	if err != nil {
		return Ticket{}, fmt.Errorf("update ticket: %w", err)
	}
	if res.MatchedCount == 0 {
		return Ticket{}, ErrTicketState // another step won
	}
	return next.view(now), nil
}

// Verify records that the department checked the 差评 (核实): open →
// verified. Errors: platform.Invalid (note), ErrTicketNotFound,
// ErrTicketState, storage errors.
func (s *Service) Verify(ctx context.Context, actor Actor, id, text string) (Ticket, error) {
	n, err := note("note", text, true)
	if err != nil {
		return Ticket{}, err
	}
	return s.step(ctx, actor, id, []string{StateOpen}, func(t *ticketDoc, now time.Time) {
		t.State, t.Verify = StateVerified, &Step{By: actor.ID, At: now, Note: n}
	})
}

// Rectify records what was changed (整改): verified → rectified.
// Errors: as Verify.
func (s *Service) Rectify(ctx context.Context, actor Actor, id, text string) (Ticket, error) {
	n, err := note("note", text, true)
	if err != nil {
		return Ticket{}, err
	}
	return s.step(ctx, actor, id, []string{StateVerified}, func(t *ticketDoc, now time.Time) {
		t.State, t.Rectify = StateRectified, &Step{By: actor.ID, At: now, Note: n}
	})
}

// Reply answers the citizen (反馈), who sees it with their evaluation and is
// told in a message (KindReply): rectified → replied. Errors: as Verify. A
// message that could not be published is logged; the sweeper publishes it.
func (s *Service) Reply(ctx context.Context, actor Actor, id, text string) (Ticket, error) {
	n, err := note("reply", text, true)
	if err != nil {
		return Ticket{}, err
	}
	var replied ticketDoc
	v, err := s.step(ctx, actor, id, []string{StateRectified}, func(t *ticketDoc, now time.Time) {
		t.State, t.Reply, t.ReplyPending = StateReplied, &Step{By: actor.ID, At: now, Note: n}, true
		replied = *t
	})
	if err != nil {
		return Ticket{}, err
	}
	if err := s.tellReply(ctx, replied); err != nil {
		s.log.WarnContext(ctx, "reply message not published; the sweeper publishes it", "ticket", id, "err", err)
	}
	return v, nil
}

// Callback records the call-back to the citizen (回访) and its outcome
// (satisfied, basic, dissatisfied, unreachable): replied → closed.
// Errors: as Verify, platform.Invalid (outcome).
func (s *Service) Callback(ctx context.Context, actor Actor, id, outcome, text string) (Ticket, error) {
	if !slices.Contains([]string{CallbackSatisfied, CallbackBasic, CallbackDissatisfied, CallbackUnreachable}, outcome) {
		return Ticket{}, platform.Invalid("outcome", "enum", "回访结果应为 satisfied、basic、dissatisfied 或 unreachable")
	}
	n, err := note("note", text, false)
	if err != nil {
		return Ticket{}, err
	}
	return s.step(ctx, actor, id, []string{StateReplied}, func(t *ticketDoc, now time.Time) {
		t.State, t.Callback = StateClosed, &CallbackStep{Step: Step{By: actor.ID, At: now, Note: n}, Outcome: outcome}
	})
}

// FileAppeal appeals the 差评 as mistaken or malicious (申诉), once, before
// the reply: open, verified or rectified → appealed.
// Errors: as Verify, platform.Invalid (kind, reason).
func (s *Service) FileAppeal(ctx context.Context, actor Actor, id, kind, reason string) (Ticket, error) {
	if kind != AppealMistaken && kind != AppealMalicious {
		return Ticket{}, platform.Invalid("kind", "enum", "申诉类型应为 mistaken 或 malicious")
	}
	n, err := note("reason", reason, true)
	if err != nil {
		return Ticket{}, err
	}
	t, err := s.ticket(ctx, id)
	if err == nil && t.Appeal != nil && actor.may(t) {
		return Ticket{}, ErrTicketState // one appeal per ticket
	}
	return s.step(ctx, actor, id, []string{StateOpen, StateVerified, StateRectified}, func(t *ticketDoc, now time.Time) {
		t.Appeal = &Appeal{Kind: kind, Reason: n, By: actor.ID, At: now, From: t.State}
		t.State = StateAppealed
	})
}

// ReviewAppeal decides an appeal (复核, admins only): upheld annuls the
// ticket and marks the evaluation ineffective; refused returns the ticket to
// the state it was appealed from. Errors: ErrForbidden (not an admin),
// platform.Invalid (note), ErrTicketNotFound, ErrTicketState, storage
// errors.
func (s *Service) ReviewAppeal(ctx context.Context, actor Actor, id string, upheld bool, text string) (Ticket, error) {
	if actor.Role != platform.RoleAdmin {
		return Ticket{}, ErrForbidden
	}
	n, err := note("note", text, true)
	if err != nil {
		return Ticket{}, err
	}
	v, err := s.step(ctx, actor, id, []string{StateAppealed}, func(t *ticketDoc, now time.Time) {
		a := *t.Appeal
		a.Review = &AppealReview{By: actor.ID, At: now, Upheld: upheld, Note: n}
		t.Appeal = &a
		if upheld {
			t.State, t.IneffectivePending = StateAnnulled, true
		} else {
			t.State = a.From
		}
	})
	if err != nil || !upheld {
		return v, err
	}
	return v, s.markIneffective(ctx, id)
}

// markIneffective marks the evaluation of an upheld appeal ineffective and
// then clears the ticket's ineffective_pending. Idempotent.
func (s *Service) markIneffective(ctx context.Context, id string) error {
	if _, err := s.evals.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"effective": false}}); err != nil {
		return fmt.Errorf("mark evaluation ineffective: %w", err)
	}
	if _, err := s.tickets.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"ineffective_pending": false}}); err != nil {
		return fmt.Errorf("record evaluation ineffective: %w", err)
	}
	return nil
}
