package appointments

import "time"

// Appointment statuses. "failed" is internal: a booking that did not finish
// (its document records the answer for idempotent replays) or was abandoned.
const (
	StatusBooked    = "booked"
	StatusCancelled = "cancelled"
	StatusCheckedIn = "checked_in"
	StatusCompleted = "completed"
	StatusNoShow    = "no_show"
	statusFailed    = "failed"
)

// apptDoc is an appointment as stored (collection "appointments"). Times UTC.
type apptDoc struct {
	ID             string     `bson:"_id"`
	UserID         string     `bson:"user_id,omitempty"`
	HallID         string     `bson:"hall_id,omitempty"`
	DepartmentID   string     `bson:"department_id,omitempty"`
	ServiceID      string     `bson:"service_id,omitempty"`
	SlotID         string     `bson:"slot_id,omitempty"`
	Capacity       int        `bson:"capacity,omitempty"`
	Seat           int        `bson:"seat"`
	LimitSlot      int        `bson:"limit_slot"`
	Date           string     `bson:"date,omitempty"`
	Start          time.Time  `bson:"start"`
	End            time.Time  `bson:"end"`
	Status         string     `bson:"status"`
	FailCode       string     `bson:"fail_code,omitempty"`
	SuspendedUntil time.Time  `bson:"suspended_until,omitempty"`
	CheckinCode    string     `bson:"checkin_code,omitempty"`
	QueueNumber    string     `bson:"queue_number,omitempty"`
	CreatedAt      time.Time  `bson:"created_at"`
	CancelledAt    *time.Time `bson:"cancelled_at,omitempty"`
	CancelledBy    string     `bson:"cancelled_by,omitempty"`  // a staff ID, cancelledBySystem, or "" (the citizen)
	CancelReason   string     `bson:"cancel_reason,omitempty"` // shown to the citizen
	Released       bool       `bson:"released"`
	CheckedInAt    *time.Time `bson:"checked_in_at,omitempty"`
	CheckedInBy    string     `bson:"checked_in_by,omitempty"`
	CompletedAt    *time.Time `bson:"completed_at,omitempty"`
	CompletedBy    string     `bson:"completed_by,omitempty"`
	NoShowAt       *time.Time `bson:"no_show_at,omitempty"`
	Penalized      bool       `bson:"penalized"`
	OnBehalfOf     string     `bson:"on_behalf_of,omitempty"` // the enterprise's USCC when booked for one
	EntSlotID      string     `bson:"ent_slot_id,omitempty"`  // the enterprise's day slot it holds
	Reminded       bool       `bson:"reminded"`               // the day-before reminder was published
	RemindedSoon   bool       `bson:"reminded_2h"`            // the 2-hours-before reminder was published
	// Queue calling (queue.go): the counter (window) that called the
	// checked-in citizen, when, how often, and whether it was skipped.
	CallState string     `bson:"call_state,omitempty"` // "", queueCalled, queueSkipped
	Window    string     `bson:"window,omitempty"`
	CalledAt  *time.Time `bson:"called_at,omitempty"`
	CalledBy  string     `bson:"called_by,omitempty"`
	CallCount int        `bson:"call_count,omitempty"`
	// Notice is the kind of message a state change still owes the citizen
	// (KindBooked, KindCancelled): written with the change, removed once the
	// message is published, so a crash in between never loses it.
	Notice string `bson:"notice,omitempty"`
}

// Appointment is a citizen's booking as the citizen API returns it. Times are
// RFC 3339 in Asia/Shanghai (+08:00).
type Appointment struct {
	ID             string      `json:"id"`
	Status         string      `json:"status"`
	HallID         string      `json:"hall_id"`
	HallName       string      `json:"hall_name"`
	DepartmentID   string      `json:"department_id"`
	DepartmentName string      `json:"department_name"`
	ServiceID      string      `json:"service_id"`
	ServiceName    string      `json:"service_name"`
	Date           string      `json:"date"`
	Slot           SlotTime    `json:"slot"`
	CheckinCode    string      `json:"checkin_code"`
	CheckinQR      string      `json:"checkin_qr"`
	QueueNumber    string      `json:"queue_number,omitempty"`
	CreatedAt      time.Time   `json:"created_at"`
	CancelledAt    *time.Time  `json:"cancelled_at,omitempty"`
	CancelReason   string      `json:"cancel_reason,omitempty"` // when the hall cancelled it
	CheckedInAt    *time.Time  `json:"checked_in_at,omitempty"`
	CompletedAt    *time.Time  `json:"completed_at,omitempty"`
	NoShowAt       *time.Time  `json:"no_show_at,omitempty"`
	OnBehalfOf     *OnBehalfOf `json:"on_behalf_of,omitempty"` // the enterprise it was booked for
}

// SlotTime is the time of an appointment.
type SlotTime struct {
	ID    string    `json:"id"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func local(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	l := t.In(shanghai())
	return &l
}

// view turns a stored appointment into its API form, names from cat.
func (s *Service) view(cat *catalog, d *apptDoc) Appointment {
	a := Appointment{
		ID: d.ID, Status: d.Status, HallID: d.HallID, DepartmentID: d.DepartmentID,
		ServiceID: d.ServiceID, Date: d.Date,
		Slot:        SlotTime{ID: d.SlotID, Start: d.Start.In(shanghai()), End: d.End.In(shanghai())},
		CheckinCode: d.CheckinCode, CheckinQR: s.qrPayload(d), QueueNumber: d.QueueNumber,
		CreatedAt:   d.CreatedAt.In(shanghai()),
		CancelledAt: local(d.CancelledAt), CancelReason: d.CancelReason, CheckedInAt: local(d.CheckedInAt),
		CompletedAt: local(d.CompletedAt), NoShowAt: local(d.NoShowAt),
	}
	if d.OnBehalfOf != "" {
		a.OnBehalfOf = &OnBehalfOf{USCC: d.OnBehalfOf}
	}
	if cat != nil {
		if h := cat.halls[d.HallID]; h != nil {
			a.HallName = h.Name
		}
		if dp := cat.depts[d.DepartmentID]; dp != nil {
			a.DepartmentName = dp.Name
		}
		if v := cat.services[d.ServiceID]; v != nil {
			a.ServiceName = v.Name
		}
	}
	return a
}

// firstAnswer is the appointment as Book answered when it was made: what an
// idempotent replay returns even after later changes.
func (s *Service) firstAnswer(cat *catalog, d *apptDoc) Appointment {
	a := s.view(cat, d)
	a.Status = StatusBooked
	a.QueueNumber = ""
	a.CancelledAt, a.CheckedInAt, a.CompletedAt, a.NoShowAt = nil, nil, nil, nil
	a.CancelReason = ""
	return a
}
