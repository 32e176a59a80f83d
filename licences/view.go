package licences

import (
	"time"

	"banshi/internal/platform"
)

// HolderView is a licence's holder as shown: a person's name and ID number
// masked (also to the holder: the wallet never shows them whole).
type HolderView struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	CodeType string `json:"code_type"`
}

// SignatureView says who signed the metadata and when; Banshi verified it
// before storing.
type SignatureView struct {
	Algorithm string    `json:"algorithm"`
	SignedAt  time.Time `json:"signed_at"`
	Verified  bool      `json:"verified"`
}

// LicenceView is a licence's face as holders and verifiers see it.
type LicenceView struct {
	ID                string            `json:"id"` // the identifier
	Name              string            `json:"name"`
	Number            string            `json:"number"`
	TypeName          string            `json:"type_name"`
	TypeCode          string            `json:"type_code"`
	Version           string            `json:"version"`
	DefiningAuthority Authority         `json:"defining_authority"`
	IssuingAuthority  Authority         `json:"issuing_authority"`
	IssueDate         string            `json:"issue_date"`
	ValidFrom         string            `json:"valid_from"`
	ValidUntil        string            `json:"valid_until,omitempty"`
	AreaCode          string            `json:"area_code"`
	Holder            HolderView        `json:"holder"`
	ServiceItem       string            `json:"service_item,omitempty"`
	Status            string            `json:"status"`      // as the department set it
	StatusCode        string            `json:"status_code"` // GB/T 36903
	Revoked           bool              `json:"revoked"`
	Expired           bool              `json:"expired"` // validity ended (Asia/Shanghai)
	Usable            bool              `json:"usable"`  // valid and not expired: may be shown and authorised
	Extensions        map[string]string `json:"extensions"`
	Signature         SignatureView     `json:"signature"`
	Source            string            `json:"source"`
	ReceivedAt        time.Time         `json:"received_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// view is d's face at now.
func view(d licenceDoc, now time.Time) LicenceView {
	h := HolderView{CodeType: d.Holder.CodeType, Name: d.Holder.Name, Code: d.Holder.USCC}
	if d.Holder.Kind == holderPerson {
		h.Name, h.Code = d.Holder.NameMasked, d.Holder.CodeMasked
	}
	ext := d.Meta.Extensions
	if ext == nil {
		ext = map[string]string{}
	}
	exp := expired(d, now)
	return LicenceView{
		ID: d.ID, Name: d.Meta.Name, Number: d.Meta.Number, TypeName: d.Meta.TypeName, TypeCode: d.Meta.TypeCode,
		Version: d.Meta.Version, DefiningAuthority: d.Meta.DefiningAuthority, IssuingAuthority: d.Meta.IssuingAuthority,
		IssueDate: d.Meta.IssueDate, ValidFrom: d.Meta.ValidFrom, ValidUntil: d.Meta.ValidUntil, AreaCode: d.Meta.AreaCode,
		Holder: h, ServiceItem: d.Meta.ServiceItem, Status: d.Status, StatusCode: StatusCode(d.Status),
		Revoked: d.Status == StatusRevoked, Expired: exp || d.Status == StatusExpired,
		Usable: d.Status == StatusValid && !exp, Extensions: ext,
		Signature: SignatureView{Algorithm: d.Signature.Algorithm, SignedAt: platform.Local(d.Signature.SignedAt), Verified: true},
		Source:    d.Source, ReceivedAt: platform.Local(d.ReceivedAt), UpdatedAt: platform.Local(d.UpdatedAt),
	}
}
