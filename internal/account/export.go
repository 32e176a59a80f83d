package account

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// PersonalRecord is what the account holds of a person, for their own
// export (PIPL art. 45): the identity in clear, the WeChat ids, the logins
// and the history of the real-name level. Never log it.
type PersonalRecord struct {
	UserID     string        `json:"user_id"`
	Level      int           `json:"realname_level"`
	Name       string        `json:"name,omitempty"`
	IDNumber   string        `json:"id_number,omitempty"`
	IdentityAt *time.Time    `json:"identity_recorded_at,omitempty"`
	UnionID    string        `json:"wechat_unionid,omitempty"`
	MiniOpenID string        `json:"wechat_miniprogram_openid,omitempty"`
	AppOpenID  string        `json:"wechat_app_openid,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	Logins     []LoginRecord `json:"logins"`
	Events     []EventRecord `json:"identity_events"`
}

// LoginRecord is one WeChat id that leads to the person, since when.
type LoginRecord struct {
	Kind      string    `json:"kind"` // unionid, openid:miniprogram, openid:app
	CreatedAt time.Time `json:"created_at"`
}

// EventRecord is one event of the person's identity (level changes,
// relinked logins, revocations).
type EventRecord struct {
	Kind        string    `json:"kind"`
	LevelBefore int       `json:"level_before,omitempty"`
	LevelAfter  int       `json:"level_after,omitempty"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// Export returns the person's record. ErrNotFound when there is no such
// user.
func (s *Store) Export(ctx context.Context, userID string) (PersonalRecord, error) {
	doc, err := s.load(ctx, userID)
	if err != nil {
		return PersonalRecord{}, err
	}
	rec := PersonalRecord{UserID: doc.ID, Level: doc.Level, UnionID: doc.UnionID, MiniOpenID: doc.MiniOpenID,
		AppOpenID: doc.AppOpenID, CreatedAt: platform.Local(doc.CreatedAt), Logins: []LoginRecord{}, Events: []EventRecord{}}
	if doc.IDIndex != "" {
		id, err := s.Identity(ctx, userID)
		if err != nil {
			return PersonalRecord{}, err
		}
		rec.Name, rec.IDNumber = id.Name, id.IDNumber
		at := platform.Local(doc.IdentityAt)
		rec.IdentityAt = &at
	}
	cur, err := s.logins.Find(ctx, bson.M{"user_id": userID})
	if err != nil {
		return PersonalRecord{}, fmt.Errorf("account: export logins: %w", err)
	}
	var logins []struct {
		ID        string    `bson:"_id"`
		CreatedAt time.Time `bson:"created_at"`
	}
	if err := cur.All(ctx, &logins); err != nil {
		return PersonalRecord{}, fmt.Errorf("account: export logins: %w", err)
	}
	for _, l := range logins {
		rec.Logins = append(rec.Logins, LoginRecord{Kind: loginKind(l.ID), CreatedAt: platform.Local(l.CreatedAt)})
	}
	cur, err = s.events.Find(ctx, bson.M{"user_id": userID}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(1000))
	if err != nil {
		return PersonalRecord{}, fmt.Errorf("account: export events: %w", err)
	}
	var evs []identityEvent
	if err := cur.All(ctx, &evs); err != nil {
		return PersonalRecord{}, fmt.Errorf("account: export events: %w", err)
	}
	for _, e := range evs {
		rec.Events = append(rec.Events, EventRecord{Kind: e.Kind, LevelBefore: e.LevelBefore, LevelAfter: e.LevelAfter, Reason: e.Reason, At: platform.Local(e.At)})
	}
	return rec, nil
}
