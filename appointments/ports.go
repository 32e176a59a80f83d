package appointments

import (
	"context"

	"banshi/internal/platform"
	"banshi/notify"
)

// Notifier publishes the messages this package sends (confirmation,
// cancellation, reminders, no-show warning, suspension), durably and
// idempotently by Message.ID ("appointment_booked:<id>", ...), one or many
// at once (a closure tells every citizen of the day): *notify.Outbox
// implements it, and so does *notify.Inbox for the inbox alone.
type Notifier interface {
	Publish(ctx context.Context, msgs []notify.Message) error
}

// PeopleDirectory tells staff lists who a citizen is. Names and ID numbers
// are encrypted at rest elsewhere; the directory returns the full name and the
// masked ID number ("4401**********1234"). An unknown user is an error; the
// lists then show empty fields.
type PeopleDirectory interface {
	Person(ctx context.Context, userID string) (name, idNumberMasked string, err error)
}

// Levels reads a citizen's real-name level from the store of record. The
// level a session carries may be lower than the truth (levels only rise), so
// the engine asks here before refusing a booking for level.
type Levels interface {
	Level(ctx context.Context, userID string) (int, error)
}

// Citizen is the caller of the citizen API, as the session says.
type Citizen struct {
	ID            string `json:"id"`
	RealnameLevel int    `json:"realname_level"`
}

// Staff roles (platform's, named here for callers of this package).
const (
	RoleAdmin     = platform.RoleAdmin
	RoleHallStaff = platform.RoleHallStaff
	RoleFinance   = platform.RoleFinance
)

// StaffActor is the staff member acting, as the api layer resolved it from
// the staff session: admins act at every hall, hall staff at HallIDs only,
// finance staff not at all.
type StaffActor struct {
	ID      string   `json:"id"`
	Role    string   `json:"role"`
	HallIDs []string `json:"hall_ids"`
}

// mayWork reports whether the actor may work appointments of hallID.
func (a StaffActor) mayWork(hallID string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleHallStaff:
		for _, h := range a.HallIDs {
			if h == hallID {
				return true
			}
		}
	}
	return false
}
