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
}

var _ People = (*account.Store)(nil)

// Deps is what the Service needs.
type Deps struct {
	DB       *mongo.Database
	Registry Registry
	People   People
	Clock    platform.Clock
	Log      *slog.Logger // nil: discard
}

// Service claims enterprises and lists a citizen's enterprises. Safe for
// concurrent use, also from several processes.
type Service struct {
	claims   *mongo.Collection
	registry Registry
	people   People
	clock    platform.Clock
	log      *slog.Logger
}

// NewService returns the service. Errors: a missing dependency.
func NewService(d Deps) (*Service, error) {
	if d.DB == nil || d.Registry == nil || d.People == nil || d.Clock == nil {
		return nil, errors.New("enterprises: the service needs DB, Registry, People and Clock")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{claims: d.DB.Collection(CollClaims), registry: d.Registry, people: d.People, clock: d.Clock, log: log}, nil
}

// EnsureIndexes creates enterprise_claims.user_id_1_claimed_at_1 (Mine).
// The arbiter of a claim is the _id and needs none. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	model := mongo.IndexModel{
		Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "claimed_at", Value: 1}},
		Options: options.Index().SetName("user_id_1_claimed_at_1"),
	}
	var err error
	for range 3 {
		// A concurrent creator may make ours fail once; the retry is a no-op.
		if _, err = s.claims.Indexes().CreateOne(ctx, model); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("enterprises: create index %s.user_id_1_claimed_at_1: %w", CollClaims, err)
	}
	return nil
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
	Role      string // RoleLegalRepresentative
	ClaimedAt time.Time
}

func (d claimDoc) membership() Membership {
	return Membership{USCC: d.USCC, Name: d.Name, Role: RoleLegalRepresentative, ClaimedAt: d.ClaimedAt}
}
