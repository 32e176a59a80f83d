package privacy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// CollConsents holds one document per consent a person gave.
const CollConsents = "consents"

// Purposes a person consents to separately (PIPL art. 14, 29: sensitive
// personal information needs its own consent), with the version of the
// text they agreed to. A new text gets a new version; the record keeps the
// one agreed to.
const (
	// PurposeFace: WeChat face verification (人脸核身) of the declared
	// identity, raising the real-name level to 4.
	PurposeFace = "face_verification"
	// PurposeSubscribe: WeChat subscribe messages of one template.
	PurposeSubscribe = "subscribe_messages"
	// PurposeLicenceAuthorization: a department may take an annotated copy
	// of one of the person's e-licences (用证授权).
	PurposeLicenceAuthorization = "licence_authorization"
)

// Versions of the consent texts in force.
var textVersions = map[string]string{
	PurposeFace:                 "face-2026-01",
	PurposeSubscribe:            "subscribe-2026-01",
	PurposeLicenceAuthorization: "licence-use-2026-01",
}

// Consent is one consent a person gave, to one purpose for one subject
// (Ref: the face verification, the template, the authorisation).
type Consent struct {
	ID          string     `json:"id" bson:"_id"`
	UserID      string     `json:"-" bson:"user_id"`
	Purpose     string     `json:"purpose" bson:"purpose"`
	Version     string     `json:"version" bson:"version"`
	Ref         string     `json:"ref" bson:"ref"`
	GivenAt     time.Time  `json:"given_at" bson:"given_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty" bson:"withdrawn_at,omitempty"`
}

// Withdrawer stops the processing a consent allowed when the person
// withdraws it. It must be idempotent: a withdrawal interrupted before it
// was recorded is done again.
type Withdrawer interface {
	Withdraw(ctx context.Context, userID, ref string) error
}

// Consents records consents and withdraws them. Safe for concurrent use.
type Consents struct {
	coll        *mongo.Collection
	clock       platform.Clock
	withdrawers map[string]Withdrawer
}

// NewConsents returns the consent store; withdrawers says, per purpose,
// what stops on withdrawal (a purpose without one only records it).
func NewConsents(db *mongo.Database, clock platform.Clock, withdrawers map[string]Withdrawer) *Consents {
	return &Consents{coll: db.Collection(CollConsents), clock: clock, withdrawers: withdrawers}
}

// EnsureIndexes creates consents.user_id_1_given_at_1. Idempotent.
func (c *Consents) EnsureIndexes(ctx context.Context) error {
	_, err := c.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "given_at", Value: 1}},
		Options: options.Index().SetName("user_id_1_given_at_1"),
	})
	if err != nil {
		return fmt.Errorf("privacy: create index: %w", err)
	}
	return nil
}

// consentID is one consent's id: the same person, purpose and subject make
// the same consent, so recording it again (a retried request) is a no-op.
func consentID(userID, purpose, ref string) string {
	sum := sha256.Sum256([]byte(userID + "\x00" + purpose + "\x00" + ref))
	return "cs_" + hex.EncodeToString(sum[:10])
}

// Record stores that userID consented to purpose for ref, with the text
// version in force. Recording a consent given before changes nothing; one
// withdrawn before is given again (new time, version). Errors: an unknown
// purpose, storage errors.
func (c *Consents) Record(ctx context.Context, userID, purpose, ref string) (Consent, error) {
	version, ok := textVersions[purpose]
	if !ok {
		return Consent{}, fmt.Errorf("privacy: unknown consent purpose %q", purpose)
	}
	now := c.clock.Now().UTC().Truncate(time.Millisecond)
	id := consentID(userID, purpose, ref)
	// A withdrawn consent given again starts afresh.
	if _, err := c.coll.UpdateOne(ctx, bson.M{"_id": id, "withdrawn_at": bson.M{"$exists": true}},
		bson.M{"$set": bson.M{"given_at": now, "version": version}, "$unset": bson.M{"withdrawn_at": ""}}); err != nil {
		return Consent{}, fmt.Errorf("privacy: record consent: %w", err)
	}
	doc := Consent{ID: id, UserID: userID, Purpose: purpose, Version: version, Ref: ref, GivenAt: now}
	_, err := c.coll.InsertOne(ctx, doc)
	if err != nil && !platform.IsDuplicateKey(err) {
		return Consent{}, fmt.Errorf("privacy: record consent: %w", err)
	}
	var cur Consent
	if err := c.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&cur); err != nil {
		return Consent{}, fmt.Errorf("privacy: read consent: %w", err)
	}
	return cur.local(), nil
}

// local is the consent with its times in Asia/Shanghai, as answers show them.
func (c Consent) local() Consent {
	c.GivenAt = platform.Local(c.GivenAt)
	if c.WithdrawnAt != nil {
		w := platform.Local(*c.WithdrawnAt)
		c.WithdrawnAt = &w
	}
	return c
}

// List returns the person's consents, oldest first, withdrawn ones marked.
func (c *Consents) List(ctx context.Context, userID string) ([]Consent, error) {
	cur, err := c.coll.Find(ctx, bson.M{"user_id": userID}, options.Find().SetSort(bson.D{{Key: "given_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("privacy: list consents: %w", err)
	}
	out := []Consent{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("privacy: list consents: %w", err)
	}
	for i := range out {
		out[i] = out[i].local()
	}
	return out, nil
}

// Withdraw withdraws the person's consent id: the processing it allowed
// stops first (the purpose's Withdrawer), then the withdrawal is recorded.
// Errors: ErrConsentNotFound (none of this person's), ErrConsentWithdrawn,
// the Withdrawer's errors (nothing recorded then; the person may retry),
// storage errors.
func (c *Consents) Withdraw(ctx context.Context, userID, id string) (Consent, error) {
	var cur Consent
	err := c.coll.FindOne(ctx, bson.M{"_id": id, "user_id": userID}).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Consent{}, ErrConsentNotFound
	}
	if err != nil {
		return Consent{}, fmt.Errorf("privacy: read consent: %w", err)
	}
	if cur.WithdrawnAt != nil {
		return Consent{}, ErrConsentWithdrawn
	}
	if w := c.withdrawers[cur.Purpose]; w != nil {
		if err := w.Withdraw(ctx, userID, cur.Ref); err != nil {
			return Consent{}, err
		}
	}
	now := c.clock.Now().UTC().Truncate(time.Millisecond)
	res, err := c.coll.UpdateOne(ctx, bson.M{"_id": id, "withdrawn_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"withdrawn_at": now}})
	if err != nil {
		return Consent{}, fmt.Errorf("privacy: withdraw consent: %w", err)
	}
	if res.MatchedCount == 0 {
		return Consent{}, ErrConsentWithdrawn // a concurrent withdrawal won
	}
	cur.WithdrawnAt = &now
	return cur.local(), nil
}

// MarkWithdrawn records that the person withdrew their consent to purpose
// for ref through the feature itself (the processing already stopped
// there): the consent shows withdrawn. A consent never recorded, or
// withdrawn before, is left as it is. Errors: storage errors.
func (c *Consents) MarkWithdrawn(ctx context.Context, userID, purpose, ref string) error {
	now := c.clock.Now().UTC().Truncate(time.Millisecond)
	_, err := c.coll.UpdateOne(ctx, bson.M{"_id": consentID(userID, purpose, ref), "withdrawn_at": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"withdrawn_at": now}})
	if err != nil {
		return fmt.Errorf("privacy: withdraw consent: %w", err)
	}
	return nil
}

// LicenceRef is the consent ref of a licence authorisation: the licence
// and the authorisation.
func LicenceRef(licenceID, authorizationID string) string { return licenceID + "/" + authorizationID }

// Export is the person's consents for the export package (a Source).
func (c *Consents) Export(ctx context.Context, userID string) (any, error) {
	return c.List(ctx, userID)
}

// Name is the export category of consents.
func (c *Consents) Name() string { return "consents" }

// Erase removes the person's consent records once the processing they
// allowed has stopped (deletion erased its data first). An Eraser.
func (c *Consents) Erase(ctx context.Context, userID string) (Outcome, error) {
	if _, err := c.coll.DeleteMany(ctx, bson.M{"user_id": userID}); err != nil {
		return Outcome{}, fmt.Errorf("privacy: erase consents: %w", err)
	}
	return Outcome{Category: "consents", Erased: true}, nil
}
