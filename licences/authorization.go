package licences

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// MaxAuthorization is the longest an authorisation may run.
const MaxAuthorization = 30 * 24 * time.Hour

// maxCause bounds a cause of use (用证事由), in runes.
const maxCause = 200

// AuthorizationInput is what a holder states to authorise a department.
type AuthorizationInput struct {
	IntegrationID string `json:"integration_id"`
	Cause         string `json:"cause"`
	ExpiresAt     string `json:"expires_at"` // RFC 3339
}

// AuthorizationView is an authorisation as its holder sees it.
type AuthorizationView struct {
	ID            string     `json:"id"`
	LicenceID     string     `json:"licence_id"`
	IntegrationID string     `json:"integration_id"`
	Cause         string     `json:"cause"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	WithdrawnAt   *time.Time `json:"withdrawn_at,omitempty"`
	Active        bool       `json:"active"`
}

func (s *Service) authView(a authorizationDoc) AuthorizationView {
	v := AuthorizationView{ID: a.ID, LicenceID: a.LicenceID, IntegrationID: a.IntegrationID, Cause: a.Cause,
		CreatedAt: platform.Local(a.CreatedAt), ExpiresAt: platform.Local(a.ExpiresAt),
		Active: a.WithdrawnAt == nil && s.clock.Now().Before(a.ExpiresAt)}
	if a.WithdrawnAt != nil {
		t := platform.Local(*a.WithdrawnAt)
		v.WithdrawnAt = &t
	}
	return v
}

// Authorize lets a department system (integration) fetch annotated copies
// of userID's licence id for a stated cause until expires_at (after now, at
// most MaxAuthorization ahead). Errors: platform.Invalid (integration_id,
// cause, expires_at); ErrNotFound; ErrNotShowable (revoked or expired);
// ErrIntegrationUnknown (no such enabled integration with the licences
// scope). Nothing is stored on any error.
func (s *Service) Authorize(ctx context.Context, userID, id string, in AuthorizationInput) (AuthorizationView, error) {
	if in.IntegrationID == "" {
		return AuthorizationView{}, platform.Invalid("integration_id", "required", "请选择用证部门")
	}
	if !platform.ValidCatalogID(in.IntegrationID) {
		return AuthorizationView{}, platform.Invalid("integration_id", "format", "部门系统编号格式不正确")
	}
	if err := text("cause", in.Cause, maxCause, true, "用证事由"); err != nil {
		return AuthorizationView{}, err
	}
	exp, err := time.Parse(time.RFC3339, in.ExpiresAt)
	if err != nil {
		return AuthorizationView{}, platform.Invalid("expires_at", "format", "授权截止时间应为 RFC 3339 时间")
	}
	now := s.clock.Now()
	if !exp.After(now) || exp.Sub(now) > MaxAuthorization {
		return AuthorizationView{}, platform.Invalid("expires_at", "range", "授权截止时间应在现在之后、30 天之内")
	}
	d, err := s.owned(ctx, userID, id)
	if err != nil {
		return AuthorizationView{}, err
	}
	if !view(d, now).Usable {
		return AuthorizationView{}, ErrNotShowable
	}
	if err := s.scopes.Authorize(ctx, in.IntegrationID, "licences"); err != nil {
		if pe, ok := platform.AsError(err); ok && pe.Code != "internal" {
			return AuthorizationView{}, ErrIntegrationUnknown
		}
		return AuthorizationView{}, err
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return AuthorizationView{}, err
	}
	a := authorizationDoc{ID: "la_" + hex.EncodeToString(b), LicenceID: d.ID, UserID: userID, IntegrationID: in.IntegrationID,
		Cause: in.Cause, CreatedAt: s.now(), ExpiresAt: exp.UTC().Truncate(time.Millisecond)}
	if _, err := s.auths.InsertOne(ctx, a); err != nil {
		return AuthorizationView{}, fmt.Errorf("store licence authorization: %w", err)
	}
	return s.authView(a), nil
}

// Authorizations lists the authorisations of userID's licence id, newest
// first. Errors: ErrNotFound.
func (s *Service) Authorizations(ctx context.Context, userID, id string) ([]AuthorizationView, error) {
	d, err := s.owned(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	cur, err := s.auths.Find(ctx, bson.M{"licence_id": d.ID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(200))
	if err != nil {
		return nil, fmt.Errorf("list licence authorizations: %w", err)
	}
	var docs []authorizationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list licence authorizations: %w", err)
	}
	out := make([]AuthorizationView, 0, len(docs))
	for _, a := range docs {
		if a.UserID == userID {
			out = append(out, s.authView(a))
		}
	}
	return out, nil
}

// Withdraw withdraws userID's authorisation aid of licence id: no copy is
// made under it from then on. Withdrawing it again answers it as it is.
// Errors: ErrNotFound, ErrAuthorizationNotFound.
func (s *Service) Withdraw(ctx context.Context, userID, id, aid string) (AuthorizationView, error) {
	d, err := s.owned(ctx, userID, id)
	if err != nil {
		return AuthorizationView{}, err
	}
	now := s.now()
	var a authorizationDoc
	err = s.auths.FindOneAndUpdate(ctx, bson.M{"_id": aid, "licence_id": d.ID, "user_id": userID, "withdrawn_at": nil},
		bson.M{"$set": bson.M{"withdrawn_at": now}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		a, err = s.authorization(ctx, aid)
		if err != nil || a.LicenceID != d.ID || a.UserID != userID {
			return AuthorizationView{}, ErrAuthorizationNotFound
		}
		return s.authView(a), nil
	}
	if err != nil {
		return AuthorizationView{}, fmt.Errorf("withdraw licence authorization: %w", err)
	}
	return s.authView(a), nil
}

func (s *Service) authorization(ctx context.Context, aid string) (authorizationDoc, error) {
	var a authorizationDoc
	err := s.auths.FindOne(ctx, bson.M{"_id": aid}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return a, ErrAuthorizationNotFound
	}
	if err != nil {
		return a, fmt.Errorf("read licence authorization: %w", err)
	}
	return a, nil
}
