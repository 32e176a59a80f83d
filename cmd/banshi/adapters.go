package main

import (
	"context"
	"log/slog"

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
