package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Each WeChat id a login carries is the _id of a wechat_logins document
// naming the user (person) it belongs to: "openid:<channel>:<openid>" and,
// when WeChat sends one, "unionid:<unionid>".
func openLogin(ch Channel, openID string) string { return "openid:" + string(ch) + ":" + openID }
func unionLogin(unionID string) string           { return "unionid:" + unionID }

// loginKind names a login id without the id itself: "unionid",
// "openid:miniprogram", "openid:app".
func loginKind(key string) string {
	if strings.HasPrefix(key, "unionid:") {
		return "unionid"
	}
	parts := strings.SplitN(key, ":", 3)
	if len(parts) < 2 {
		return key
	}
	return parts[0] + ":" + parts[1]
}

// linkAttempts bounds how often LoginWeChat starts over when a concurrent
// login changed the links it read.
const linkAttempts = 6

// errLinksChanged means a concurrent login changed the links meanwhile: read
// them again.
var errLinksChanged = errors.New("account: login links changed meanwhile")

// LoginWeChat finds the person behind a WeChat login, or creates them, and
// records the channel's openid (and the unionid, when WeChat sent one) on
// them. New users get level 1. An unknown channel or an empty openID is an
// error (no sentinel).
//
// A login is resolved by every id it carries, the channel's openid and the
// unionid: logins from the mini-program and the app with one unionid reach
// the same person, a unionid that appears for a person known by openid (the
// mini-program was bound to the Open Platform later) or goes missing again
// keeps the person, and no second user is ever created for a known openid. A
// person an earlier release recorded by unionid alone is found by the openid
// stored on the user. Every id of the login is then linked to the person.
// When the ids lead to different users (a person split by an earlier release,
// or logged in on both channels before the binding), they are one person:
// the login goes to the user with the highest real-name level (then the
// oldest, then the smallest ID), the login's ids are relinked to it, and
// each move is recorded as an identity event naming both users, so an
// operator can move what the other one holds.
//
// Race-safe without transactions: the ids are unique _ids, linked by
// inserts (a duplicate key means another login linked it first) and relinked
// by updates conditional on the user they named; a login that meets a
// change starts over, and returns a user only after it read every id of the
// login leading to it with the user's document written. Concurrent first
// logins of one person create one user: they insert the channel's openid
// first, so logins of one channel meet on it, and one that then finds the
// unionid taken gives its fresh, still documentless user up for the
// unionid's. Crash-safe: ids whose user document is missing are completed by
// the next login.
func (s *Store) LoginWeChat(ctx context.Context, ch Channel, unionID, openID string) (User, error) {
	field, err := openIDField(ch)
	if err != nil {
		return User{}, err
	}
	if openID == "" {
		return User{}, errors.New("account: openid is required")
	}
	keys := []string{openLogin(ch, openID)}
	if unionID != "" {
		keys = append(keys, unionLogin(unionID))
	}
	for range linkAttempts {
		winner, err := s.linkLogin(ctx, keys, field, openID)
		if errors.Is(err, errLinksChanged) {
			continue
		}
		if err != nil {
			return User{}, err
		}
		doc, err := s.recordLogin(ctx, winner, field, openID, unionID)
		if err != nil {
			return User{}, err
		}
		if doc.DeletedAt != nil {
			// The login raced with the person's deletion: it must not
			// revive the tombstone; the next round creates a new account.
			if err := s.unlinkDeleted(ctx, keys, winner); err != nil {
				return User{}, err
			}
			continue
		}
		owners, err := s.loginOwners(ctx, keys)
		if err != nil {
			return User{}, err
		}
		if allLeadTo(owners, keys, winner) {
			return doc.user(), nil
		}
	}
	return User{}, errors.New("account: login links keep changing")
}

func allLeadTo(owners map[string]string, keys []string, userID string) bool {
	for _, k := range keys {
		if owners[k] != userID {
			return false
		}
	}
	return true
}

// linkLogin makes every id in keys (the channel's openid first) lead to one
// user and returns it: the one they lead to, a new one, or (when they lead to
// several) the person chosen by rank. errLinksChanged when a concurrent login
// changed a link meanwhile.
func (s *Store) linkLogin(ctx context.Context, keys []string, field, openID string) (string, error) {
	owners, err := s.loginOwners(ctx, keys)
	if err != nil {
		return "", err
	}
	var cands []string
	for _, k := range keys {
		if u := owners[k]; u != "" && !slices.Contains(cands, u) {
			cands = append(cands, u)
		}
	}
	if owners[keys[0]] == "" {
		// An earlier release recorded a person by unionid alone: the openid
		// is only on the user document.
		legacy, err := s.usersWithOpenID(ctx, field, openID)
		if err != nil {
			return "", err
		}
		for _, u := range legacy {
			if !slices.Contains(cands, u) {
				cands = append(cands, u)
			}
		}
	}
	if len(cands) == 0 {
		return s.createLogin(ctx, keys)
	}
	winner, docs, err := s.person(ctx, cands, owners[keys[len(keys)-1]])
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		switch owner := owners[k]; owner {
		case winner:
		case "":
			_, err := s.logins.InsertOne(ctx, bson.M{"_id": k, "user_id": winner, "created_at": s.now()})
			if platform.IsDuplicateKey(err) {
				return "", errLinksChanged
			}
			if err != nil {
				return "", fmt.Errorf("account: link login: %w", err)
			}
		default:
			res, err := s.logins.UpdateOne(ctx, bson.M{"_id": k, "user_id": owner},
				bson.M{"$set": bson.M{"user_id": winner, "relinked_at": s.now()}})
			if err != nil {
				return "", fmt.Errorf("account: relink login: %w", err)
			}
			if res.MatchedCount == 0 {
				return "", errLinksChanged
			}
			if _, ok := docs[owner]; ok { // a user of its own, not a creation given up
				if err := s.recordEvent(ctx, identityEvent{
					ID: newEventID(), Kind: eventLoginRelinked, UserID: owner, OtherUserID: winner,
					Login: loginKind(k), Reason: "same_person", At: s.now(),
				}); err != nil {
					return "", err
				}
			}
		}
	}
	return winner, nil
}

// createLogin links every id in keys to a new user ID, in order. A duplicate
// key means a concurrent login got there first: errLinksChanged (the ids
// this one linked lead to a user without document, which the next round
// gives up for the other).
func (s *Store) createLogin(ctx context.Context, keys []string) (string, error) {
	id := newUserID()
	for _, k := range keys {
		_, err := s.logins.InsertOne(ctx, bson.M{"_id": k, "user_id": id, "created_at": s.now()})
		if platform.IsDuplicateKey(err) {
			return "", errLinksChanged
		}
		if err != nil {
			return "", fmt.Errorf("account: create login: %w", err)
		}
	}
	return id, nil
}

// person chooses among users the ids of one login lead to: users with a
// document before those without (a creation under way or interrupted), then
// the highest level, the oldest, the smallest ID. Among users without
// documents only, the one the unionid leads to (unionOwner, when there is
// one), then the smallest ID. It returns the documents it found.
func (s *Store) person(ctx context.Context, cands []string, unionOwner string) (string, map[string]userDoc, error) {
	docs := map[string]userDoc{}
	if len(cands) == 1 {
		return cands[0], docs, nil
	}
	cur, err := s.users.Find(ctx, bson.M{"_id": bson.M{"$in": cands}},
		options.Find().SetProjection(bson.M{"level": 1, "created_at": 1}))
	if err != nil {
		return "", nil, fmt.Errorf("account: load users: %w", err)
	}
	var found []userDoc
	if err := cur.All(ctx, &found); err != nil {
		return "", nil, fmt.Errorf("account: load users: %w", err)
	}
	for _, d := range found {
		docs[d.ID] = d
	}
	if len(found) == 0 {
		if unionOwner != "" {
			return unionOwner, docs, nil
		}
		return slices.Min(cands), docs, nil
	}
	best := slices.MinFunc(found, func(a, b userDoc) int {
		switch {
		case a.Level != b.Level:
			return b.Level - a.Level
		case !a.CreatedAt.Equal(b.CreatedAt):
			return a.CreatedAt.Compare(b.CreatedAt)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return best.ID, docs, nil
}

// loginOwners returns the user each of keys leads to (absent: none).
func (s *Store) loginOwners(ctx context.Context, keys []string) (map[string]string, error) {
	cur, err := s.logins.Find(ctx, bson.M{"_id": bson.M{"$in": keys}})
	if err != nil {
		return nil, fmt.Errorf("account: find logins: %w", err)
	}
	var links []struct {
		ID     string `bson:"_id"`
		UserID string `bson:"user_id"`
	}
	if err := cur.All(ctx, &links); err != nil {
		return nil, fmt.Errorf("account: find logins: %w", err)
	}
	out := make(map[string]string, len(links))
	for _, l := range links {
		out[l.ID] = l.UserID
	}
	return out, nil
}

// usersWithOpenID returns the users whose field (mini_openid, app_openid)
// is openID.
func (s *Store) usersWithOpenID(ctx context.Context, field, openID string) ([]string, error) {
	cur, err := s.users.Find(ctx, bson.M{field: openID}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("account: find users by openid: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("account: find users by openid: %w", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// recordLogin writes the login's ids on the user's document, creating it at
// level 1 when missing.
func (s *Store) recordLogin(ctx context.Context, userID, field, openID, unionID string) (userDoc, error) {
	now := s.now()
	set := bson.M{field: openID, "updated_at": now}
	if unionID != "" {
		set["union_id"] = unionID
	}
	update := bson.M{
		"$set":         set,
		"$setOnInsert": bson.M{"level": minLevel, "created_at": now},
	}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	var doc userDoc
	var err error
	for attempt := 0; ; attempt++ {
		err = s.users.FindOneAndUpdate(ctx, bson.M{"_id": userID}, update, opts).Decode(&doc)
		// Two concurrent upserts of one _id: the loser gets a duplicate key
		// and, retried, updates the winner's document.
		if err == nil || !platform.IsDuplicateKey(err) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return userDoc{}, fmt.Errorf("account: record login: %w", err)
	}
	return doc, nil
}
