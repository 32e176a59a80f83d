package account

import (
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"banshi/internal/platform"
)

// Party types: who a department's record is about (an applicant, a payer,
// a licence holder).
const (
	PartyPerson     = "person"
	PartyEnterprise = "enterprise"
)

// MaxOrgName is the longest enterprise name a party may carry, in runes.
const MaxOrgName = 100

// Party is a person (ID number and name, normalised) or an enterprise (USCC
// and name) named in a department's record.
type Party struct {
	Type     string
	IDNumber string // person
	USCC     string // enterprise
	Name     string
}

// String shows the party with a person's identity masked.
func (p Party) String() string {
	if p.Type == PartyPerson {
		return "{person " + MaskName(p.Name) + " " + MaskIDNumber(p.IDNumber) + "}"
	}
	return "{" + p.Type + " " + p.USCC + " " + p.Name + "}"
}

// GoString is String, for %#v: a person's identity never prints whole.
func (p Party) GoString() string { return "account.Party" + p.String() }

// LogValue makes slog record the masked form.
func (p Party) LogValue() slog.Value { return slog.StringValue(p.String()) }

// PartyInput is a party object as a department sent it.
type PartyInput struct {
	Type, IDNumber, USCC, Name string
}

// ValidateParty checks a party object found at field (e.g. "payer",
// "applicant"); role is its name for people (缴款人, 申请人). A person needs
// an ID number passing GB 11643 (ValidateIDNumber) and a name
// (ValidateName), and no USCC; an enterprise a USCC well-formed per GB 32100
// (platform.ParseUSCC; a wrong final check character is accepted: the
// department's record stands, the registry decides) and a name of at most
// MaxOrgName runes without control characters, and no ID number.
//
// Errors: platform.Invalid naming the field under field ("payer.uscc",
// "applicant.id_number", …) and the check.
func ValidateParty(field, role string, p *PartyInput, now time.Time) (Party, error) {
	if p == nil {
		return Party{}, platform.Invalid(field, "required", "缺少"+role)
	}
	out := Party{Type: p.Type}
	switch p.Type {
	case "":
		return Party{}, platform.Invalid(field+".type", "required", "缺少"+role+"类型")
	case PartyPerson:
		if p.USCC != "" {
			return Party{}, platform.Invalid(field+".uscc", "not_allowed", "个人"+role+"不应有统一社会信用代码")
		}
		n, err := ValidateIDNumber(p.IDNumber, now)
		if err != nil {
			return Party{}, under(field, err)
		}
		name, err := ValidateName(p.Name)
		if err != nil {
			return Party{}, under(field, err)
		}
		out.IDNumber, out.Name = n, name
	case PartyEnterprise:
		if p.IDNumber != "" {
			return Party{}, platform.Invalid(field+".id_number", "not_allowed", "企业"+role+"不应有身份证号")
		}
		uscc := strings.TrimSpace(p.USCC)
		if uscc == "" {
			return Party{}, platform.Invalid(field+".uscc", "required", "缺少统一社会信用代码")
		}
		if _, err := platform.ParseUSCC(uscc); err != nil {
			return Party{}, under(field, err)
		}
		name := strings.TrimSpace(p.Name)
		switch {
		case name == "":
			return Party{}, platform.Invalid(field+".name", "required", "缺少企业名称")
		case utf8.RuneCountInString(name) > MaxOrgName:
			return Party{}, platform.Invalid(field+".name", "length", "企业名称最多 100 个字")
		case !PlainText(name, false):
			return Party{}, platform.Invalid(field+".name", "format", "企业名称含有控制字符")
		}
		out.USCC, out.Name = uscc, name
	default:
		return Party{}, platform.Invalid(field+".type", "enum", role+"类型应为 person 或 enterprise")
	}
	return out, nil
}

// under names a validation error's field under prefix.
func under(prefix string, err error) error {
	pe, ok := platform.AsError(err)
	if !ok {
		return err
	}
	c := *pe
	c.Field = prefix + "." + pe.Field
	return &c
}

// PlainText reports whether s is valid UTF-8 without control characters
// (but newlines, when newlines is true).
func PlainText(s string, newlines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && !(newlines && r == '\n')) {
			return false
		}
	}
	return true
}
