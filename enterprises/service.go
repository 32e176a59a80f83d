package enterprises

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// CollClaims holds one document per claimed enterprise, _id = USCC.
const CollClaims = "enterprise_claims"

// RoleLegalRepresentative is the role of the citizen who claimed an
// enterprise.
const RoleLegalRepresentative = "legal_representative"

// claimLevel is the real-name level claiming needs (face verification).
const claimLevel = 4

// People is what claiming needs of the citizen store (*account.Store).
type People interface {
	// Get returns the user (its real-name level). Errors: account.ErrNotFound.
	Get(ctx context.Context, userID string) (account.User, error)
	// CheckIdentity reports whether id equals the user's recorded identity
	// (name compared decrypted, ID number by blind index).
	CheckIdentity(ctx context.Context, userID string, id account.Identity) (bool, error)
	// ProvenIndex returns the blind index of the ID number the user proved
	// (level 3 or 4), "" when none. Errors: account.ErrNotFound.
	ProvenIndex(ctx context.Context, userID string) (string, error)
}

// Sealer encrypts invitees' names and ID numbers and indexes ID numbers
// (*account.Cipher).
type Sealer interface {
	Seal(plaintext string, b account.Binding) ([]byte, error)
	Open(sealed []byte, b account.Binding) (string, error)
	BlindIndex(kind, value string) string
}

var _ Sealer = (*account.Cipher)(nil)

var _ People = (*account.Store)(nil)

// Deps is what the Service needs.
type Deps struct {
	DB       *mongo.Database
	Registry Registry
	People   People
	Sealer   Sealer
	Clock    platform.Clock
	Log      *slog.Logger // nil: discard
	// Page fills the enterprise page's sections; nil fields are sections
	// left empty.
	Page PageSources
	// Notifier and Owners, both optional, tell an invitee who already
	// proved the invited identity of the invitation (messages.go).
	Notifier Notifier
	Owners   Owners
}

// Service claims enterprises and lists a citizen's enterprises. Safe for
// concurrent use, also from several processes.
type Service struct {
	claims   *mongo.Collection
	members  *mongo.Collection
	seats    *mongo.Collection
	audit    *mongo.Collection
	policies *mongo.Collection
	sealer   Sealer
	page     PageSources
	notifier Notifier
	owners   Owners
	registry Registry
	people   People
	clock    platform.Clock
	log      *slog.Logger
}

// NewService returns the service. Errors: a missing dependency.
func NewService(d Deps) (*Service, error) {
	if d.DB == nil || d.Registry == nil || d.People == nil || d.Sealer == nil || d.Clock == nil {
		return nil, errors.New("enterprises: the service needs DB, Registry, People, Sealer and Clock")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{claims: d.DB.Collection(CollClaims), members: d.DB.Collection(CollMembers),
		seats: d.DB.Collection(CollSeats), audit: d.DB.Collection(CollAudit), policies: d.DB.Collection(CollPolicies),
		sealer: d.Sealer, page: d.Page, notifier: d.Notifier, owners: d.Owners, registry: d.Registry, people: d.People, clock: d.Clock, log: log}, nil
}

// EnsureIndexes creates enterprise_claims.user_id_1_claimed_at_1 (Mine),
// the members' indexes by enterprise, user, invitee and grantor, and the
// audit trail's and policies' indexes. The arbiters (claims, seats) are _ids
// and need none. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		keys bson.D
	}{
		{s.claims, bson.D{{Key: "user_id", Value: 1}, {Key: "claimed_at", Value: 1}}},
		{s.members, bson.D{{Key: "uscc", Value: 1}, {Key: "created_at", Value: 1}}},
		{s.members, bson.D{{Key: "user_id", Value: 1}}},
		{s.members, bson.D{{Key: "id_index", Value: 1}}},
		{s.members, bson.D{{Key: "granted_by_member", Value: 1}}},
		{s.audit, bson.D{{Key: "uscc", Value: 1}, {Key: "at", Value: -1}}},
		{s.policies, bson.D{{Key: "updated_at", Value: -1}}},
	} {
		name := indexName(ix.keys)
		model := mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(name)}
		var err error
		for range 3 {
			// A concurrent creator may make ours fail once; the retry is a no-op.
			if _, err = ix.coll.Indexes().CreateOne(ctx, model); err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("enterprises: create index %s.%s: %w", ix.coll.Name(), name, err)
		}
	}
	return nil
}

// indexName is MongoDB's default name of an index on keys.
func indexName(keys bson.D) string {
	name := ""
	for i, k := range keys {
		if i > 0 {
			name += "_"
		}
		name += fmt.Sprintf("%s_%v", k.Key, k.Value)
	}
	return name
}

// claimDoc is an enterprise_claims document: no personal data but the
// claimant's user id.
type claimDoc struct {
	USCC      string    `bson:"_id"`
	Name      string    `bson:"name"` // 企业名称 at claim time
	UserID    string    `bson:"user_id"`
	ClaimedAt time.Time `bson:"claimed_at"`
}

// Membership is an enterprise a citizen acts for and in which role.
type Membership struct {
	USCC      string
	Name      string
	Role      string    // RoleLegalRepresentative, RoleAdministrator or RoleAgent
	ClaimedAt time.Time // the claim, or the member's acceptance
	// Members only (nil and zero for the legal representative):
	MemberID   string
	Scope      *Scope
	ValidFrom  *time.Time
	ValidUntil *time.Time // nil: no end
	InForce    bool       // the legal representative: always
}

func (d claimDoc) membership() Membership {
	return Membership{USCC: d.USCC, Name: d.Name, Role: RoleLegalRepresentative, ClaimedAt: d.ClaimedAt, InForce: true}
}
