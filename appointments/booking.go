package appointments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// BookRequest is the body of POST /api/v1/appointments.
type BookRequest struct {
	SlotID    string `json:"slot_id"`
	ServiceID string `json:"service_id"`
	// OnBehalfOf books for an enterprise the citizen acts for (optional;
	// enterprise.go).
	OnBehalfOf *OnBehalfOf `json:"on_behalf_of,omitempty"`
}

func (r BookRequest) validate() error {
	if r.SlotID == "" {
		return invalid("slot_id", "required", "请选择预约时段")
	}
	if _, _, _, ok := parseSlotID(r.SlotID); !ok {
		return invalid("slot_id", "format", "预约时段编号格式错误")
	}
	if r.ServiceID == "" {
		return invalid("service_id", "required", "请选择办理事项")
	}
	if err := checkID("service_id", r.ServiceID); err != nil {
		return err
	}
	return r.OnBehalfOf.validate()
}

// errAbandoned: the booking took so long that a repairer declared it
// abandoned and tombstoned its appointment ID. Internal (retryable) error.
var errAbandoned = errors.New("appointments: booking abandoned while in progress; retry")

// Book books a seat of req.SlotID for req.ServiceID for the citizen.
//
// idempotencyKey (the Idempotency-Key header, optional, 1-255 printable
// ASCII characters) makes retries safe: the same key with the same body
// returns the first answer again (the appointment as first returned, or the
// same error), another body gets ErrIdempotencyMismatch, and a request still
// running under the key gets ErrIdempotencyInProgress. Answers are kept for
// Deps.IdempotencyTTL.
//
// Errors, in the order checked: ErrInvalid (naming the field: slot_id,
// service_id, user, idempotency_key), ErrNotFound (unknown service),
// ErrRealnameRequired (level below the hall's minimum, default 3),
// ErrNotFound (unknown slot), ErrSlotMismatch (the slot is of another hall, department or service),
// ErrSlotClosed (the slot has started or passed, or its day is a closure or
// holiday), ErrOutsideWindow (not within the hall's booking window),
// ErrSlotFull (under a key kept as the answer only when MongoDB's seats
// decided it, not the Redis pool), ErrBookingSuspended (with Until),
// ErrDuplicateBooking (an active booking of this service on that day),
// ErrBookingLimit (already MaxActive active bookings), ErrIdempotencyMismatch,
// ErrIdempotencyInProgress; anything else is internal.
//
// Exactness: see the package documentation. Nothing is left held when an
// error is returned (crash left-overs repair themselves).
func (s *Service) Book(ctx context.Context, who Citizen, req BookRequest, idempotencyKey string) (Appointment, error) {
	if err := req.validate(); err != nil {
		return Appointment{}, err
	}
	if !validUserID(who.ID) {
		return Appointment{}, invalid("user", "format", "用户编号缺失或格式错误")
	}
	if idempotencyKey == "" {
		return s.book(ctx, who, req, nil)
	}
	if !validIdemKey(idempotencyKey) {
		return Appointment{}, invalid("idempotency_key", "format", "幂等键应为 1 至 255 个可打印 ASCII 字符")
	}
	return s.bookIdempotent(ctx, who, req, newIdemKey(who.ID, idempotencyKey, req))
}

func validUserID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r > '~' || r == '|' || r == '#' {
			return false
		}
	}
	return true
}

// book checks the request against the catalog and the clock, then books.
func (s *Service) book(ctx context.Context, who Citizen, req BookRequest, ik *idemKey) (Appointment, error) {
	cat, err := s.cat.get(ctx)
	if err != nil {
		return Appointment{}, err
	}
	v := cat.services[req.ServiceID]
	if v == nil {
		return Appointment{}, ErrNotFound
	}
	h := cat.halls[v.HallID]
	if h == nil {
		return Appointment{}, ErrNotFound
	}
	// A refusal by the hall's rules is counted (metrics.go); these are
	// checked before any idempotency record, so a retry is decided again.
	refuse := func(err error) (Appointment, error) {
		s.metrics.refused(h.ID, err)
		return Appointment{}, err
	}
	if who.RealnameLevel < h.Rules.MinRealnameLevel {
		level, err := s.storedLevel(ctx, who)
		if err != nil {
			return Appointment{}, err
		}
		if level < h.Rules.MinRealnameLevel {
			return refuse(ErrRealnameRequired)
		}
		who.RealnameLevel = level
	}
	if err := s.checkOnBehalf(ctx, who, req.OnBehalfOf, v); err != nil {
		return refuse(err)
	}
	sl, found, closed := cat.lookupSlot(req.SlotID)
	if !found {
		return refuse(ErrNotFound)
	}
	if !serves(sl.Schedule, v) {
		return refuse(ErrSlotMismatch)
	}
	now := s.clock.Now()
	if closed || !now.Before(sl.Start) {
		return refuse(ErrSlotClosed)
	}
	if !slices.Contains(cat.window(h, now), sl.Date) {
		return refuse(ErrOutsideWindow)
	}
	b := &booking{s: s, cat: cat, who: who, svc: v, sl: sl, id: newAppointmentID(), ik: ik, limitSlot: -1, seat: -1}
	if req.OnBehalfOf != nil {
		b.uscc = req.OnBehalfOf.USCC
	}
	return b.run(ctx)
}

// storedLevel reads the citizen's level from the store of record (the
// caller's may be stale), telling LevelRaised when it is higher.
func (s *Service) storedLevel(ctx context.Context, who Citizen) (int, error) {
	if s.levels == nil {
		return who.RealnameLevel, nil
	}
	level, err := s.levels.Level(ctx, who.ID)
	if err != nil {
		return 0, err
	}
	if level > who.RealnameLevel && s.raised != nil {
		s.raised(ctx, who.ID, level)
	}
	return level, nil
}

// booking is one attempt and what it holds so far.
type booking struct {
	s   *Service
	cat *catalog
	who Citizen
	svc *ServiceItem
	sl  slotDef
	id  string
	ik  *idemKey

	token        int
	haveToken    bool // a Redis seat lease is ours
	idemInserted bool
	dayLock      bool
	limitSlot    int
	uscc         string // on behalf of this enterprise ("" for none)
	entSlot      string // the enterprise's day slot held ("" for none)
	seat         int
	code         string
	committed    bool // the appointment document is stored, booked
	undecided    bool // whether it is stored could not be learnt: hold everything
}

// run takes the steps in the order that keeps a crash harmless: a Redis seat
// lease (the fast path; a full slot ends here), the idempotency record, the
// suspension check, the day lock, a user slot, the seat document, a check-in
// code, and last the appointment document, which commits. On an error every
// arbiter taken is released and the lease returned.
func (b *booking) run(ctx context.Context) (Appointment, error) {
	s := b.s
	n, err := s.takeToken(ctx, b.sl)
	switch {
	case err == nil:
		b.token, b.haveToken = n, true
	case errors.Is(err, errFastPathDown):
	default:
		s.metrics.refused(b.svc.HallID, err) // the pool's slot_full
		return Appointment{}, err
	}
	a, err, replayed := b.steps(ctx)
	if replayed {
		b.undo(ctx, nil)
		return a, err // counted when it was decided
	}
	if err != nil {
		b.undo(ctx, err)
		s.metrics.refused(b.svc.HallID, err)
	}
	return a, err
}

func (b *booking) steps(ctx context.Context) (Appointment, error, bool) {
	s := b.s
	if b.ik != nil {
		a, err, replayed := s.idemInsert(ctx, b.ik, b.id, b.sl.ID)
		if replayed || err != nil {
			return a, err, replayed
		}
		b.idemInserted = true
	}
	if err := s.checkSuspension(ctx, b.who.ID); err != nil {
		return Appointment{}, err, false
	}
	arb := func(id string) arbiterDoc {
		return arbiterDoc{ID: id, AppointmentID: b.id, UserID: b.who.ID, CreatedAt: ms(s.clock.Now())}
	}
	ok, err := s.acquire(ctx, s.daylocks, arb(dayLockID(b.who.ID, b.svc.ID, b.sl.Date)), holdsBooking)
	if err != nil {
		return Appointment{}, err, false
	}
	if !ok {
		return Appointment{}, ErrDuplicateBooking, false
	}
	b.dayLock = true
	for k := range s.cfg.maxActive {
		ok, err := s.acquire(ctx, s.userslots, arb(userSlotID(b.who.ID, k)), holdsBooking)
		if err != nil {
			return Appointment{}, err, false
		}
		if ok {
			b.limitSlot = k
			break
		}
	}
	if b.limitSlot < 0 {
		return Appointment{}, ErrBookingLimit, false
	}
	if err := b.takeEnterpriseSlot(ctx, arb); err != nil {
		return Appointment{}, err, false
	}
	if err := b.takeSeat(ctx); err != nil {
		return Appointment{}, err, false
	}
	for range 5 {
		c := newCheckinCode()
		ok, err := s.acquire(ctx, s.codes, arb(c), holdsCode)
		if err != nil {
			return Appointment{}, err, false
		}
		if ok {
			b.code = c
			break
		}
	}
	if b.code == "" {
		return Appointment{}, errors.New("appointments: no free check-in code"), false
	}
	doc := &apptDoc{
		ID: b.id, UserID: b.who.ID, HallID: b.svc.HallID, DepartmentID: b.svc.DepartmentID,
		ServiceID: b.svc.ID, SlotID: b.sl.ID, Capacity: b.sl.Capacity, Seat: b.seat, LimitSlot: b.limitSlot,
		Date: b.sl.Date, Start: ms(b.sl.Start), End: ms(b.sl.End), Status: StatusBooked,
		CheckinCode: b.code, CreatedAt: ms(s.clock.Now()), Notice: KindBooked,
		OnBehalfOf: b.uscc, EntSlotID: b.entSlot,
	}
	if err := b.commit(ctx, doc); err != nil {
		return Appointment{}, err, false
	}
	s.metrics.booked(doc.HallID)
	// Booked: finish and answer even when the client has gone meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
	defer cancel()
	if b.haveToken {
		if err := s.pool.confirm(ctx, b.sl, b.seat); err != nil {
			s.log.Warn("seat lease not confirmed; it expires and the seat insert arbitrates", "err", err)
		}
	}
	s.settleNotice(ctx, b.cat, doc)
	return s.firstAnswer(b.cat, doc), nil, false
}

// decideTimeout bounds the MongoDB calls that settle a booking after its
// request's context ended: deciding its commit, undoing it, confirming it.
const decideTimeout = 10 * time.Second

// commit inserts the appointment document, which makes the booking, and
// learns whether it did. An error from the insert other than a duplicate key
// (a lost reply, the driver's timeout, the request's context ending) leaves
// the outcome unknown: the document may be stored. It is decided by
// inserting a failed tombstone under the same ID, under a context the
// request cannot cancel: inserted, the appointment was not stored and can no
// longer be (b.committed stays false, undo may release); a duplicate key, the
// document exists and is read. A booked document is ours (the ID is this
// attempt's): the booking is made (b.committed). A failed one is a
// repairer's tombstone: errAbandoned. When even that cannot be learnt,
// b.undecided is set and undo releases nothing: a booking that may exist
// keeps its seat and arbiters, which repair themselves once it is known
// (arbiter.go).
func (b *booking) commit(ctx context.Context, doc *apptDoc) error {
	s := b.s
	_, err := s.appts.InsertOne(ctx, doc)
	if err == nil {
		b.committed = true
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
	defer cancel()
	if !platform.IsDuplicateKey(err) {
		tomb := apptDoc{ID: b.id, UserID: b.who.ID, Status: statusFailed, FailCode: "internal", CreatedAt: ms(s.clock.Now())}
		_, terr := s.appts.InsertOne(dctx, tomb)
		if terr == nil {
			return fmt.Errorf("insert appointment (not stored): %w", err)
		}
		if !platform.IsDuplicateKey(terr) {
			b.undecided = true
			return fmt.Errorf("insert appointment: outcome unknown, nothing released: %w (deciding it: %v)", err, terr)
		}
	}
	d, ferr := s.findAppt(dctx, b.id)
	if ferr != nil {
		b.undecided = true
		return fmt.Errorf("insert appointment: outcome unknown, nothing released: %w (reading it: %v)", err, ferr)
	}
	if d.Status == statusFailed {
		return errAbandoned
	}
	s.log.Info("appointment stored although its insert failed", "appointment", b.id, "err", err)
	b.committed = true
	return nil
}

// takeSeat inserts a seat document: the number the Redis lease names, or,
// when Redis is down, the first free number MongoDB shows. A seat document
// that already exists (Redis was behind MongoDB) sends us to the next one.
func (b *booking) takeSeat(ctx context.Context) error {
	s := b.s
	doc := func(n int) arbiterDoc {
		return arbiterDoc{ID: seatID(b.sl.ID, n), AppointmentID: b.id, UserID: b.who.ID, SlotID: b.sl.ID, Seat: n, CreatedAt: ms(s.clock.Now())}
	}
	for range b.sl.Capacity + 8 {
		if !b.haveToken {
			break
		}
		ok, err := s.acquire(ctx, s.seats, doc(b.token), holdsSeat)
		if err != nil {
			return err
		}
		if ok {
			b.seat = b.token
			return b.checkCapacity(ctx)
		}
		if err := s.pool.confirm(ctx, b.sl, b.token); err != nil { // not ours: drop it from the pool
			s.log.Warn("confirm taken seat", "err", err)
		}
		b.haveToken = false
		n, err := s.takeToken(ctx, b.sl)
		switch {
		case err == nil:
			b.token, b.haveToken = n, true
		case errors.Is(err, errFastPathDown):
		default:
			return err
		}
	}
	if b.haveToken {
		return errors.New("appointments: seat pool keeps handing out taken seats")
	}
	taken, err := s.takenSeats(ctx, []slotDef{b.sl})
	if err != nil {
		return err
	}
	// Concurrent bookings try the free seats in different orders, so they
	// rarely collide.
	for _, n := range mrand.Perm(b.sl.Capacity) {
		if taken[b.sl.ID][n] {
			continue
		}
		ok, err := s.acquire(ctx, s.seats, doc(n), holdsSeat)
		if err != nil {
			return err
		}
		if ok {
			b.seat = n
			return b.checkCapacity(ctx)
		}
	}
	return ErrSlotFull
}

// checkCapacity runs after a seat insert succeeded: the seat number must be
// below the schedule's capacity as MongoDB has it now, or below the lower
// capacity a write under way may set (change_to), not as this process's
// catalog cache had it. A writer lowering the capacity writes its marker
// first and then looks for held seats at or above it (capacity.go); with
// both sides reading after writing, either the writer sees this seat and
// refuses the change, or this booking sees the lower capacity and gives the
// seat up. The seat stays recorded in b.seat, so undo releases it.
// Errors: ErrSlotFull wrapping errNotFinal (the seat is beyond the
// capacity: not final, the catalog or pool was behind), ErrSlotClosed (the
// schedule was deleted), storage errors.
func (b *booking) checkCapacity(ctx context.Context) error {
	scheduleID, _, _, _ := parseSlotID(b.sl.ID)
	var sc struct {
		Capacity    int    `bson:"capacity"`
		ChangeToken string `bson:"change_token"`
		ChangeTo    int    `bson:"change_to"`
	}
	err := b.s.schedules.FindOne(ctx, bson.M{"_id": scheduleID}, options.FindOne().
		SetProjection(bson.M{"capacity": 1, "change_token": 1, "change_to": 1})).Decode(&sc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrSlotClosed // the schedule was deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("read schedule capacity: %w", err)
	}
	limit := sc.Capacity
	if sc.ChangeToken != "" && sc.ChangeTo < limit {
		limit = sc.ChangeTo // a lower capacity being tried (capacity.go)
	}
	if b.seat >= limit {
		return ErrSlotFull.Wrap(errNotFinal)
	}
	return nil
}

// undo releases what a failed attempt holds. It runs even when ctx was
// cancelled, and releases nothing when the appointment is stored or may be
// (see commit). First it settles the appointment ID as failed, when an
// idempotency record names it (the failed document carries the answer to
// replay) or when the cause is internal: an insert whose reply was lost may
// have taken an arbiter this attempt does not know it holds, and with its
// holder failed such an arbiter is stale at once (arbiter.go) instead of
// counting as a booking in progress for AbandonAfter.
func (b *booking) undo(ctx context.Context, cause error) {
	s := b.s
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), decideTimeout)
	defer cancel()
	if b.committed || b.undecided {
		return
	}
	if cause != nil && (b.idemInserted || Code(cause) == "") {
		code := Code(cause)
		switch {
		case errors.Is(cause, errNotFinal):
			code = "not_final" // not replayable: a retry runs again
		case code == "":
			code = "internal"
		}
		d := apptDoc{ID: b.id, UserID: b.who.ID, Status: statusFailed, FailCode: code, CreatedAt: ms(s.clock.Now())}
		if pe, ok := platform.AsError(cause); ok && !pe.Until.IsZero() {
			d.SuspendedUntil = ms(pe.Until)
		}
		if _, err := s.appts.InsertOne(ctx, d); err != nil && !platform.IsDuplicateKey(err) {
			s.log.Warn("failed booking not recorded", "appointment", b.id, "err", err)
		}
	}
	if b.seat >= 0 {
		if err := s.releaseSeat(ctx, b.sl, b.seat, b.id); err != nil {
			s.log.Warn("seat not released; it repairs itself", "err", err)
		}
		if b.haveToken && b.token == b.seat {
			b.haveToken = false // its number went with the seat, or stays leased until it expires
		}
	}
	if b.code != "" {
		_ = s.release(ctx, s.codes, b.code, b.id)
	}
	if b.limitSlot >= 0 {
		_ = s.release(ctx, s.userslots, userSlotID(b.who.ID, b.limitSlot), b.id)
	}
	if b.entSlot != "" {
		_ = s.release(ctx, s.userslots, b.entSlot, b.id)
	}
	if b.dayLock {
		_ = s.release(ctx, s.daylocks, dayLockID(b.who.ID, b.svc.ID, b.sl.Date), b.id)
	}
	if b.haveToken {
		if err := s.pool.release(ctx, b.sl, b.token); err != nil {
			s.log.Warn("seat lease not returned; it expires", "err", err)
		}
	}
}

type penaltyDoc struct {
	ID             string    `bson:"_id"`
	SuspendedUntil time.Time `bson:"suspended_until"`
}

// checkSuspension returns ErrBookingSuspended (with its end) while the
// citizen is suspended.
func (s *Service) checkSuspension(ctx context.Context, userID string) error {
	var p penaltyDoc
	err := s.penalties.FindOne(ctx, bson.M{"_id": userID}).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read penalties: %w", err)
	}
	if p.SuspendedUntil.After(s.clock.Now()) {
		return suspended(p.SuspendedUntil)
	}
	return nil
}

func newAppointmentID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "ap" + hex.EncodeToString(b)
}
