package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/notify"
)

// Notifier takes the in-app messages the store sends citizens
// (*notify.Inbox implements it). Message IDs are deterministic, so
// delivering one twice must be harmless.
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
}

// SessionEnder ends every session of a user (*session.Store implements it).
type SessionEnder interface {
	RevokeAll(ctx context.Context, userID string) (int, error)
}

// WithNotifier makes the store tell citizens, in their inbox, that their
// declaration was revoked.
func WithNotifier(n Notifier) Option { return func(s *Store) { s.notifier = n } }

// WithSessions makes the store end the sessions of a citizen whose
// declaration was revoked, so no session keeps the level they lost.
func WithSessions(e SessionEnder) Option { return func(s *Store) { s.sessions = e } }

// eventDeclarationRevoked: a proof by another user took the ID number a
// user had only declared; the user lost the declaration (UserID the
// declarer, OtherUserID the prover, levels before and after).
const eventDeclarationRevoked = "realname_declaration_revoked"

// reasonProvenByAnother is the reason of eventDeclarationRevoked.
const reasonProvenByAnother = "id_number_proven_by_another_user"

// States of a revocation event.
const (
	revocationPending = "pending" // recorded by a proof about to take the number
	revocationDemoted = "demoted" // the declarer lost the identity and the level
	revocationDone    = "done"    // told and signed out too
	revocationVoid    = "void"    // nothing was revoked (the declaration changed first)
)

// revocationGrace is how old a revocation must be before the sweeper
// finishes it: the proof that recorded it finishes it itself within
// writeTimeout unless its process died.
const revocationGrace = 2 * time.Minute

// startRevocation records, before the proof of proverID (at proverLevel)
// replaces the declaration of declarer (the holder of claim holderID), the
// revocation the proof is about to cause, pending. It returns its ID.
func (s *Store) startRevocation(ctx context.Context, declarer userDoc, holderID, proverID string, proverLevel int) (string, error) {
	before := declarer.Level
	if before < minLevel {
		before = minLevel
	}
	ev := identityEvent{
		ID: newEventID(), Kind: eventDeclarationRevoked, UserID: holderID, OtherUserID: proverID,
		LevelBefore: before, LevelAfter: minLevel, ProverLevel: proverLevel,
		Reason: reasonProvenByAnother, At: s.now(), State: revocationPending,
	}
	if _, err := s.events.InsertOne(ctx, ev); err != nil {
		return "", fmt.Errorf("account: record revocation: %w", err)
	}
	return ev.ID, nil
}

// voidRevocation marks a pending revocation as void: its proof did not take
// the number.
func (s *Store) voidRevocation(ctx context.Context, id string) error {
	_, err := s.events.UpdateOne(ctx, bson.M{"_id": id, "state": revocationPending},
		bson.M{"$set": bson.M{"state": revocationVoid}})
	if err != nil {
		return fmt.Errorf("account: void revocation: %w", err)
	}
	return nil
}

// finishRevocationLogged is finishRevocation for a proof's own revocation:
// a failure is logged and left to the sweeper.
func (s *Store) finishRevocationLogged(ctx context.Context, id string) {
	if err := s.finishRevocation(ctx, id); err != nil {
		s.log.WarnContext(ctx, "revocation of a declaration unfinished; the sweeper retries", "event_id", id, "err", err)
	}
}

// finishRevocation completes the revocation id. Idempotent, and safe to run
// concurrently with itself and with the declarer's own requests; every step
// is conditional:
//
//  1. pending: when the declarer still has a declared (not proven) identity
//     whose claim is no longer theirs, the identity is removed and the level
//     set to 1, marking the user with the event (revoked_by); otherwise
//     nothing was revoked and the event is void.
//  2. demoted: the declarer is told in the inbox, their sessions end (no
//     session keeps the lost level), the event is logged as one PII-free
//     line, and marked done.
func (s *Store) finishRevocation(ctx context.Context, id string) error {
	var ev identityEvent
	if err := s.events.FindOne(ctx, bson.M{"_id": id}).Decode(&ev); err != nil {
		return fmt.Errorf("account: read revocation: %w", err)
	}
	if ev.State == revocationPending {
		demoted, levelBefore, err := s.demote(ctx, ev)
		if err != nil {
			return err
		}
		if !demoted {
			return s.voidRevocation(ctx, id)
		}
		ev.State, ev.LevelBefore = revocationDemoted, levelBefore
	}
	if ev.State != revocationDemoted {
		return nil
	}
	if s.notifier != nil {
		err := s.notifier.Notify(ctx, notify.Message{
			ID: eventDeclarationRevoked + ":" + ev.ID, UserID: ev.UserID, Kind: eventDeclarationRevoked,
			Title: "实名登记已撤销",
			Body:  "您登记的身份证号已由其本人通过实名认证，您的登记已撤销，实名认证等级恢复为1级，请重新登录。如需继续办理业务，请使用您本人的身份信息重新认证。",
			Data:  map[string]string{"realname_level": fmt.Sprint(minLevel)},
		})
		if err != nil {
			return fmt.Errorf("account: tell of revocation: %w", err)
		}
	}
	if s.sessions != nil {
		if _, err := s.sessions.RevokeAll(ctx, ev.UserID); err != nil {
			return fmt.Errorf("account: end sessions after revocation: %w", err)
		}
	}
	res, err := s.events.UpdateOne(ctx, bson.M{"_id": id, "state": revocationDemoted},
		bson.M{"$set": bson.M{"state": revocationDone, "done_at": s.now()}})
	if err != nil {
		return fmt.Errorf("account: finish revocation: %w", err)
	}
	if res.ModifiedCount == 1 {
		s.logEvent(ctx, ev)
	}
	return nil
}

// demote removes the declared identity of ev's user when its claim is no
// longer theirs, and reports whether the user is (now, or by an earlier run
// of ev) demoted by ev, with the level they had.
func (s *Store) demote(ctx context.Context, ev identityEvent) (bool, int, error) {
	d, err := s.load(ctx, ev.UserID)
	if errors.Is(err, ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	if d.RevokedBy == ev.ID {
		return true, ev.LevelBefore, s.markDemoted(ctx, ev.ID, ev.LevelBefore)
	}
	if d.IDIndex == "" || d.Level >= provenLevel {
		return false, 0, nil
	}
	var c claimDoc
	err = s.claims.FindOne(ctx, bson.M{"_id": d.IDIndex}).Decode(&c)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return false, 0, fmt.Errorf("account: read id number claim: %w", err)
	}
	if err == nil && c.UserID == d.ID {
		return false, 0, nil // still theirs: the proof did not take it
	}
	var before userDoc
	err = s.users.FindOneAndUpdate(ctx,
		bson.M{"_id": d.ID, "id_index": d.IDIndex, "level": bson.M{"$lt": provenLevel}},
		bson.M{"$unset": unsetIdentity(), "$set": bson.M{"level": minLevel, "revoked_by": ev.ID, "updated_at": s.now()}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, 0, nil // changed meanwhile (undone by its own raise, or proven)
	}
	if err != nil {
		return false, 0, fmt.Errorf("account: revoke declaration: %w", err)
	}
	return true, before.Level, s.markDemoted(ctx, ev.ID, before.Level)
}

func (s *Store) markDemoted(ctx context.Context, id string, levelBefore int) error {
	_, err := s.events.UpdateOne(ctx, bson.M{"_id": id, "state": revocationPending},
		bson.M{"$set": bson.M{"state": revocationDemoted, "level_before": levelBefore}})
	if err != nil {
		return fmt.Errorf("account: record revocation: %w", err)
	}
	return nil
}

// FinishRevocations completes the revocations of declarations that their
// proofs left unfinished (the process died, or the inbox or Redis failed),
// at most 100 a call, and returns how many it finished. Run it periodically
// (RunRevocationSweeper); idempotent and safe from any number of processes.
func (s *Store) FinishRevocations(ctx context.Context) (int, error) {
	cur, err := s.events.Find(ctx, bson.M{
		"kind":  eventDeclarationRevoked,
		"state": bson.M{"$in": []string{revocationPending, revocationDemoted}},
		"at":    bson.M{"$lte": s.now().Add(-revocationGrace)},
	}, options.Find().SetLimit(100).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return 0, fmt.Errorf("account: find unfinished revocations: %w", err)
	}
	var evs []identityEvent
	if err := cur.All(ctx, &evs); err != nil {
		return 0, fmt.Errorf("account: find unfinished revocations: %w", err)
	}
	n := 0
	for _, ev := range evs {
		if err := s.finishRevocation(ctx, ev.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RunRevocationSweeper calls FinishRevocations every interval (a minute
// when every is not positive) until ctx ends, logging what it did.
func (s *Store) RunRevocationSweeper(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.FinishRevocations(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "revocation sweep", "err", err, "finished", n)
		case n > 0:
			s.log.InfoContext(ctx, "revocation sweep", "finished", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
