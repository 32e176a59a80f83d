package account

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"banshi/internal/platform"
)

// collEvents is the audit trail of citizens' identities: what happened to
// whose login or real-name level, when and why. It never holds a name, an ID
// number or a WeChat id; user IDs only.
const collEvents = "identity_events"

// Kinds of identity events.
const (
	// eventLoginRelinked: one of the WeChat ids of a login led to another
	// user than the person's; it now leads to the person (UserID is the user
	// it left, OtherUserID the one it leads to now, Login which id moved).
	eventLoginRelinked = "login_relinked"
)

// identityEvent is an identity_events document.
type identityEvent struct {
	ID          string    `bson:"_id"`
	Kind        string    `bson:"kind"`
	UserID      string    `bson:"user_id"`                 // whom it happened to
	OtherUserID string    `bson:"other_user_id,omitempty"` // the other user involved
	Login       string    `bson:"login,omitempty"`         // which login id: "unionid", "openid:miniprogram", "openid:app"
	LevelBefore int       `bson:"level_before,omitempty"`
	LevelAfter  int       `bson:"level_after,omitempty"`
	ProverLevel int       `bson:"prover_level,omitempty"` // the level OtherUserID proved at
	Reason      string    `bson:"reason"`
	At          time.Time `bson:"at"`
	State       string    `bson:"state,omitempty"` // revocations: pending, demoted, done, void
}

// newEventID returns "ev_" and 20 lowercase base32 characters.
func newEventID() string { return "ev_" + strings.ToLower(rand.Text()[:20]) }

// recordEvent stores ev (a duplicate _id is a retry: nothing more is stored)
// and logs it.
func (s *Store) recordEvent(ctx context.Context, ev identityEvent) error {
	if _, err := s.events.InsertOne(ctx, ev); err != nil && !platform.IsDuplicateKey(err) {
		return fmt.Errorf("account: record identity event: %w", err)
	}
	s.logEvent(ctx, ev)
	return nil
}

// logEvent logs ev as one structured line: user IDs, levels and reasons,
// never a name, an ID number or a WeChat id.
func (s *Store) logEvent(ctx context.Context, ev identityEvent) {
	attrs := []any{"event_id", ev.ID, "kind", ev.Kind, "user_id", ev.UserID, "reason", ev.Reason, "at", ev.At}
	if ev.OtherUserID != "" {
		attrs = append(attrs, "other_user_id", ev.OtherUserID)
	}
	if ev.Login != "" {
		attrs = append(attrs, "login", ev.Login)
	}
	if ev.LevelBefore != 0 {
		attrs = append(attrs, "level_before", ev.LevelBefore, "level_after", ev.LevelAfter, "prover_level", ev.ProverLevel)
	}
	s.log.InfoContext(ctx, "identity event", attrs...)
}
