package evaluations

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"banshi/internal/platform"
)

// Collections.
const (
	collEvaluations = "evaluations"      // evalDoc, _id evalID(kind, key, sequence)
	collTickets     = "eval_tickets"     // ticketDoc, _id = the evaluation's
	collCursors     = "eval_sweep_marks" // cursorDoc, _id = subject kind
)

// Evaluator kinds.
const (
	EvaluatorPerson     = "person"
	EvaluatorEnterprise = "enterprise"
)

// evaluatorDoc is who rated: a citizen (user id and, for an application of
// a person, the blind index of the ID number), or an enterprise by USCC with
// the member who acted. Never a name or an ID number.
type evaluatorDoc struct {
	Type    string `bson:"type"`
	UserID  string `bson:"user_id,omitempty"`
	IDIndex string `bson:"id_index,omitempty"`
	USCC    string `bson:"uscc,omitempty"`
}

// evalDoc is an evaluation record (GB/T 39046 table 9 fields and the
// provincial ones).
type evalDoc struct {
	ID          string       `bson:"_id"` // evalID(kind, subject key, sequence)
	Kind        string       `bson:"kind"`
	SubjectKey  string       `bson:"subject_key"`
	SubjectRef  string       `bson:"subject_ref"`
	Source      string       `bson:"source,omitempty"`
	Sequence    int          `bson:"sequence"`
	ResultID    string       `bson:"result_id"`
	ResultAt    time.Time    `bson:"result_at"`
	Level       string       `bson:"level"`
	Indicators  []string     `bson:"indicators"`
	Text        string       `bson:"text,omitempty"`
	Default     bool         `bson:"default"`
	Effective   bool         `bson:"effective"`
	Channel     string       `bson:"channel"`
	Mode        string       `bson:"mode"`
	ServiceCode string       `bson:"service_code"`
	ServiceName string       `bson:"service_name,omitempty"`
	Department  string       `bson:"department"`
	DeptName    string       `bson:"department_name,omitempty"`
	HallID      string       `bson:"hall_id,omitempty"`
	StaffID     string       `bson:"staff_id,omitempty"`
	Region      string       `bson:"region"`
	Evaluator   evaluatorDoc `bson:"evaluator"`
	CreatedAt   time.Time    `bson:"created_at"`
	// TicketPending: a 差评 whose ticket is not yet known to exist (set with
	// the insert, cleared once the ticket is stored; the sweeper opens what
	// a crash left).
	TicketPending bool `bson:"ticket_pending"`
}

// evalID is the _id of the evaluation of subject (kind, key) with sequence
// seq: deterministic, so that it is the arbiter of (subject, sequence), and
// safe in a URL path (tickets are addressed by it): "ev" and 32 hex digits
// of the SHA-256 of "<kind>:<key>#<seq>".
func evalID(kind, key string, seq int) string {
	sum := sha256.Sum256([]byte(kind + ":" + key + "#" + strconv.Itoa(seq)))
	return "ev" + hex.EncodeToString(sum[:16])
}

// Evaluation is an evaluation as its citizen and staff see it.
type Evaluation struct {
	ID          string     `json:"id"`
	Subject     SubjectRef `json:"subject"`
	Sequence    int        `json:"sequence"`
	Level       string     `json:"level"`
	LevelName   string     `json:"level_name"`
	Indicators  []string   `json:"indicators"`
	Text        string     `json:"text,omitempty"`
	Default     bool       `json:"default"`
	Effective   bool       `json:"effective"`
	Channel     string     `json:"channel"`
	Mode        string     `json:"mode"`
	ServiceCode string     `json:"service_code"`
	ServiceName string     `json:"service_name,omitempty"`
	Department  string     `json:"department"`
	DeptName    string     `json:"department_name,omitempty"`
	HallID      string     `json:"hall_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	// Ticket is the rectification of a 差评 as the citizen may follow it:
	// its state and the department's reply.
	Ticket *TicketSummary `json:"ticket,omitempty"`
}

// SubjectRef names what was evaluated.
type SubjectRef struct {
	Kind          string `json:"kind"`
	ApplicationNo string `json:"application_no,omitempty"`
	Source        string `json:"source,omitempty"`
	AppointmentID string `json:"appointment_id,omitempty"`
}

// TicketSummary is a ticket as the citizen sees it.
type TicketSummary struct {
	State     string     `json:"state"`
	Reply     string     `json:"reply,omitempty"`
	RepliedAt *time.Time `json:"replied_at,omitempty"`
}

func (d evalDoc) view() Evaluation {
	ref := SubjectRef{Kind: d.Kind}
	if d.Kind == KindApplication {
		ref.ApplicationNo, ref.Source = d.SubjectRef, d.Source
	} else {
		ref.AppointmentID = d.SubjectRef
	}
	ind := d.Indicators
	if ind == nil {
		ind = []string{}
	}
	return Evaluation{ID: d.ID, Subject: ref, Sequence: d.Sequence, Level: d.Level, LevelName: LevelName(d.Level),
		Indicators: ind, Text: d.Text, Default: d.Default, Effective: d.Effective, Channel: d.Channel,
		Mode: d.Mode, ServiceCode: d.ServiceCode, ServiceName: d.ServiceName, Department: d.Department,
		DeptName: d.DeptName, HallID: d.HallID, CreatedAt: platform.Local(d.CreatedAt)}
}
