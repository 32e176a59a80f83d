package licences

import (
	"log/slog"

	"banshi/internal/account"
)

// Holder code types (GB/T 36903 持证主体代码类型).
const (
	HolderIDNumber = "111" // 公民身份号码: a person
	HolderUSCC     = "001" // 统一社会信用代码: an enterprise or other organisation
)

// Licence statuses. A licence is issued valid; the others are what a
// department may later set (GB/T 36903 codes in StatusCode).
const (
	StatusValid       = "valid"
	StatusRevoked     = "revoked"
	StatusCancelled   = "cancelled"
	StatusExpired     = "expired"
	StatusTransferred = "transferred"
	StatusWithdrawn   = "withdrawn"
	StatusOther       = "other"
)

// statusCodes are the statuses' GB/T 36903 codes.
var statusCodes = map[string]string{
	StatusValid: "01", StatusRevoked: "03", StatusCancelled: "04", StatusExpired: "05",
	StatusTransferred: "06", StatusWithdrawn: "07", StatusOther: "99",
}

// StatusCode returns a status's code ("" for an unknown status).
func StatusCode(status string) string { return statusCodes[status] }

// Authority is a defining or issuing authority: its name and USCC.
type Authority struct {
	Name string `json:"name" bson:"name"`
	Code string `json:"code" bson:"code"`
}

// Holder is who holds a licence: a person (CodeType HolderIDNumber, Code the
// ID number) or an organisation (HolderUSCC, Code its USCC).
type Holder struct {
	Name     string
	Code     string
	CodeType string
}

// String shows the holder with a person's identity masked.
func (h Holder) String() string {
	if h.CodeType == HolderIDNumber {
		return "{" + h.CodeType + " " + account.MaskName(h.Name) + " " + account.MaskIDNumber(h.Code) + "}"
	}
	return "{" + h.CodeType + " " + h.Name + " " + h.Code + "}"
}

// GoString is String: a person's identity never prints whole.
func (h Holder) GoString() string { return "licences.Holder" + h.String() }

// LogValue makes slog record the masked form.
func (h Holder) LogValue() slog.Value { return slog.StringValue(h.String()) }

// Metadata is a licence's core metadata (GB/T 36903), validated: what the
// issuer signs. Optional fields are "" when absent.
type Metadata struct {
	Identifier        string
	Name              string // 证照名称
	Number            string // 证照编号
	TypeName          string
	TypeCode          string
	Version           string
	DefiningAuthority Authority
	IssuingAuthority  Authority
	IssueDate         string // YYYY-MM-DD
	ValidFrom         string // YYYY-MM-DD
	ValidUntil        string // YYYY-MM-DD, optional: "" for no end
	AreaCode          string // GB/T 2260, 6 digits
	Holder            Holder
	ServiceItem       string // optional
	Status            string
	Extensions        map[string]string
}

// Canonical returns the bytes the issuer signs: the metadata as the JSON
// object of the hook's "licence" field, in canonical form (canonical.go):
// keys area_code, defining_authority{code,name}, extensions{…},
// holder{code,code_type,name}, identifier, issue_date,
// issuing_authority{code,name}, name, number, service_item (when present),
// status, type_code, type_name, valid_from, valid_until (when present),
// version, in that (byte) order.
func (m Metadata) Canonical() []byte { return canonical(m.object()) }

// object is the metadata as canonical's input.
func (m Metadata) object() map[string]any {
	ext := m.Extensions
	if ext == nil {
		ext = map[string]string{}
	}
	o := map[string]any{
		"identifier": m.Identifier, "name": m.Name, "number": m.Number,
		"type_name": m.TypeName, "type_code": m.TypeCode, "version": m.Version,
		"defining_authority": map[string]any{"name": m.DefiningAuthority.Name, "code": m.DefiningAuthority.Code},
		"issuing_authority":  map[string]any{"name": m.IssuingAuthority.Name, "code": m.IssuingAuthority.Code},
		"issue_date":         m.IssueDate, "valid_from": m.ValidFrom, "area_code": m.AreaCode,
		"holder":     map[string]any{"name": m.Holder.Name, "code": m.Holder.Code, "code_type": m.Holder.CodeType},
		"status":     m.Status,
		"extensions": ext,
	}
	if m.ValidUntil != "" {
		o["valid_until"] = m.ValidUntil
	}
	if m.ServiceItem != "" {
		o["service_item"] = m.ServiceItem
	}
	return o
}
