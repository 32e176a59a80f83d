package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// deletedLevel is the level of a deleted person's tombstone: below any
// citizen's, so no rule that asks for a level is ever met by it.
const deletedLevel = 0

// BeginForget starts erasing a person (PIPL art. 47): the user document is
// marked deleted and loses its WeChat ids, and every login id leading to
// it is removed, so the person's next login creates a new account.
// Idempotent: a resumed deletion calls it again. ErrNotFound when there is
// no such user. The user document itself stays, as a tombstone without
// personal data once FinishForget ran, so that the records other duties
// keep (payments, applications' audit) still name a user id that leads to
// nobody.
func (s *Store) BeginForget(ctx context.Context, userID string) error {
	now := s.now()
	res, err := s.users.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{
		"$set":   bson.M{"updated_at": now},
		"$min":   bson.M{"deleted_at": now},
		"$unset": bson.M{"union_id": "", "mini_openid": "", "app_openid": ""},
	})
	if err != nil {
		return fmt.Errorf("account: mark user deleted: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	if _, err := s.logins.DeleteMany(ctx, bson.M{"user_id": userID}); err != nil {
		return fmt.Errorf("account: remove logins: %w", err)
	}
	s.log.InfoContext(ctx, "account deletion begun", "user_id", userID)
	return nil
}

// FinishForget erases the person's identity from the tombstone BeginForget
// made (encrypted name and ID number, their masked forms and blind index,
// the level) and releases the ID-number claim, so that the number may be
// proven again by a new account. Idempotent. ErrNotFound when there is no
// such user; an error when BeginForget did not run first.
func (s *Store) FinishForget(ctx context.Context, userID string) error {
	doc, err := s.load(ctx, userID)
	if err != nil {
		return err
	}
	if doc.DeletedAt == nil {
		return errors.New("account: FinishForget before BeginForget")
	}
	unset := unsetIdentity()
	unset["revoked_by"] = ""
	if _, err := s.users.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{
		"$set":   bson.M{"level": deletedLevel, "updated_at": s.now()},
		"$unset": unset,
	}); err != nil {
		return fmt.Errorf("account: erase identity: %w", err)
	}
	if _, err := s.claims.DeleteMany(ctx, bson.M{"user_id": userID}); err != nil {
		return fmt.Errorf("account: release identity claim: %w", err)
	}
	s.log.InfoContext(ctx, "account deletion finished", "user_id", userID)
	return nil
}

// Deleted reports whether the user was deleted (BeginForget ran), and when.
// ErrNotFound when there is no such user.
func (s *Store) Deleted(ctx context.Context, userID string) (time.Time, bool, error) {
	doc, err := s.load(ctx, userID)
	if err != nil {
		return time.Time{}, false, err
	}
	if doc.DeletedAt == nil {
		return time.Time{}, false, nil
	}
	return *doc.DeletedAt, true, nil
}

// unlinkDeleted removes the login ids in keys that still lead to userID, a
// deleted person a login raced with: the login then starts over and
// creates a new account.
func (s *Store) unlinkDeleted(ctx context.Context, keys []string, userID string) error {
	_, err := s.logins.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": keys}, "user_id": userID})
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("account: unlink deleted user: %w", err)
	}
	if _, err := s.users.UpdateOne(ctx, bson.M{"_id": userID},
		bson.M{"$unset": bson.M{"union_id": "", "mini_openid": "", "app_openid": ""}}); err != nil {
		return fmt.Errorf("account: unlink deleted user: %w", err)
	}
	return nil
}
