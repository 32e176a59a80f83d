package licences

import "time"

// Collection names.
const (
	CollLicences       = "licences"               // licenceDoc, _id the identifier
	CollEvents         = "licence_events"         // eventDoc, _id "<source>|<event_id>"
	CollUses           = "licence_uses"           // useDoc, _id "verify:<token id>" | "copy:<source>|<event_id>"
	CollAuthorizations = "licence_authorizations" // authorizationDoc, _id "la_<hex>"
)

// Holder kinds as stored.
const (
	holderPerson     = "person"
	holderEnterprise = "enterprise"
)

// Sealed holder fields' binding names (account.Binding{CollLicences, <identifier>, field}).
const (
	fieldHolderName = "holder.name"
	fieldHolderCode = "holder.code"
)

// metaDoc is the metadata stored in the clear: everything but the holder.
type metaDoc struct {
	Name              string            `bson:"name"`
	Number            string            `bson:"number"`
	TypeName          string            `bson:"type_name"`
	TypeCode          string            `bson:"type_code"`
	Version           string            `bson:"version"`
	DefiningAuthority Authority         `bson:"defining_authority"`
	IssuingAuthority  Authority         `bson:"issuing_authority"`
	IssueDate         string            `bson:"issue_date"`
	ValidFrom         string            `bson:"valid_from"`
	ValidUntil        string            `bson:"valid_until,omitempty"`
	AreaCode          string            `bson:"area_code"`
	ServiceItem       string            `bson:"service_item,omitempty"`
	Extensions        map[string]string `bson:"extensions"`
}

// holderDoc is the holder: a person only sealed, masked and by the blind
// index of the ID number; an enterprise by USCC and name in the clear.
type holderDoc struct {
	Kind       string `bson:"kind"`
	CodeType   string `bson:"code_type"`
	NameMasked string `bson:"name_masked,omitempty"`
	CodeMasked string `bson:"code_masked,omitempty"`
	NameSealed []byte `bson:"name_sealed,omitempty"`
	CodeSealed []byte `bson:"code_sealed,omitempty"`
	Name       string `bson:"name,omitempty"` // enterprise
	USCC       string `bson:"uscc,omitempty"` // enterprise
}

type signatureDoc struct {
	Algorithm string    `bson:"algorithm"`
	Value     []byte    `bson:"value"`
	SignedAt  time.Time `bson:"signed_at"`
}

// licenceDoc is a licences document. Version grows with every change, each
// a compare-and-swap on it; Events lists every event_id applied.
type licenceDoc struct {
	ID         string       `bson:"_id"` // the identifier
	Source     string       `bson:"source"`
	Meta       metaDoc      `bson:"meta"`
	Holder     holderDoc    `bson:"holder"`
	IDIndex    string       `bson:"id_index,omitempty"` // person holders
	USCC       string       `bson:"uscc,omitempty"`     // enterprise holders
	Status     string       `bson:"status"`
	Signature  signatureDoc `bson:"signature"`
	Events     []string     `bson:"events"`
	LastEvent  string       `bson:"last_event"`
	Version    int64        `bson:"version"`
	ReceivedAt time.Time    `bson:"received_at"`
	UpdatedAt  time.Time    `bson:"updated_at"`
}

// eventDoc records an event applied.
type eventDoc struct {
	ID         string    `bson:"_id"`
	Source     string    `bson:"source"`
	EventID    string    `bson:"event_id"`
	Action     string    `bson:"action"`
	Identifier string    `bson:"identifier"`
	ReceivedAt time.Time `bson:"received_at"`
}

// Use kinds.
const (
	UseVerify = "verify" // a counter verified a show token
	UseCopy   = "copy"   // a department fetched an annotated copy
)

// useDoc is one use of a licence.
type useDoc struct {
	ID              string    `bson:"_id"`
	LicenceID       string    `bson:"licence_id"`
	Kind            string    `bson:"kind"`
	By              string    `bson:"by"`      // staff username, or integration id
	ByRole          string    `bson:"by_role"` // staff role, or "integration"
	AuthorizationID string    `bson:"authorization_id,omitempty"`
	Cause           string    `bson:"cause,omitempty"`
	At              time.Time `bson:"at"`
}

// authorizationDoc is a holder's authorisation of a department to fetch
// annotated copies of one licence.
type authorizationDoc struct {
	ID            string     `bson:"_id"`
	LicenceID     string     `bson:"licence_id"`
	UserID        string     `bson:"user_id"`
	IntegrationID string     `bson:"integration_id"`
	Cause         string     `bson:"cause"`
	CreatedAt     time.Time  `bson:"created_at"`
	ExpiresAt     time.Time  `bson:"expires_at"`
	WithdrawnAt   *time.Time `bson:"withdrawn_at,omitempty"`
}
