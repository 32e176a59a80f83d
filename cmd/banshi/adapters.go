package main

import (
	"context"
	"errors"
	"log/slog"

	"banshi/applications"
	"banshi/appointments"
	"banshi/internal/account"
	"banshi/internal/pages"
	"banshi/internal/session"
	"banshi/notify"
	"banshi/notify/subscribe"
	"banshi/payments"
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

// billsSection fills the citizen page's bills with the bills of the ID
// number the citizen proved: unpaid first, then paid with their order.
type billsSection struct{ bills *payments.Bills }

var _ pages.Section = billsSection{}

func (billsSection) Name() string { return "bills" }

func (b billsSection) Load(ctx context.Context, userID string) (any, error) {
	return b.bills.ForUser(ctx, userID)
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

// provenOwners tells applications who proved an ID number (level 3 or 4;
// a level-2 declaration is no owner), from the citizen store.
type provenOwners struct{ accounts *account.Store }

var (
	_ applications.Owners = provenOwners{}
	_ payments.Owners     = provenOwners{}
)

func (p provenOwners) ProvenOwner(ctx context.Context, idIndex string) (string, error) {
	id, err := p.accounts.ProvenOwnerOfIndex(ctx, idIndex)
	if errors.Is(err, account.ErrNotFound) {
		return "", nil
	}
	return id, err
}

func (p provenOwners) ProvenIndex(ctx context.Context, userID string) (string, error) {
	idx, err := p.accounts.ProvenIndex(ctx, userID)
	if errors.Is(err, account.ErrNotFound) {
		return "", nil
	}
	return idx, err
}

// miniUsers finds citizens by their mini-program openid for the subscribe
// channel, and their openid by ID.
type miniUsers struct{ accounts *account.Store }

var _ subscribe.Users = miniUsers{}

func (m miniUsers) UserByMiniOpenID(ctx context.Context, openID string) (string, error) {
	id, err := m.accounts.UserIDByOpenID(ctx, account.ChannelMiniProgram, openID)
	if errors.Is(err, account.ErrNotFound) {
		return "", nil
	}
	return id, err
}

func (m miniUsers) MiniOpenID(ctx context.Context, userID string) (string, error) {
	u, err := m.accounts.Get(ctx, userID)
	if errors.Is(err, account.ErrNotFound) {
		return "", nil
	}
	return u.MiniOpenID, err
}

// payers tells the order service a citizen's real-name level and
// mini-program openid.
type payers struct{ accounts *account.Store }

var _ payments.Payers = payers{}

func (p payers) Payer(ctx context.Context, userID string) (payments.Payer, error) {
	u, err := p.accounts.Get(ctx, userID)
	if errors.Is(err, account.ErrNotFound) {
		return payments.Payer{UserID: userID}, nil
	}
	if err != nil {
		return payments.Payer{}, err
	}
	return payments.Payer{UserID: userID, Level: u.Level, MiniOpenID: u.MiniOpenID}, nil
}
