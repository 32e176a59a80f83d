package evaluations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Config tunes evaluations. Zero fields take the defaults in brackets.
type Config struct {
	// DefaultAfter is how long after a result an unrated result is rated
	// 基本满意 by default, in natural days [7].
	DefaultAfterDays int
	// RectifyWorkingDays is a ticket's deadline, in working days of the
	// holiday calendar after the 差评 [5].
	RectifyWorkingDays int
	// Region is the administrative division code (GB/T 2260, 6 digits)
	// recorded on every evaluation [440100].
	Region string
}

// DefaultRegion is Config.Region's default (广州市).
const DefaultRegion = "440100"

var regionPattern = regexp.MustCompile(`^[1-9][0-9]{5}$`)

// Deps is what the service needs. Acting may be nil: then no citizen may
// rate an enterprise's application.
type Deps struct {
	DB         *mongo.Database
	Clock      platform.Clock
	Log        *slog.Logger // nil: discard
	Subjects   Subjects
	Identities Identities
	Acting     Acting
	Calendar   Calendar
	Notifier   Notifier // tells citizens the departments' replies; optional
	Metrics    *Metrics // counts ratings (metrics.go); optional
}

// Service records evaluations, default ratings and rectification tickets.
type Service struct {
	evals    *mongo.Collection
	tickets  *mongo.Collection
	cursors  *mongo.Collection
	clock    platform.Clock
	log      *slog.Logger
	subjects Subjects
	ids      Identities
	acting   Acting
	calendar Calendar
	notify   Notifier
	cfg      Config
	metrics  *Metrics
}

// NewService returns the service. Errors: a missing dependency, a bad
// configuration.
func NewService(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.Subjects == nil || d.Identities == nil || d.Calendar == nil {
		return nil, errors.New("evaluations: DB, Clock, Subjects, Identities and Calendar are required")
	}
	if cfg.DefaultAfterDays <= 0 {
		cfg.DefaultAfterDays = 7
	}
	if cfg.RectifyWorkingDays <= 0 {
		cfg.RectifyWorkingDays = 5
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if !regionPattern.MatchString(cfg.Region) {
		return nil, fmt.Errorf("evaluations: region %q is not a 6-digit division code", cfg.Region)
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		evals: d.DB.Collection(collEvaluations), tickets: d.DB.Collection(collTickets),
		cursors: d.DB.Collection(collCursors), clock: d.Clock, log: log, subjects: d.Subjects,
		ids: d.Identities, acting: d.Acting, calendar: d.Calendar, notify: d.Notifier, cfg: cfg,
		metrics: d.Metrics,
	}, nil
}

// EnsureIndexes creates the indexes the citizen's list, the sweeper, the
// ticket lists and the statistics read by. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		keys bson.D
	}{
		{s.evals, bson.D{{Key: "evaluator.user_id", Value: 1}, {Key: "created_at", Value: -1}}},
		{s.evals, bson.D{{Key: "evaluator.id_index", Value: 1}, {Key: "created_at", Value: -1}}},
		{s.evals, bson.D{{Key: "ticket_pending", Value: 1}, {Key: "created_at", Value: 1}}},
		{s.evals, bson.D{{Key: "created_at", Value: 1}}},
		{s.tickets, bson.D{{Key: "state", Value: 1}, {Key: "deadline", Value: 1}}},
		{s.tickets, bson.D{{Key: "created_at", Value: -1}}},
		{s.tickets, bson.D{{Key: "reply_pending", Value: 1}}},
	} {
		if _, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("evaluations indexes: %w", err)
		}
	}
	return nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }
