package applications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Deps is what the service needs.
type Deps struct {
	DB       *mongo.Database
	Clock    platform.Clock
	Log      *slog.Logger // nil: discard
	Index    Indexer      // blind index of ID numbers (account.Cipher)
	Owners   Owners       // who proved an ID number
	Notifier Notifier     // publishes citizens' messages (notify.Outbox)
	// PageChanged runs after an application of userID changed (it drops the
	// cached views of the citizen's page). Optional.
	PageChanged func(ctx context.Context, userID string)
}

// Service receives departments' application events and shows citizens their
// applications.
type Service struct {
	apps    *mongo.Collection
	events  *mongo.Collection
	clock   platform.Clock
	log     *slog.Logger
	index   Indexer
	owners  Owners
	notify  Notifier
	changed func(ctx context.Context, userID string)
	leases  *platform.Leases
}

// NewService returns the service. Errors: a missing dependency.
func NewService(d Deps) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.Index == nil || d.Owners == nil || d.Notifier == nil {
		return nil, errors.New("applications: DB, Clock, Index, Owners and Notifier are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		apps: d.DB.Collection(collApplications), events: d.DB.Collection(collEvents),
		clock: d.Clock, log: log, index: d.Index, owners: d.Owners, notify: d.Notifier,
		changed: d.PageChanged, leases: platform.NewLeases(d.DB, d.Clock),
	}, nil
}

// EnsureIndexes creates the indexes citizens' lists, enterprises' pages and
// the sweeper read by. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		keys bson.D
	}{
		{s.apps, bson.D{{Key: "id_index", Value: 1}, {Key: "updated_at", Value: -1}}},
		{s.apps, bson.D{{Key: "uscc", Value: 1}, {Key: "updated_at", Value: -1}}},
		{s.events, bson.D{{Key: "published", Value: 1}, {Key: "received_at", Value: 1}}},
	} {
		if _, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("applications indexes: %w", err)
		}
	}
	return nil
}
