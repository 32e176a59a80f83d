package privacy

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

// CollRequests holds one document per deletion, _id = "delete:" + user id.
const CollRequests = "privacy_requests"

// Checker proves the person holding the session is the person recorded,
// for one sensitive request (*account.Realname: Recheck).
type Checker interface {
	Recheck(ctx context.Context, userID, code string) error
}

// Account is the account's part in deletion (*account.Store).
type Account interface {
	// BeginForget marks the person deleted and removes their logins.
	BeginForget(ctx context.Context, userID string) error
	// FinishForget erases the recorded identity and releases its claim.
	FinishForget(ctx context.Context, userID string) error
}

// SessionEnder ends every session of a person (*session.Store).
type SessionEnder interface {
	RevokeAll(ctx context.Context, userID string) (int, error)
}

// Deps is what the Service needs.
type Deps struct {
	DB       *mongo.Database
	Clock    platform.Clock
	Log      *slog.Logger // nil: discard
	Checker  Checker
	Account  Account
	Sessions SessionEnder
	// Sources make the export package, in this order.
	Sources []Source
	// Erasers run in this order between the account's two steps.
	Erasers []Eraser
}

// Service exports and deletes a person's data. Safe for concurrent use,
// also from several processes.
type Service struct {
	d        Deps
	requests *mongo.Collection
	log      *slog.Logger
}

// NewService returns the service. Errors: a missing dependency.
func NewService(d Deps) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.Checker == nil || d.Account == nil || d.Sessions == nil {
		return nil, errors.New("privacy: the service needs DB, Clock, Checker, Account and Sessions")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, requests: d.DB.Collection(CollRequests), log: log}, nil
}

// EnsureIndexes creates privacy_requests.state_1_started_at_1 (the
// sweeper's query). Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	_, err := s.requests.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "state", Value: 1}, {Key: "started_at", Value: 1}},
		Options: options.Index().SetName("state_1_started_at_1"),
	})
	if err != nil {
		return fmt.Errorf("privacy: create index: %w", err)
	}
	return nil
}

// Package is a person's export (PIPL art. 45).
type Package struct {
	Format      string         `json:"format"` // "banshi-personal-data/1"
	UserID      string         `json:"user_id"`
	GeneratedAt time.Time      `json:"generated_at"`
	Categories  map[string]any `json:"categories"`
}

// Export returns everything linked to the person, after a fresh real-name
// check with code (Checker.Recheck; its errors, nothing exported). A
// category that cannot be read fails the whole export: an incomplete copy
// would mislead. Logged (user id only), never the content.
func (s *Service) Export(ctx context.Context, userID, code string) (Package, error) {
	if err := s.d.Checker.Recheck(ctx, userID, code); err != nil {
		return Package{}, err
	}
	p := Package{Format: "banshi-personal-data/1", UserID: userID,
		GeneratedAt: platform.Local(s.d.Clock.Now()), Categories: make(map[string]any, len(s.d.Sources))}
	for _, src := range s.d.Sources {
		v, err := src.Export(ctx, userID)
		if err != nil {
			return Package{}, fmt.Errorf("privacy: export %s: %w", src.Name(), err)
		}
		p.Categories[src.Name()] = v
	}
	s.log.InfoContext(ctx, "personal data exported", "user_id", userID, "categories", len(p.Categories))
	return p, nil
}

// Request states.
const (
	stateErasing = "erasing"
	stateDone    = "done"
)

// requestDoc is a privacy_requests document: user id and outcomes only.
type requestDoc struct {
	ID         string     `bson:"_id"`
	UserID     string     `bson:"user_id"`
	State      string     `bson:"state"`
	StartedAt  time.Time  `bson:"started_at"`
	FinishedAt *time.Time `bson:"finished_at,omitempty"`
	Outcomes   []Outcome  `bson:"outcomes,omitempty"`
}

// Deletion is the answer to a deletion: what was erased, what was kept and
// why.
type Deletion struct {
	DeletedAt time.Time `json:"deleted_at"`
	Outcomes  []Outcome `json:"categories"`
}

// Delete erases the person (PIPL art. 47) after a fresh real-name check
// with code (Checker.Recheck; its errors, nothing changed). The steps, each
// idempotent, with the request recorded first so that a crash anywhere is
// finished by ResumeDeletions:
//  1. the account is marked deleted and its logins removed (the next login
//     creates a new account);
//  2. every session ends;
//  3. every Eraser runs: erasing what Banshi alone holds, keeping what
//     another duty requires (unlinked);
//  4. the account's identity is erased and the ID-number claim released.
func (s *Service) Delete(ctx context.Context, userID, code string) (Deletion, error) {
	if err := s.d.Checker.Recheck(ctx, userID, code); err != nil {
		return Deletion{}, err
	}
	now := s.d.Clock.Now().UTC().Truncate(time.Millisecond)
	_, err := s.requests.UpdateOne(ctx, bson.M{"_id": "delete:" + userID},
		bson.M{"$setOnInsert": bson.M{"user_id": userID, "state": stateErasing, "started_at": now}},
		options.UpdateOne().SetUpsert(true))
	if err != nil && !platform.IsDuplicateKey(err) {
		return Deletion{}, fmt.Errorf("privacy: record deletion: %w", err)
	}
	s.log.InfoContext(ctx, "account deletion requested", "user_id", userID)
	return s.erase(ctx, userID)
}

// erase runs the deletion's steps for userID and records the outcome.
func (s *Service) erase(ctx context.Context, userID string) (Deletion, error) {
	if err := s.d.Account.BeginForget(ctx, userID); err != nil {
		return Deletion{}, err
	}
	if _, err := s.d.Sessions.RevokeAll(ctx, userID); err != nil {
		return Deletion{}, fmt.Errorf("privacy: end sessions: %w", err)
	}
	outcomes := make([]Outcome, 0, len(s.d.Erasers))
	for _, e := range s.d.Erasers {
		o, err := e.Erase(ctx, userID)
		if err != nil {
			return Deletion{}, err
		}
		outcomes = append(outcomes, o)
	}
	if err := s.d.Account.FinishForget(ctx, userID); err != nil {
		return Deletion{}, err
	}
	outcomes = append(outcomes, Outcome{Category: "account", Erased: true})
	now := s.d.Clock.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.requests.UpdateOne(ctx, bson.M{"_id": "delete:" + userID},
		bson.M{"$set": bson.M{"state": stateDone, "finished_at": now, "outcomes": outcomes}}); err != nil {
		return Deletion{}, fmt.Errorf("privacy: record deletion: %w", err)
	}
	s.log.InfoContext(ctx, "account deleted", "user_id", userID, "categories", len(outcomes))
	return Deletion{DeletedAt: platform.Local(now), Outcomes: outcomes}, nil
}

// resumeAfter is how long a deletion may be under way before the sweeper
// takes it for interrupted: well above a request's time.
const resumeAfter = 2 * time.Minute

// ResumeDeletions finishes deletions interrupted by a crash (started more
// than resumeAfter ago and not done). It returns how many it finished.
func (s *Service) ResumeDeletions(ctx context.Context) (int, error) {
	cutoff := s.d.Clock.Now().UTC().Add(-resumeAfter)
	cur, err := s.requests.Find(ctx, bson.M{"state": stateErasing, "started_at": bson.M{"$lt": cutoff}},
		options.Find().SetLimit(100))
	if err != nil {
		return 0, fmt.Errorf("privacy: find interrupted deletions: %w", err)
	}
	var docs []requestDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("privacy: find interrupted deletions: %w", err)
	}
	n := 0
	for _, d := range docs {
		if _, err := s.erase(ctx, d.UserID); err != nil {
			return n, fmt.Errorf("privacy: resume deletion of %s: %w", d.UserID, err)
		}
		n++
	}
	return n, nil
}

// RunSweeper resumes interrupted deletions every interval, in one replica
// at a time, until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, leases *platform.Leases, every time.Duration) {
	leases.RunEvery(ctx, "privacy.resume", platform.LeaseRun{Log: s.log}, every, func(ctx context.Context) error {
		n, err := s.ResumeDeletions(ctx)
		if n > 0 {
			s.log.Info("interrupted deletions finished", "requests", n)
		}
		return err
	})
}
