package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// UserIDByOpenID returns the ID of the user who logs in on channel ch with
// openID: the user its login link names (wechat_logins), or, for an openid
// an earlier release recorded only on the user document, that user (the
// smallest ID should there be several). WeChat's pushes name users by
// openid; this is how they are found. Errors: ErrNotFound when nobody logs
// in with it, storage errors.
func (s *Store) UserIDByOpenID(ctx context.Context, ch Channel, openID string) (string, error) {
	field, err := openIDField(ch)
	if err != nil {
		return "", err
	}
	if openID == "" {
		return "", ErrNotFound
	}
	var link struct {
		UserID string `bson:"user_id"`
	}
	err = s.logins.FindOne(ctx, bson.M{"_id": openLogin(ch, openID)}).Decode(&link)
	switch {
	case err == nil && link.UserID != "":
		return link.UserID, nil
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return "", fmt.Errorf("account: find login: %w", err)
	}
	ids, err := s.usersWithOpenID(ctx, field, openID)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", ErrNotFound
	}
	return slices.Min(ids), nil
}
