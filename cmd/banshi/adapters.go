package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/applications"
	"banshi/appointments"
	"banshi/internal/account"
	"banshi/internal/pages"
	"banshi/internal/session"
	"banshi/notify"
)

// peopleDirectory tells staff lists who a citizen is: full name and masked
// ID number, decrypted from the citizen store.
type peopleDirectory struct{ accounts *account.Store }

var _ appointments.PeopleDirectory = peopleDirectory{}

func (p peopleDirectory) Person(ctx context.Context, userID string) (string, string, error) {
	id, err := p.accounts.Identity(ctx, userID)
	if err != nil {
		return "", "", err
	}
	return id.Name, account.MaskIDNumber(id.IDNumber), nil
}

// levels reads citizens' real-name levels for the booking engine.
type levels struct{ accounts *account.Store }

var _ appointments.Levels = levels{}

func (l levels) Level(ctx context.Context, userID string) (int, error) {
	u, err := l.accounts.Get(ctx, userID)
	if err != nil {
		return 0, err
	}
	return u.Level, nil
}

// sessionLevels tells a user's sessions a level the booking engine found
// higher than theirs.
type sessionLevels struct {
	sessions *session.Store
	log      *slog.Logger
}

func (s sessionLevels) raised(ctx context.Context, userID string, level int) {
	if err := s.sessions.RaiseLevel(ctx, userID, level); err != nil {
		s.log.WarnContext(ctx, "record level in sessions", "err", err, "user_id", userID)
	}
}

// appointmentsSection fills the citizen page's appointments with the
// upcoming bookings.
type appointmentsSection struct{ booking *appointments.Service }

var _ pages.Section = appointmentsSection{}

func (appointmentsSection) Name() string { return "appointments" }

func (a appointmentsSection) Load(ctx context.Context, userID string) (any, error) {
	return a.booking.ListMine(ctx, userID, true, 20)
}

// messagesSection fills the citizen page's messages with the 20 latest
// in-app messages.
type messagesSection struct{ inbox *notify.Inbox }

var _ pages.Section = messagesSection{}

func (messagesSection) Name() string { return "messages" }

func (m messagesSection) Load(ctx context.Context, userID string) (any, error) {
	return m.inbox.List(ctx, userID, 20)
}

// applicationsSection fills the citizen page's applications with the 20
// most recently changed applications of the ID number the citizen proved.
type applicationsSection struct{ apps *applications.Service }

var _ pages.Section = applicationsSection{}

func (applicationsSection) Name() string { return "applications" }

func (a applicationsSection) Load(ctx context.Context, userID string) (any, error) {
	return a.apps.ListMine(ctx, userID, 20)
}

// pageViews drops the cached page views of a citizen whose applications
// changed outside any request of theirs.
type pageViews struct {
	sessions *session.Store
	log      *slog.Logger
}

func (p pageViews) drop(ctx context.Context, userID string) {
	if err := p.sessions.DropViews(ctx, userID); err != nil {
		p.log.WarnContext(ctx, "drop page views", "err", err, "user_id", userID)
	}
}

// The users collection of package account, and the fields provenOwners
// reads: a user's real-name level and the blind index of the ID number
// recorded for them.
const (
	accountUsers = "users"
	provenLevel  = 3 // matched against WeChat's record (3) or face-verified (4)
)

// provenOwners tells applications who proved an ID number: the user whose
// document in account's users collection carries that blind index (id_index)
// at level 3 or more. A level-2 user carries the index too, from a mere
// declaration, and is no owner.
type provenOwners struct{ users *mongo.Collection }

var _ applications.Owners = provenOwners{}

// EnsureIndexes creates the index ProvenOwner reads by (on id_index, with the
// default name, so that the same index made elsewhere is the same request).
func (p provenOwners) EnsureIndexes(ctx context.Context) error {
	if _, err := p.users.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "id_index", Value: 1}}}); err != nil {
		return fmt.Errorf("users id_index index: %w", err)
	}
	return nil
}

func (p provenOwners) ProvenOwner(ctx context.Context, idIndex string) (string, error) {
	if idIndex == "" {
		return "", nil
	}
	var u struct {
		ID string `bson:"_id"`
	}
	err := p.users.FindOne(ctx, bson.M{"id_index": idIndex, "level": bson.M{"$gte": provenLevel}},
		options.FindOne().SetProjection(bson.M{"_id": 1})).Decode(&u)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find proven owner: %w", err)
	}
	return u.ID, nil
}

func (p provenOwners) ProvenIndex(ctx context.Context, userID string) (string, error) {
	var u struct {
		IDIndex string `bson:"id_index"`
		Level   int    `bson:"level"`
	}
	err := p.users.FindOne(ctx, bson.M{"_id": userID},
		options.FindOne().SetProjection(bson.M{"id_index": 1, "level": 1})).Decode(&u)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read proven id number: %w", err)
	}
	if u.Level < provenLevel {
		return "", nil
	}
	return u.IDIndex, nil
}
