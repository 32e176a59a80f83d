package enterprises

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Audit actions.
const (
	AuditAppoint  = "appoint_administrator"
	AuditInvite   = "invite_agent"
	AuditAccept   = "accept"
	AuditDecline  = "decline"
	AuditWithdraw = "withdraw"
	AuditRevoke   = "revoke"
	AuditCascade  = "revoke_cascade" // revoked because its grantor was
	AuditValidity = "change_validity"
)

// maxAuditListed bounds one page of the audit trail.
const maxAuditListed = 200

// auditDoc is an enterprise_audit document: user ids, the member's masked
// name, no personal data in clear. Its _id is "<member id>|<version>", so
// a change retried (or a cascade finished twice) is recorded once.
type auditDoc struct {
	ID         string     `bson:"_id"`
	USCC       string     `bson:"uscc"`
	At         time.Time  `bson:"at"`
	Actor      string     `bson:"actor"` // user id; "system" for a cascade
	Action     string     `bson:"action"`
	MemberID   string     `bson:"member_id"`
	Role       string     `bson:"role"`
	NameMasked string     `bson:"name_masked"`
	ValidUntil *time.Time `bson:"valid_until,omitempty"`
}

// AuditEntry is one change of an enterprise's members.
type AuditEntry struct {
	At         time.Time
	Actor      string
	Action     string
	MemberID   string
	Role       string
	NameMasked string
	ValidUntil *time.Time
}

// record writes the audit entry of d's change to its current version. The
// change is made already: a failure is logged (the trail then lacks it) and
// not returned, since the caller cannot undo the change.
func (s *Service) record(ctx context.Context, actor, action string, d memberDoc) {
	doc := auditDoc{ID: fmt.Sprintf("%s|%d", d.ID, d.Version), USCC: d.USCC, At: s.now(), Actor: actor, Action: action,
		MemberID: d.ID, Role: d.Role, NameMasked: d.NameMasked, ValidUntil: d.ValidUntil}
	if _, err := s.audit.InsertOne(ctx, doc); err != nil && !platform.IsDuplicateKey(err) {
		s.log.ErrorContext(ctx, "enterprise audit record lost", "err", err, "uscc", d.USCC, "member_id", d.ID, "action", action)
	}
	s.log.InfoContext(ctx, "enterprise member changed", "uscc", d.USCC, "member_id", d.ID, "action", action, "actor", actor, "role", d.Role)
}

// Audit returns the enterprise's audit trail, newest first (at most 200),
// to its legal representative. Errors: ErrNotMember, ErrNotPermitted (an
// administrator or agent), storage errors.
func (s *Service) Audit(ctx context.Context, userID, uscc string) ([]AuditEntry, error) {
	a, err := s.ActorOf(ctx, userID, uscc)
	if err != nil {
		return nil, err
	}
	if a.Role != RoleLegalRepresentative {
		return nil, ErrNotPermitted
	}
	cur, err := s.audit.Find(ctx, bson.M{"uscc": a.USCC},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(maxAuditListed))
	if err != nil {
		return nil, fmt.Errorf("enterprises: read audit: %w", err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("enterprises: read audit: %w", err)
	}
	out := make([]AuditEntry, len(docs))
	for i, d := range docs {
		out[i] = AuditEntry{At: d.At, Actor: d.Actor, Action: d.Action, MemberID: d.MemberID, Role: d.Role,
			NameMasked: d.NameMasked, ValidUntil: d.ValidUntil}
	}
	return out, nil
}

// now is the clock's time as MongoDB keeps it.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(timePrecision) }
