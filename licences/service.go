package licences

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Deps are what the service needs.
type Deps struct {
	DB     *mongo.Database
	Clock  platform.Clock
	Log    *slog.Logger
	Cipher Cipher
	Owners Owners
	Keys   IssuerKeys
	Scopes Scopes
	// Signer is Banshi's own SM2 key, signing show tokens and annotated
	// copies; nil: those are refused (ErrSignerUnavailable).
	Signer *Signer
	// Metrics, optional, counts verifications (metrics.go).
	Metrics *Metrics
}

// Service keeps licences: intake from departments (Receive), the holder's
// wallet, showing and verification, authorisations and copies.
type Service struct {
	licences, events, uses, auths *mongo.Collection
	clock                         platform.Clock
	log                           *slog.Logger
	cipher                        Cipher
	owners                        Owners
	keys                          IssuerKeys
	scopes                        Scopes
	signer                        *Signer
	metrics                       *Metrics
}

// NewService returns the service. Errors: a missing dependency.
func NewService(d Deps) (*Service, error) {
	if d.DB == nil || d.Cipher == nil || d.Owners == nil || d.Keys == nil || d.Scopes == nil {
		return nil, errors.New("licences: DB, Cipher, Owners, Keys and Scopes are required")
	}
	if d.Clock == nil {
		d.Clock = platform.SystemClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		licences: d.DB.Collection(CollLicences), events: d.DB.Collection(CollEvents),
		uses: d.DB.Collection(CollUses), auths: d.DB.Collection(CollAuthorizations),
		clock: d.Clock, log: d.Log, cipher: d.Cipher, owners: d.Owners, keys: d.Keys, scopes: d.Scopes, signer: d.Signer,
		metrics: d.Metrics,
	}, nil
}

// EnsureIndexes creates the indexes the queries use (idempotent).
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		keys bson.D
	}{
		{s.licences, bson.D{{Key: "id_index", Value: 1}, {Key: "received_at", Value: -1}}},
		{s.licences, bson.D{{Key: "uscc", Value: 1}, {Key: "received_at", Value: -1}}},
		{s.uses, bson.D{{Key: "licence_id", Value: 1}, {Key: "at", Value: -1}}},
		{s.auths, bson.D{{Key: "licence_id", Value: 1}, {Key: "created_at", Value: -1}}},
	} {
		if _, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("licences indexes: %w", err)
		}
	}
	return nil
}

// now is the clock's time in UTC, to the millisecond (what MongoDB keeps).
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// load reads a licence by identifier. Errors: ErrNotFound.
func (s *Service) load(ctx context.Context, id string) (licenceDoc, error) {
	var d licenceDoc
	err := s.licences.FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return licenceDoc{}, ErrNotFound
	}
	if err != nil {
		return licenceDoc{}, fmt.Errorf("read licence: %w", err)
	}
	return d, nil
}

// find reads the licences matching filter, most recently received first.
func (s *Service) find(ctx context.Context, filter bson.M) ([]licenceDoc, error) {
	cur, err := s.licences.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "received_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(200))
	if err != nil {
		return nil, fmt.Errorf("list licences: %w", err)
	}
	var docs []licenceDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list licences: %w", err)
	}
	return docs, nil
}
