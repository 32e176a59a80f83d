package staff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Entry is one audited staff action: who (Actor, Role), what (Action,
// Target, HallID, Outcome, Detail), when (At, UTC) and from where (IP).
// Actions are dotted names chosen by the caller ("appointments.checkin",
// "appointments.complete", "catalog.import", ...); Login and Logout record
// "login" and "logout" themselves. Outcome is "ok" or the error code. Detail
// must not contain citizens' personal data.
type Entry struct {
	ID      string    `json:"id" bson:"_id"`
	At      time.Time `json:"at" bson:"at"`
	Actor   string    `json:"actor" bson:"actor"`
	Role    string    `json:"role,omitempty" bson:"role,omitempty"`
	Action  string    `json:"action" bson:"action"`
	Target  string    `json:"target,omitempty" bson:"target,omitempty"`
	HallID  string    `json:"hall_id,omitempty" bson:"hall_id,omitempty"`
	IP      string    `json:"ip" bson:"ip"`
	Outcome string    `json:"outcome" bson:"outcome"`
	Detail  string    `json:"detail,omitempty" bson:"detail,omitempty"`
}

// Audit appends e to the audit log; ID and a zero At are filled in.
// Errors: ErrInvalid (no Actor or Action), or a storage error — callers
// should log it, the action itself has happened.
func (s *Service) Audit(ctx context.Context, e Entry) error {
	if strings.TrimSpace(e.Actor) == "" || strings.TrimSpace(e.Action) == "" {
		return invalid("entry", "required", "审计记录须有操作人和操作")
	}
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	e.ID = fmt.Sprintf("au%016x%s", e.At.UnixNano(), hex.EncodeToString(b))
	e.Detail = clip(e.Detail, 500)
	if _, err := s.audit.InsertOne(ctx, e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// record audits and logs a failure instead of returning it.
func (s *Service) record(ctx context.Context, e Entry) {
	if err := s.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit entry lost", "action", e.Action, "err", err)
	}
}

// AuditQuery filters ListAudit. Zero fields do not filter; Limit is 1..1000
// (default 100; more is cut to 1000), as the API accepts.
type AuditQuery struct {
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	HallID  string    `json:"hall_id"`
	Outcome string    `json:"outcome"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Limit   int       `json:"limit"`
	// Before pages: only entries after this one in the list's order
	// (older, or as old with a lower ID); nil from the newest.
	Before *AuditCursor `json:"-"`
}

// AuditCursor is an entry's place in the audit list (its At and ID): the
// last entry of a page, from which the next page starts.
type AuditCursor struct {
	At time.Time
	ID string
}

// ListAudit returns matching entries, newest first. Errors: storage only.
func (s *Service) ListAudit(ctx context.Context, q AuditQuery) ([]Entry, error) {
	f := bson.M{}
	if q.Actor != "" {
		f["actor"] = q.Actor
	}
	if q.Action != "" {
		f["action"] = q.Action
	}
	if q.Target != "" {
		f["target"] = q.Target
	}
	if q.HallID != "" {
		f["hall_id"] = q.HallID
	}
	if q.Outcome != "" {
		f["outcome"] = q.Outcome
	}
	if b := q.Before; b != nil {
		at := b.At.UTC().Truncate(time.Millisecond)
		f["$or"] = bson.A{bson.M{"at": bson.M{"$lt": at}}, bson.M{"at": at, "_id": bson.M{"$lt": b.ID}}}
	}
	at := bson.M{}
	if !q.Since.IsZero() {
		at["$gte"] = q.Since.UTC()
	}
	if !q.Until.IsZero() {
		at["$lt"] = q.Until.UTC()
	}
	if len(at) > 0 {
		f["at"] = at
	}
	switch {
	case q.Limit <= 0:
		q.Limit = 100
	case q.Limit > 1000:
		q.Limit = 1000
	}
	cur, err := s.audit.Find(ctx, f, options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	out := []Entry{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	for i := range out {
		out[i].At = platform.Local(out[i].At)
	}
	return out, nil
}
