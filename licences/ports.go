package licences

import (
	"context"

	"banshi/internal/account"
)

// Cipher seals a person holder's identity (bound to the licence and field)
// and computes the blind index of the ID number (account.Cipher).
type Cipher interface {
	Seal(plaintext string, b account.Binding) ([]byte, error)
	Open(sealed []byte, b account.Binding) (string, error)
	BlindIndex(kind, value string) string
}

// IDNumberKind is the blind-index kind of ID numbers, the one citizens'
// identities are indexed under.
const IDNumberKind = "id_number"

// Owners says which ID number a citizen has proven (real-name level 3 or
// more; a level-2 declaration proves nothing).
type Owners interface {
	// ProvenIndex returns the blind index of the ID number userID proved,
	// "" when none.
	ProvenIndex(ctx context.Context, userID string) (string, error)
}

// IssuerKeys gives the SM2 public key (PEM) an integration registered for
// its licences (integrations.Registry.IssuerKey): "" when none.
type IssuerKeys interface {
	IssuerKey(ctx context.Context, integrationID string) (string, error)
}

// Scopes says whether an integration may use licences
// (integrations.Registry.Authorize): nil when it exists, is enabled and has
// the scope.
type Scopes interface {
	Authorize(ctx context.Context, source, scope string) error
}
