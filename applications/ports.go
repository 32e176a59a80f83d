package applications

import (
	"context"

	"banshi/notify"
)

// Indexer computes the blind index of a normalised value (account.Cipher):
// applications store the index of an applicant's ID number, never the number.
type Indexer interface {
	BlindIndex(kind, value string) string
}

// IDNumberKind is the blind-index kind of ID numbers, the one citizens'
// identities are indexed under.
const IDNumberKind = "id_number"

// Owners says which citizen has proven an ID number: one whose real-name
// level is 3 or more (matched against WeChat's record, or face-verified) with
// that number. A level-2 declaration proves nothing and is never an owner.
type Owners interface {
	// ProvenOwner returns the id of the user who proved the ID number with
	// blind index idIndex, "" when nobody has.
	ProvenOwner(ctx context.Context, idIndex string) (string, error)
	// ProvenIndex returns the blind index of the ID number userID proved,
	// "" when the user has proven none (or does not exist).
	ProvenIndex(ctx context.Context, userID string) (string, error)
}

// Notifier publishes messages durably and idempotently by Message.ID
// (notify.Outbox).
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
}
