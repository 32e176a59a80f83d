package evaluations

import (
	"context"
	"time"
)

// Subject kinds.
const (
	KindApplication = "application" // 办件, rated online (一事一评)
	KindAppointment = "appointment" // a hall visit, rated on site (一次一评)
)

// Subject is an application or an appointment as its feature describes it
// to evaluations (wired in cmd/banshi).
type Subject struct {
	Kind        string
	Key         string // unique among subjects of its kind: "<source>|<application_no>", the appointment id
	Ref         string // what citizens name it by: the application number, the appointment id
	Source      string // an application's department system (integration id)
	Finished    bool   // a final status; a completed appointment
	ResultID    string // identifies the current result (the event that gave the status; "completed")
	ResultAt    time.Time
	ServiceCode string
	ServiceName string
	Department  string // department id: an application's source, an appointment's department
	DeptName    string
	HallID      string
	StaffID     string // who served (an appointment's completer), "" when unknown
	// Who may rate it: the citizen who booked (appointments); the person
	// by the blind index of the ID number, or the enterprise (applications).
	UserID  string
	IDIndex string
	USCC    string
	// SweepAt orders subjects for the default-rating sweep (an
	// application's last change, an appointment's completion).
	SweepAt time.Time
}

// Subjects reads applications and appointments.
type Subjects interface {
	// Applications returns the applications numbered no (of source when it
	// is not ""), most recently changed first.
	Applications(ctx context.Context, no, source string) ([]Subject, error)
	// Appointment returns the appointment id; ok false when unknown.
	Appointment(ctx context.Context, id string) (s Subject, ok bool, err error)
	// Finished lists finished subjects of kind after (afterAt, afterKey) in
	// the order (SweepAt, Key), with SweepAt not after before, at most limit.
	Finished(ctx context.Context, kind string, afterAt time.Time, afterKey string, before time.Time, limit int) ([]Subject, error)
}

// Acting says whether a citizen acts for an enterprise (its legal
// representative, an administrator or an agent); the lead wires it to
// enterprises.
type Acting interface {
	ActsFor(ctx context.Context, userID, uscc string) (bool, error)
}

// Identities gives the blind index of the ID number a citizen proved (level
// 3 or more), "" when none.
type Identities interface {
	ProvenIndex(ctx context.Context, userID string) (string, error)
}

// Calendar counts working days of the public holiday calendar.
type Calendar interface {
	// AddWorkingDays returns the end of the n-th working day after from's
	// date (Asia/Shanghai).
	AddWorkingDays(ctx context.Context, from time.Time, n int) (time.Time, error)
}
