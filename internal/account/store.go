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
	PIIFormat int       `bson:"pii_format,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
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
// drop a user's stale claims) and users.mini_openid and users.app_openid (to
// find a person an earlier release recorded by unionid alone). The arbiters
// themselves are _id keys and need no index. Idempotent, and safe when
// several processes call it at once.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll  *mongo.Collection
		field string
	}{{s.claims, "user_id"}, {s.users, "mini_openid"}, {s.users, "app_openid"}} {
		model := mongo.IndexModel{
			Keys:    bson.D{{Key: ix.field, Value: 1}},
			Options: options.Index().SetName(ix.field + "_1"),
		}
		var err error
		for range 3 {
			if _, err = ix.coll.Indexes().CreateOne(ctx, model); err == nil || ctx.Err() != nil {
				break
			}
			// A concurrent creator may make ours fail (collection or index
			// just created); the same request then succeeds as a no-op.
		}
		if err != nil {
			return fmt.Errorf("account: create index %s.%s: %w", ix.coll.Name(), ix.field, err)
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

// RaiseLevel records the identity id for the user and raises the user's level
// to max(current, level); it never lowers it. It returns the updated user.
//
// The identity is validated again and normalised (ValidateName,
// ValidateIDNumber against the store's clock): bad input is a
// platform.Invalid error; a level outside 1..4 is an error. Both change nothing.
//
//   - ErrNotFound: no such user.
//   - ErrIdentityLocked: the user already has a recorded identity with another
//     ID number or another name; nothing changes.
//   - ErrRealnameTaken: another user holds this ID number; nothing changes.
//
// "One ID number, one person" is decided by inserting identity_claims with
// _id = blind index of the ID number, before the user document is updated.
// Once the claim is under way the steps no longer follow the request's
// context: a cancelled request completes (or undoes) them. A retry after a
// crash between the two steps finds its own claim and completes the user; a
// claim left behind by a user whose identity ended up different, who no
// longer exists, or who recorded none within claimGrace, is stale and is
// taken over. The name and ID number
// are stored only encrypted, masked, and (ID number) as blind index. The level
// is raised with $max, so concurrent raises end at the highest level.
func (s *Store) RaiseLevel(ctx context.Context, userID string, id Identity, level int) (User, error) {
	if level < minLevel || level > maxLevel {
		return User{}, fmt.Errorf("account: level %d outside %d..%d", level, minLevel, maxLevel)
	}
	name, err := ValidateName(id.Name)
	if err != nil {
		return User{}, err
	}
	number, err := ValidateIDNumber(id.IDNumber, s.clock.Now())
	if err != nil {
		return User{}, err
	}
	idx := s.cipher.BlindIndex(kindIDNumber, number)

	doc, err := s.load(ctx, userID)
	if err != nil {
		return User{}, err
	}
	// From the claim on, the steps run to their end (or undo what they did)
	// even when the request is cancelled: a claim left without its identity
	// would keep the number from everybody else until it is judged abandoned.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if doc.IDIndex != "" {
		return s.raiseRecorded(ctx, doc, idx, name, level)
	}

	if err := s.claim(ctx, idx, userID); err != nil {
		return User{}, err
	}
	nameEnc, err := s.cipher.Seal(name, userField(userID, fieldName))
	if err != nil {
		return User{}, err
	}
	numberEnc, err := s.cipher.Seal(number, userField(userID, fieldIDNumber))
	if err != nil {
		return User{}, err
	}
	now := s.now()
	update := bson.M{
		"$set": bson.M{
			"name_enc":         nameEnc,
			"id_number_enc":    numberEnc,
			"name_masked":      MaskName(name),
			"id_number_masked": MaskIDNumber(number),
			"id_index":         idx,
			"identity_at":      now,
			"pii_format":       piiFormatBound,
			"updated_at":       now,
		},
		"$max": bson.M{"level": level},
	}
	// Only a user still without identity takes it: of concurrent raises with
	// different identities exactly one wins.
	filter := bson.M{"_id": userID, "id_index": bson.M{"$exists": false}}
	err = s.users.FindOneAndUpdate(ctx, filter, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	switch {
	case err == nil:
		if err := s.dropStaleClaims(ctx, userID, idx); err != nil {
			return User{}, err
		}
		return doc.user(), nil
	case !errors.Is(err, mongo.ErrNoDocuments):
		return User{}, fmt.Errorf("account: record identity: %w", err)
	}

	// Someone recorded an identity first (or the user vanished).
	doc, err = s.load(ctx, userID)
	if err != nil || doc.IDIndex == "" {
		_ = s.releaseClaim(ctx, idx, userID)
		if err != nil {
			return User{}, err
		}
		return User{}, errors.New("account: identity update did not apply")
	}
	if doc.IDIndex != idx {
		if err := s.releaseClaim(ctx, idx, userID); err != nil {
			return User{}, err
		}
	}
	return s.raiseRecorded(ctx, doc, idx, name, level)
}

// raiseRecorded handles a user whose identity is already recorded: the same
// identity raises the level, another one is ErrIdentityLocked.
func (s *Store) raiseRecorded(ctx context.Context, doc userDoc, idx, name string, level int) (User, error) {
	same, err := s.sameIdentity(doc, idx, name)
	if err != nil {
		return User{}, err
	}
	if !same {
		return User{}, ErrIdentityLocked
	}
	if err := s.dropStaleClaims(ctx, doc.ID, idx); err != nil {
		return User{}, err
	}
	if doc.Level >= level {
		return doc.user(), nil
	}
	err = s.users.FindOneAndUpdate(ctx, bson.M{"_id": doc.ID},
		bson.M{"$max": bson.M{"level": level}, "$set": bson.M{"updated_at": s.now()}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("account: raise level: %w", err)
	}
	return doc.user(), nil
}

// writeTimeout bounds the steps of a raise after the request's context is
// left behind (a cancelled request still completes or undoes them).
const writeTimeout = 30 * time.Second

// claimGrace is how long a claim whose holder has not recorded the identity
// keeps the number for that holder's retry; older, it is abandoned (the
// holder crashed between the claim and the user update) and anyone may take
// it over. Well above writeTimeout, so a raise still under way is never
// taken for abandoned, with room for replicas' clocks to differ.
const claimGrace = 5 * time.Minute

// claimDoc is an identity_claims document.
type claimDoc struct {
	ID        string    `bson:"_id"`
	UserID    string    `bson:"user_id"`
	CreatedAt time.Time `bson:"created_at"`
}

// claim makes userID the owner of the ID number with blind index idx:
// nil when it now is (or already was), ErrRealnameTaken when another user
// holds it. A claim whose owner no longer exists, whose owner's recorded
// identity is another ID number, or whose owner recorded no identity within
// claimGrace, is stale and is taken over (platform.Claim).
// A claim still contended after the repairs platform.Claim allows is an
// error wrapping platform.ErrClaimContended.
func (s *Store) claim(ctx context.Context, idx, userID string) error {
	held, err := platform.Claim(ctx, platform.UniqueClaim[claimDoc]{
		Coll:        s.claims,
		Doc:         claimDoc{ID: idx, UserID: userID, CreatedAt: s.now()},
		HolderField: "user_id",
		Judge: func(ctx context.Context, owner claimDoc) (platform.ClaimVerdict, error) {
			if owner.UserID == userID {
				return platform.ClaimOurs, nil // a retry, or a crash before the user was updated
			}
			od, err := s.load(ctx, owner.UserID)
			switch {
			case errors.Is(err, ErrNotFound):
				return platform.ClaimStale, nil
			case err != nil:
				return 0, err
			case od.IDIndex != "" && od.IDIndex != idx:
				return platform.ClaimStale, nil
			case od.IDIndex == "" && s.now().Sub(owner.CreatedAt) > claimGrace:
				// Its holder never recorded the identity (a crash between
				// the two steps) and had ample time to retry.
				return platform.ClaimStale, nil
			}
			return platform.ClaimLive, nil
		},
	})
	if err != nil {
		return fmt.Errorf("account: claim id number: %w", err)
	}
	if !held {
		return ErrRealnameTaken
	}
	return nil
}

// releaseClaim deletes the claim idx if userID holds it.
func (s *Store) releaseClaim(ctx context.Context, idx, userID string) error {
	if _, err := s.claims.DeleteOne(ctx, bson.M{"_id": idx, "user_id": userID}); err != nil {
		return fmt.Errorf("account: release id number claim: %w", err)
	}
	return nil
}

// dropStaleClaims deletes every claim of userID except idx, its recorded
// identity: left-overs of raises that lost to another identity and crashed
// before releasing their claim.
func (s *Store) dropStaleClaims(ctx context.Context, userID, idx string) error {
	_, err := s.claims.DeleteMany(ctx, bson.M{"user_id": userID, "_id": bson.M{"$ne": idx}})
	if err != nil {
		return fmt.Errorf("account: drop stale id number claims: %w", err)
	}
	return nil
}
