package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Collection names.
const (
	collUsers  = "users"           // one document per person (userDoc)
	collLogins = "wechat_logins"   // _id = login id ("unionid:…", "openid:<channel>:…") -> user_id
	collClaims = "identity_claims" // _id = blind index of the ID number -> user_id
)

// kindIDNumber is the blind-index kind of ID numbers.
const kindIDNumber = "id_number"

// userDoc is a users document. Identity fields are absent until RaiseLevel
// records one; id_index present means "has identity".
type userDoc struct {
	ID             string    `bson:"_id"`
	UnionID        string    `bson:"union_id,omitempty"`
	MiniOpenID     string    `bson:"mini_openid,omitempty"`
	AppOpenID      string    `bson:"app_openid,omitempty"`
	Level          int       `bson:"level"`
	NameEnc        []byte    `bson:"name_enc,omitempty"`
	IDNumberEnc    []byte    `bson:"id_number_enc,omitempty"`
	NameMasked     string    `bson:"name_masked,omitempty"`
	IDNumberMasked string    `bson:"id_number_masked,omitempty"`
	IDIndex        string    `bson:"id_index,omitempty"`
	IdentityAt     time.Time `bson:"identity_at,omitempty"`
	// PIIFormat is 2 when name_enc and id_number_enc are sealed bound to
	// this user and field (Cipher.Seal); absent on identities an earlier
	// release wrote, until MigratePII re-seals them.
	PIIFormat int `bson:"pii_format,omitempty"`
	// RevokedBy is the identity event that last revoked this user's
	// declaration (see finishRevocation).
	RevokedBy string `bson:"revoked_by,omitempty"`
	// DeletedAt is set when the person asked to be deleted (BeginForget):
	// the document is then a tombstone no login leads to.
	DeletedAt *time.Time `bson:"deleted_at,omitempty"`
	CreatedAt time.Time  `bson:"created_at"`
	UpdatedAt time.Time  `bson:"updated_at"`
}

func (d userDoc) user() User {
	return User{
		ID:             d.ID,
		UnionID:        d.UnionID,
		MiniOpenID:     d.MiniOpenID,
		AppOpenID:      d.AppOpenID,
		Level:          d.Level,
		NameMasked:     d.NameMasked,
		IDNumberMasked: d.IDNumberMasked,
		HasIdentity:    d.IDIndex != "",
		CreatedAt:      d.CreatedAt,
		UpdatedAt:      d.UpdatedAt,
	}
}

// ownerDoc is the shape of wechat_logins and identity_claims documents.
type ownerDoc struct {
	UserID string `bson:"user_id"`
}

// Store keeps users, their WeChat logins and their identities in MongoDB.
// It uses only features the embedded FerretDB v1 supports: unique _id inserts
// as race arbiters, single-document conditional updates, $max, $setOnInsert,
// upserts. It is safe for concurrent use, also from several processes.
type Store struct {
	users  *mongo.Collection
	logins *mongo.Collection
	claims *mongo.Collection
	events *mongo.Collection
	cipher *Cipher
	clock  platform.Clock
	log    *slog.Logger

	notifier Notifier     // nil: revoked declarers are not told
	sessions SessionEnder // nil: revoked declarers' sessions are not ended

	migrateBatch int // users MigratePII reads at a time
}

// Option configures a Store.
type Option func(*Store)

// WithLogger makes the store log to log (user IDs, never names or ID
// numbers); without it the store logs nothing.
func WithLogger(log *slog.Logger) Option { return func(s *Store) { s.log = log } }

// NewStore returns a Store on db, encrypting PII with cipher.
func NewStore(db *mongo.Database, cipher *Cipher, clock platform.Clock, opts ...Option) *Store {
	s := &Store{
		users:  db.Collection(collUsers),
		logins: db.Collection(collLogins),
		claims: db.Collection(collClaims),
		events: db.Collection(collEvents),
		cipher: cipher,
		clock:  clock,
		log:    slog.New(slog.DiscardHandler),

		migrateBatch: migrateBatch,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// EnsureIndexes creates the secondary indexes: identity_claims.user_id (to
// drop a user's stale claims), users.mini_openid and users.app_openid (to
// find a person an earlier release recorded by unionid alone), and
// identity_events by kind, state and time (the revocation sweeper). The
// arbiters themselves are _id keys and need no index. Idempotent, and safe
// when several processes call it at once.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		name string
		keys bson.D
	}{
		{s.claims, "user_id_1", bson.D{{Key: "user_id", Value: 1}}},
		{s.users, "mini_openid_1", bson.D{{Key: "mini_openid", Value: 1}}},
		{s.users, "app_openid_1", bson.D{{Key: "app_openid", Value: 1}}},
		{s.events, "kind_1_state_1_at_1", bson.D{{Key: "kind", Value: 1}, {Key: "state", Value: 1}, {Key: "at", Value: 1}}},
	} {
		model := mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name)}
		var err error
		for range 3 {
			if _, err = ix.coll.Indexes().CreateOne(ctx, model); err == nil || ctx.Err() != nil {
				break
			}
			// A concurrent creator may make ours fail (collection or index
			// just created); the same request then succeeds as a no-op.
		}
		if err != nil {
			return fmt.Errorf("account: create index %s.%s: %w", ix.coll.Name(), ix.name, err)
		}
	}
	return nil
}

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// newUserID returns "u_" and 20 lowercase base32 characters (100 random bits).
func newUserID() string {
	return "u_" + strings.ToLower(rand.Text()[:20])
}

// openIDField names the users field holding the openid of ch.
func openIDField(ch Channel) (string, error) {
	switch ch {
	case ChannelMiniProgram:
		return "mini_openid", nil
	case ChannelApp:
		return "app_openid", nil
	}
	return "", fmt.Errorf("account: unknown login channel %q", ch)
}

// Get returns the user with this id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (User, error) {
	doc, err := s.load(ctx, id)
	if err != nil {
		return User{}, err
	}
	return doc.user(), nil
}

func (s *Store) load(ctx context.Context, id string) (userDoc, error) {
	var doc userDoc
	err := s.users.FindOne(ctx, bson.M{"_id": id}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return userDoc{}, ErrNotFound
	}
	if err != nil {
		return userDoc{}, fmt.Errorf("account: load user: %w", err)
	}
	return doc, nil
}

// Identity returns the decrypted identity of the user: ErrNotFound when there
// is no such user or no identity recorded. Never log the result.
func (s *Store) Identity(ctx context.Context, userID string) (Identity, error) {
	doc, err := s.load(ctx, userID)
	if err != nil {
		return Identity{}, err
	}
	if doc.IDIndex == "" {
		return Identity{}, ErrNotFound
	}
	name, err := s.openField(doc, fieldName, doc.NameEnc)
	if err != nil {
		return Identity{}, fmt.Errorf("account: decrypt name: %w", err)
	}
	number, err := s.openField(doc, fieldIDNumber, doc.IDNumberEnc)
	if err != nil {
		return Identity{}, fmt.Errorf("account: decrypt id number: %w", err)
	}
	return Identity{Name: name, IDNumber: number}, nil
}

// CheckIdentity reports whether id (after the normalisation of ValidateName and
// ValidateIDNumber: spaces, middle dots, lowercase x) equals the user's
// recorded identity; (false, nil) when none is recorded. ErrNotFound when there
// is no such user.
func (s *Store) CheckIdentity(ctx context.Context, userID string, id Identity) (bool, error) {
	doc, err := s.load(ctx, userID)
	if err != nil {
		return false, err
	}
	if doc.IDIndex == "" {
		return false, nil
	}
	return s.sameIdentity(doc, s.cipher.BlindIndex(kindIDNumber, normaliseIDNumber(id.IDNumber)), normaliseName(id.Name))
}

// piiFormatBound is userDoc.PIIFormat of identities sealed with Cipher.Seal.
const piiFormatBound = 2

// openField decrypts a field ("name", "id_number") of doc's identity: bound
// to the user and the field when the document is of format 2, or as an
// earlier release sealed it (format 1) until MigratePII has re-sealed it.
func (s *Store) openField(doc userDoc, field string, sealed []byte) (string, error) {
	if doc.PIIFormat == piiFormatBound {
		return s.cipher.Open(sealed, userField(doc.ID, field))
	}
	return s.cipher.openFormat1(sealed)
}

// sameIdentity compares a recorded identity with a normalised one given by
// the blind index of its ID number and its name.
func (s *Store) sameIdentity(doc userDoc, idIndex, name string) (bool, error) {
	if doc.IDIndex != idIndex {
		return false, nil
	}
	recorded, err := s.openField(doc, fieldName, doc.NameEnc)
	if err != nil {
		return false, fmt.Errorf("account: decrypt name: %w", err)
	}
	return recorded == name, nil
}
