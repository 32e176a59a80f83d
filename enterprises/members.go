package enterprises

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"banshi/internal/account"
)

// Collections of members.
const (
	// CollMembers holds one document per appointment of an administrator or
	// invitation of an agent, whatever became of it (_id = member id).
	CollMembers = "enterprise_members"
	// CollSeats holds the arbiters of members (DESIGN.md invariant 1):
	// "seat|<uscc>|<n>" (n < MaxAdministrators) is an administrator's seat,
	// "person|<uscc>|<id index>" the one live binding of a person to an
	// enterprise. Each names the member holding it.
	CollSeats = "enterprise_seats"
	// CollAudit is the enterprise audit trail: one document per change.
	CollAudit = "enterprise_audit"
)

// Roles of members.
const (
	RoleAdministrator = "administrator" // 管理员, appointed by the legal representative
	RoleAgent         = "agent"         // 经办人, invited by the legal representative or an administrator
)

// Member states. Pending and active are live: they hold their arbiters.
const (
	MemberPending   = "pending"   // invited, not yet answered
	MemberActive    = "active"    // accepted
	MemberDeclined  = "declined"  // the invitee said no
	MemberWithdrawn = "withdrawn" // withdrawn before an answer
	MemberRevoked   = "revoked"   // revoked after acceptance (or by cascade)
)

// MaxAdministrators is how many administrators (pending or active) an
// enterprise has at most.
const MaxAdministrators = 5

// Limits of an invitation.
const (
	maxScopeItems = 50
	// maxValidity bounds how far ahead an invitation's validity may end.
	maxValidity = 3 * 366 * 24 * time.Hour
	// maxMembersListed bounds the member list and the invitations listed.
	maxMembersListed = 200
	// seatAbandonAfter: a seat naming a member that was never stored is
	// stale after this long (the inviter died between the two inserts).
	seatAbandonAfter = time.Minute
)

// Blind-index kind of ID numbers, the one citizens' identities are indexed
// under (so an invitation's index equals the invitee's proven index).
const idNumberKind = "id_number"

// Scope is what an agent may do for the enterprise: all business, or the
// listed service item codes (事项编码). Administrators and the legal
// representative have all.
type Scope struct {
	All   bool
	Items []string
}

// Covers reports whether the scope includes the service item code item; an
// empty item (no particular service) is covered by all-business scopes only.
func (s Scope) Covers(item string) bool {
	if s.All {
		return true
	}
	return item != "" && slices.Contains(s.Items, item)
}

// scopeDoc is a Scope as stored.
type scopeDoc struct {
	All   bool     `bson:"all"`
	Items []string `bson:"items,omitempty"`
}

// memberDoc is an enterprise_members document. The invitee is kept as the
// blind index of the ID number, masked forms for display, and the name and
// number sealed (bound to this document's _id and field).
type memberDoc struct {
	ID         string     `bson:"_id"`
	USCC       string     `bson:"uscc"`
	Enterprise string     `bson:"enterprise"` // its name, from the claim
	Role       string     `bson:"role"`
	State      string     `bson:"state"`
	IDIndex    string     `bson:"id_index"`
	NameMasked string     `bson:"name_masked"`
	IDMasked   string     `bson:"id_masked"`
	NameSealed []byte     `bson:"name_sealed"`
	IDSealed   []byte     `bson:"id_sealed"`
	UserID     string     `bson:"user_id,omitempty"` // set on acceptance
	Scope      scopeDoc   `bson:"scope"`
	ValidFrom  time.Time  `bson:"valid_from"`
	ValidUntil *time.Time `bson:"valid_until,omitempty"` // nil: no end (administrators only)
	// GrantedBy is the user who granted it; GrantedByMember the grantor's
	// member id ("" for the legal representative): revoking that member
	// revokes this one.
	GrantedBy       string    `bson:"granted_by"`
	GrantedByMember string    `bson:"granted_by_member,omitempty"`
	Seat            string    `bson:"seat,omitempty"` // administrators: the seat arbiter's _id
	PersonKey       string    `bson:"person_key"`     // the person arbiter's _id
	CreatedAt       time.Time `bson:"created_at"`
	UpdatedAt       time.Time `bson:"updated_at"`
	AnsweredAt      time.Time `bson:"answered_at"`
	EndedAt         time.Time `bson:"ended_at"`
	EndedBy         string    `bson:"ended_by,omitempty"`
	// Cascaded is true once what this member granted was revoked after it
	// ended (false while that is owed).
	Cascaded bool  `bson:"cascaded"`
	Version  int64 `bson:"version"`
}

// live reports whether the member holds its arbiters.
func (d memberDoc) live() bool { return d.State == MemberPending || d.State == MemberActive }

// holds reports whether the member holds its arbiters at now: pending or
// active and its validity not over (an expired member's seat is free).
func (d memberDoc) holds(now time.Time) bool {
	return d.live() && (d.ValidUntil == nil || now.Before(*d.ValidUntil))
}

// inForce reports whether an active member's validity covers now.
func (d memberDoc) inForce(now time.Time) bool {
	return d.State == MemberActive && !now.Before(d.ValidFrom) && (d.ValidUntil == nil || now.Before(*d.ValidUntil))
}

// scope is the member's Scope (administrators: all).
func (d memberDoc) scope() Scope {
	if d.Role == RoleAdministrator {
		return Scope{All: true}
	}
	return Scope{All: d.Scope.All, Items: slices.Clone(d.Scope.Items)}
}

// Member is an administrator or agent (or invitation) as its enterprise's
// managers see it: the person masked, never in clear.
type Member struct {
	ID         string
	USCC       string
	Role       string
	State      string
	NameMasked string
	IDMasked   string
	UserID     string
	Scope      Scope
	ValidFrom  time.Time
	ValidUntil *time.Time
	InForce    bool // active and within its validity now
	GrantedBy  string
	// GrantedByMember is the grantor's member id, "" for the legal
	// representative.
	GrantedByMember string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (d memberDoc) member(now time.Time) Member {
	return Member{
		ID: d.ID, USCC: d.USCC, Role: d.Role, State: d.State, NameMasked: d.NameMasked, IDMasked: d.IDMasked,
		UserID: d.UserID, Scope: d.scope(), ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil, InForce: d.inForce(now),
		GrantedBy: d.GrantedBy, GrantedByMember: d.GrantedByMember, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

// Invitation is a pending invitation as its invitee sees it.
type Invitation struct {
	ID         string
	USCC       string
	Enterprise string // the enterprise's name
	Role       string
	Scope      Scope
	ValidFrom  time.Time
	ValidUntil *time.Time
	CreatedAt  time.Time
}

// Invitee is the person a grant is for: name and ID number in clear, as
// the inviter typed them. They are sealed at rest and never logged
// (String masks them).
type Invitee = account.Identity

// Grant is what an appointment or invitation asks for.
type Grant struct {
	Role    string // RoleAdministrator or RoleAgent
	Invitee Invitee
	// Scope: agents only (administrators have all business).
	Scope Scope
	// ValidFrom: zero means now. ValidUntil: required for agents; nil for
	// an administrator means no end.
	ValidFrom  time.Time
	ValidUntil *time.Time
}

// newMemberID returns a fresh member id.
func newMemberID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "em" + hex.EncodeToString(b)
}
