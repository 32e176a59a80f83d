package payments

import (
	"context"

	"banshi/notify"
)

// Indexer computes the blind index of a normalised value (account.Cipher):
// bills store the index of a payer's ID number and of the verification
// code, never the values.
type Indexer interface {
	BlindIndex(kind, value string) string
}

// Blind-index kinds.
const (
	IDNumberKind = "id_number" // the kind citizens' identities are indexed under
	CodeKind     = "bill_code" // verification codes, indexed as "<bill_no>|<code>"
)

// Owners says which citizen has proven an ID number (real-name level 3 or
// more); a level-2 declaration proves nothing.
type Owners interface {
	// ProvenOwner returns the user who proved the ID number with blind index
	// idIndex, "" when nobody has.
	ProvenOwner(ctx context.Context, idIndex string) (string, error)
	// ProvenIndex returns the blind index of the ID number userID proved, ""
	// when none.
	ProvenIndex(ctx context.Context, userID string) (string, error)
}

// Notifier publishes citizens' messages and departments' events durably and
// idempotently by Message.ID (notify.Outbox).
type Notifier interface {
	Notify(ctx context.Context, m notify.Message) error
	PublishTo(ctx context.Context, channel string, msgs []notify.Message) error
	// Get returns a delivery ("<message id>|<channel>") with its state.
	Get(ctx context.Context, id string) (notify.DeliveryView, error)
}

var _ Notifier = (*notify.Outbox)(nil)
