package evaluations

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// MaxText is the most characters an evaluation's text may have.
const MaxText = 500

// Request is a citizen's evaluation (POST /api/v1/evaluations).
type Request struct {
	Subject    RequestSubject `json:"subject"`
	Level      string         `json:"level"`
	Indicators []string       `json:"indicators"`
	Text       string         `json:"text"`
}

// RequestSubject names what is rated: an application (by number, and the
// department system when departments share numbers) or an appointment.
type RequestSubject struct {
	ApplicationNo string `json:"application_no,omitempty"`
	Source        string `json:"source,omitempty"`
	AppointmentID string `json:"appointment_id,omitempty"`
}

var (
	refPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// Validate checks r without reading anything and returns the subject's kind
// and mode. Errors: platform.Invalid naming the field:
//
//   - subject: exactly one of application_no and appointment_id (1–64 of
//     [A-Za-z0-9_-]); source only with application_no;
//   - level: one of Levels;
//   - indicators: distinct codes of the level's set for the subject's mode
//     (IndicatorCodes); at least one for a 差评;
//   - text: at most MaxText characters, no control characters but newlines.
func (r Request) Validate() (kind, mode string, err error) {
	sub := r.Subject
	switch {
	case sub.ApplicationNo != "" && sub.AppointmentID != "", sub.ApplicationNo == "" && sub.AppointmentID == "":
		return "", "", platform.Invalid("subject", "one_of", "请指定一个评价对象：办件编号或预约编号")
	case sub.AppointmentID != "":
		kind, mode = KindAppointment, ModeOnsite
		if !refPattern.MatchString(sub.AppointmentID) {
			return "", "", platform.Invalid("subject.appointment_id", "format", "预约编号格式错误")
		}
		if sub.Source != "" {
			return "", "", platform.Invalid("subject.source", "not_allowed", "预约无需指定部门系统")
		}
	default:
		kind, mode = KindApplication, ModeOnline
		if !refPattern.MatchString(sub.ApplicationNo) {
			return "", "", platform.Invalid("subject.application_no", "format", "办件编号格式错误")
		}
		if sub.Source != "" && !platform.ValidCatalogID(sub.Source) {
			return "", "", platform.Invalid("subject.source", "format", "部门系统编号格式错误")
		}
	}
	if !ValidLevel(r.Level) {
		return "", "", platform.Invalid("level", "enum", "评价等级应为 very_satisfied、satisfied、basic、dissatisfied 或 very_dissatisfied")
	}
	set := IndicatorCodes(r.Level, mode)
	if len(r.Indicators) > len(set) {
		return "", "", platform.Invalid("indicators", "length", "评价指标过多")
	}
	for i, code := range r.Indicators {
		field := "indicators[" + strconv.Itoa(i) + "]"
		if !slices.Contains(set, code) {
			return "", "", platform.Invalid(field, "not_in_level_set", "该评价指标不属于所选等级的指标")
		}
		if slices.Contains(r.Indicators[:i], code) {
			return "", "", platform.Invalid(field, "duplicate", "评价指标重复")
		}
	}
	if Bad(r.Level) && len(r.Indicators) == 0 {
		return "", "", platform.Invalid("indicators", "required", "差评请至少选择一项不满意的指标")
	}
	if !utf8.ValidString(r.Text) {
		return "", "", platform.Invalid("text", "format", "评价内容含有无效字符")
	}
	if utf8.RuneCountInString(r.Text) > MaxText {
		return "", "", platform.Invalid("text", "length", "评价内容不能超过 "+strconv.Itoa(MaxText)+" 字")
	}
	for _, c := range r.Text {
		if unicode.IsControl(c) && c != '\n' {
			return "", "", platform.Invalid("text", "format", "评价内容含有控制字符")
		}
	}
	return kind, mode, nil
}

// Evaluate records userID's evaluation of a finished application or a
// completed appointment, channel mobile. The subject must be the citizen's:
// the appointment they booked; an application of the ID number they proved
// (level 3 or more) or of an enterprise they act for. A result is rated once:
// sequence 1, and sequence 2 only after a new final result that came after
// evaluation 1; never a third. Of concurrent evaluations of one result
// exactly one is stored (the unique _id decides). A 差评 opens its
// rectification ticket.
//
// Errors: platform.Invalid (Validate), ErrSubjectNotFound (unknown or
// someone else's), ErrUnfinished, ErrAlreadyEvaluated, storage errors.
// Nothing is stored on any of them but a storage error after the insert
// (the evaluation stands; the sweeper opens its ticket).
func (s *Service) Evaluate(ctx context.Context, userID string, r Request) (Evaluation, error) {
	kind, mode, err := r.Validate()
	if err != nil {
		return Evaluation{}, err
	}
	sub, who, err := s.resolve(ctx, userID, kind, r.Subject)
	if err != nil {
		return Evaluation{}, err
	}
	if !sub.Finished {
		return Evaluation{}, ErrUnfinished
	}
	seq, err := s.nextSequence(ctx, sub)
	if err != nil {
		return Evaluation{}, err
	}
	ind := r.Indicators
	if ind == nil {
		ind = []string{}
	}
	d := s.record(sub, seq, who)
	d.Level, d.Indicators, d.Text, d.Channel, d.Mode = r.Level, ind, r.Text, ChannelMobile, mode
	d.TicketPending = Bad(r.Level)
	if err := s.insert(ctx, d); err != nil {
		return Evaluation{}, err
	}
	v := d.view()
	if d.TicketPending {
		t, err := s.openTicket(ctx, d)
		if err != nil {
			s.log.WarnContext(ctx, "rectification ticket not opened; the sweeper opens it", "evaluation", d.ID, "err", err)
		} else {
			v.Ticket = t.summary()
		}
	}
	return v, nil
}

// resolve finds the subject r names among those userID may rate, and who
// rates it.
func (s *Service) resolve(ctx context.Context, userID, kind string, r RequestSubject) (Subject, evaluatorDoc, error) {
	if kind == KindAppointment {
		sub, ok, err := s.subjects.Appointment(ctx, r.AppointmentID)
		if err != nil {
			return Subject{}, evaluatorDoc{}, err
		}
		if !ok || sub.UserID == "" || sub.UserID != userID {
			return Subject{}, evaluatorDoc{}, ErrSubjectNotFound
		}
		return sub, evaluatorDoc{Type: EvaluatorPerson, UserID: userID}, nil
	}
	list, err := s.subjects.Applications(ctx, r.ApplicationNo, r.Source)
	if err != nil {
		return Subject{}, evaluatorDoc{}, err
	}
	var idx string
	var idxRead bool
	for _, sub := range list {
		switch {
		case sub.IDIndex != "":
			if !idxRead {
				if idx, err = s.ids.ProvenIndex(ctx, userID); err != nil {
					return Subject{}, evaluatorDoc{}, err
				}
				idxRead = true
			}
			if idx != "" && idx == sub.IDIndex {
				return sub, evaluatorDoc{Type: EvaluatorPerson, UserID: userID, IDIndex: idx}, nil
			}
		case sub.USCC != "" && s.acting != nil:
			ok, err := s.acting.ActsFor(ctx, userID, sub.USCC)
			if err != nil {
				return Subject{}, evaluatorDoc{}, err
			}
			if ok {
				return sub, evaluatorDoc{Type: EvaluatorEnterprise, UserID: userID, USCC: sub.USCC}, nil
			}
		}
	}
	return Subject{}, evaluatorDoc{}, ErrSubjectNotFound
}

// nextSequence is the sequence an evaluation of sub's current result takes:
// 1 when none exists; 2 when evaluation 1 rated another result and the
// current one came after it; else ErrAlreadyEvaluated.
func (s *Service) nextSequence(ctx context.Context, sub Subject) (int, error) {
	first, err := s.find(ctx, evalID(sub.Kind, sub.Key, 1))
	if err != nil {
		return 0, err
	}
	if first == nil {
		return 1, nil
	}
	if first.ResultID == sub.ResultID || !sub.ResultAt.After(first.CreatedAt) {
		return 0, ErrAlreadyEvaluated
	}
	second, err := s.find(ctx, evalID(sub.Kind, sub.Key, 2))
	if err != nil {
		return 0, err
	}
	if second != nil {
		return 0, ErrAlreadyEvaluated
	}
	return 2, nil
}

// record is the evaluation of sub's current result with sequence seq,
// without level, indicators, text, channel and mode.
func (s *Service) record(sub Subject, seq int, who evaluatorDoc) evalDoc {
	return evalDoc{
		ID: evalID(sub.Kind, sub.Key, seq), Kind: sub.Kind, SubjectKey: sub.Key, SubjectRef: sub.Ref,
		Source: sub.Source, Sequence: seq, ResultID: sub.ResultID, ResultAt: sub.ResultAt.UTC(),
		Effective: true, ServiceCode: sub.ServiceCode, ServiceName: sub.ServiceName,
		Department: sub.Department, DeptName: sub.DeptName, HallID: sub.HallID, StaffID: sub.StaffID,
		Region: s.cfg.Region, Evaluator: who, CreatedAt: s.now(),
	}
}

// insert stores d; a duplicate _id (a racing evaluation or default of the
// same result) is ErrAlreadyEvaluated.
func (s *Service) insert(ctx context.Context, d evalDoc) error {
	_, err := s.evals.InsertOne(ctx, d)
	if platform.IsDuplicateKey(err) {
		return ErrAlreadyEvaluated
	}
	if err != nil {
		return fmt.Errorf("store evaluation: %w", err)
	}
	s.metrics.rated(d)
	return nil
}

// find reads one evaluation by _id; nil when there is none.
func (s *Service) find(ctx context.Context, id string) (*evalDoc, error) {
	var d evalDoc
	err := s.evals.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read evaluation: %w", err)
	}
	return &d, nil
}
