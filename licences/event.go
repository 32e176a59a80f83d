package licences

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// Event actions.
const (
	ActionIssue  = "issue"  // a new licence, status valid
	ActionUpdate = "update" // the same identifier's metadata corrected (any status)
	ActionRevoke = "revoke" // the licence revoked: status revoked
)

// Limits of an event's fields.
const (
	MaxEventID      = 64
	maxText         = 100 // runes: names
	maxServiceItem  = 200 // runes
	maxNumber       = 64  // runes
	maxExtensions   = 30
	maxExtensionVal = 500 // runes
	maxSignature    = 160 // bytes decoded: an SM2 DER signature is at most 72
)

var (
	eventIDPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	extKeyPattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	areaCodePattern = regexp.MustCompile(`^[1-9][0-9]{5}$`)
	datePattern     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	allowedStatuses = []string{StatusValid, StatusRevoked, StatusCancelled, StatusExpired, StatusTransferred, StatusWithdrawn, StatusOther}
)

// Signature is an issuer's signature of a licence's canonical metadata.
type Signature struct {
	Algorithm string
	Value     []byte // ASN.1 DER
	SignedAt  time.Time
}

// Event is one validated licence event of a department.
type Event struct {
	EventID   string
	Action    string
	Licence   Metadata
	ID        Identifier
	Signature Signature
}

// String masks the holder.
func (e Event) String() string {
	return "{" + e.Action + " " + e.Licence.Identifier + " event " + e.EventID + " holder " + e.Licence.Holder.String() + "}"
}

// LogValue makes slog record String.
func (e Event) LogValue() slog.Value { return slog.StringValue(e.String()) }

type eventPayload struct {
	EventID   string            `json:"event_id"`
	Action    string            `json:"action"`
	Licence   *licencePayload   `json:"licence"`
	Signature *signaturePayload `json:"signature"`
}

type authorityPayload struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

type holderPayload struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	CodeType string `json:"code_type"`
}

type licencePayload struct {
	Identifier        string            `json:"identifier"`
	Name              string            `json:"name"`
	Number            string            `json:"number"`
	TypeName          string            `json:"type_name"`
	TypeCode          string            `json:"type_code"`
	Version           string            `json:"version"`
	DefiningAuthority *authorityPayload `json:"defining_authority"`
	IssuingAuthority  *authorityPayload `json:"issuing_authority"`
	IssueDate         string            `json:"issue_date"`
	ValidFrom         string            `json:"valid_from"`
	ValidUntil        *string           `json:"valid_until"`
	AreaCode          string            `json:"area_code"`
	Holder            *holderPayload    `json:"holder"`
	ServiceItem       *string           `json:"service_item"`
	Status            string            `json:"status"`
	Extensions        map[string]string `json:"extensions"`
}

type signaturePayload struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
	SignedAt  string `json:"signed_at"`
}

// ParseEvent parses and validates the body of a licence event (one JSON
// object; unknown fields refused):
//
//   - event_id: 1–64 characters of [A-Za-z0-9._:-], starting with a letter or digit;
//   - action: issue | update | revoke;
//   - licence: the core metadata — identifier (ParseIdentifier: the failing
//     check named), name, number, type_name, type_code (= the identifier's),
//     version (= the identifier's), defining_authority {name, code = the
//     type code's USCC}, issuing_authority {name, code = the identifier's
//     issuer}, issue_date, valid_from, valid_until? (YYYY-MM-DD, from ≤
//     until), area_code (6 digits), holder {name, code, code_type: 111 with
//     a GB 11643 ID number and a name, both in normalised form | 001 with a
//     USCC}, service_item?, status (issue: valid; revoke: revoked; update:
//     any of valid, revoked, cancelled, expired, transferred, withdrawn,
//     other), extensions {key: string} (≤ 30; keys [A-Za-z][A-Za-z0-9_]*);
//     every string valid UTF-8 without control characters, U+2028 or U+2029;
//   - signature: {algorithm: "SM2-SM3", value: base64 of the DER signature,
//     signed_at: RFC 3339}.
//
// The signature itself is checked by the service, with the source's key.
// Errors: platform.Invalid naming the first field that fails and the check.
func ParseEvent(body []byte, now time.Time) (Event, error) {
	var p eventPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Event{}, platform.JSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, platform.Invalid("body", "format", "请求体只能包含一个 JSON 对象")
	}
	return p.validate(now)
}

func (p eventPayload) validate(now time.Time) (Event, error) {
	var ev Event
	switch {
	case p.EventID == "":
		return ev, platform.Invalid("event_id", "required", "缺少事件编号")
	case !eventIDPattern.MatchString(p.EventID):
		return ev, platform.Invalid("event_id", "format", "事件编号应为 1 至 64 个字母、数字或 ._:-")
	}
	ev.EventID = p.EventID
	switch p.Action {
	case "":
		return ev, platform.Invalid("action", "required", "缺少操作类型")
	case ActionIssue, ActionUpdate, ActionRevoke:
		ev.Action = p.Action
	default:
		return ev, platform.Invalid("action", "enum", "操作类型应为 issue、update 或 revoke")
	}
	if p.Licence == nil {
		return ev, platform.Invalid("licence", "required", "缺少证照元数据")
	}
	m, id, err := p.Licence.validate(now)
	if err != nil {
		return ev, err
	}
	switch {
	case ev.Action == ActionIssue && m.Status != StatusValid:
		return ev, platform.Invalid("licence.status", "not_allowed", "新颁发的证照状态应为 valid")
	case ev.Action == ActionRevoke && m.Status != StatusRevoked:
		return ev, platform.Invalid("licence.status", "not_allowed", "注销证照时状态应为 revoked")
	}
	ev.Licence, ev.ID = m, id
	sig, err := p.Signature.validate()
	if err != nil {
		return ev, err
	}
	ev.Signature = sig
	return ev, nil
}

func (s *signaturePayload) validate() (Signature, error) {
	if s == nil {
		return Signature{}, platform.Invalid("signature", "required", "缺少签名")
	}
	if s.Algorithm != SignatureAlgorithm {
		return Signature{}, platform.Invalid("signature.algorithm", "enum", "签名算法应为 SM2-SM3")
	}
	if s.Value == "" {
		return Signature{}, platform.Invalid("signature.value", "required", "缺少签名值")
	}
	v, err := base64.StdEncoding.DecodeString(s.Value)
	if err != nil || len(v) == 0 || len(v) > maxSignature {
		return Signature{}, platform.Invalid("signature.value", "format", "签名值应为 Base64 编码的 SM2 签名")
	}
	at, err := time.Parse(time.RFC3339, s.SignedAt)
	if err != nil {
		return Signature{}, platform.Invalid("signature.signed_at", "format", "签名时间应为 RFC 3339 时间")
	}
	return Signature{Algorithm: s.Algorithm, Value: v, SignedAt: at.UTC().Truncate(time.Millisecond)}, nil
}

// text checks a required (or, optional, possibly empty) signable string of
// at most maxRunes at field.
func text(field, s string, maxRunes int, required bool, what string) error {
	switch {
	case s == "" && required:
		return platform.Invalid(field, "required", "缺少"+what)
	case !signable(s):
		return platform.Invalid(field, "format", what+"含有控制字符或无效字符")
	case utf8.RuneCountInString(s) > maxRunes:
		return platform.Invalid(field, "length", what+"过长")
	case strings.TrimSpace(s) != s:
		return platform.Invalid(field, "format", what+"首尾不应有空格")
	}
	return nil
}

func date(field, s string, required bool, what string) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, platform.Invalid(field, "required", "缺少"+what)
		}
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if !datePattern.MatchString(s) || err != nil || d.Year() < 1900 || d.Year() > 2199 {
		return time.Time{}, platform.Invalid(field, "format", what+"应为 YYYY-MM-DD 格式的日期")
	}
	return d, nil
}

func (a *authorityPayload) validate(field, what string) (Authority, error) {
	if a == nil {
		return Authority{}, platform.Invalid(field, "required", "缺少"+what)
	}
	if err := text(field+".name", a.Name, maxText, true, what+"名称"); err != nil {
		return Authority{}, err
	}
	if a.Code == "" {
		return Authority{}, platform.Invalid(field+".code", "required", "缺少"+what+"代码")
	}
	if _, err := platform.ParseUSCC(a.Code); err != nil {
		pe, _ := platform.AsError(err)
		return Authority{}, platform.Invalid(field+".code", pe.Check, what+"代码应为统一社会信用代码")
	}
	return Authority{Name: a.Name, Code: a.Code}, nil
}

func (l *licencePayload) validate(now time.Time) (Metadata, Identifier, error) {
	var m Metadata
	if l.Identifier == "" {
		return m, Identifier{}, platform.Invalid("licence.identifier", "required", "缺少证照标识")
	}
	id, err := ParseIdentifier("licence.identifier", l.Identifier)
	if err != nil {
		return m, id, err
	}
	m.Identifier = l.Identifier
	if err := text("licence.name", l.Name, maxText, true, "证照名称"); err != nil {
		return m, id, err
	}
	if err := text("licence.number", l.Number, maxNumber, true, "证照编号"); err != nil {
		return m, id, err
	}
	if err := text("licence.type_name", l.TypeName, maxText, true, "证照类型名称"); err != nil {
		return m, id, err
	}
	m.Name, m.Number, m.TypeName = l.Name, l.Number, l.TypeName
	if l.TypeCode != id.TypeCode {
		return m, id, platform.Invalid("licence.type_code", "mismatch", "证照类型代码应与证照标识中的一致")
	}
	if l.Version != id.Version {
		return m, id, platform.Invalid("licence.version", "mismatch", "版本号应与证照标识中的一致")
	}
	m.TypeCode, m.Version = l.TypeCode, l.Version
	if m.DefiningAuthority, err = l.DefiningAuthority.validate("licence.defining_authority", "证照定义机构"); err != nil {
		return m, id, err
	}
	if m.DefiningAuthority.Code != id.DefiningAuthority() {
		return m, id, platform.Invalid("licence.defining_authority.code", "mismatch", "证照定义机构代码应与证照类型代码中的一致")
	}
	if m.IssuingAuthority, err = l.IssuingAuthority.validate("licence.issuing_authority", "颁发机构"); err != nil {
		return m, id, err
	}
	if m.IssuingAuthority.Code != id.Issuer {
		return m, id, platform.Invalid("licence.issuing_authority.code", "mismatch", "颁发机构代码应与证照标识中的一致")
	}
	if _, err := date("licence.issue_date", l.IssueDate, true, "颁证日期"); err != nil {
		return m, id, err
	}
	from, err := date("licence.valid_from", l.ValidFrom, true, "有效期起始日期")
	if err != nil {
		return m, id, err
	}
	m.IssueDate, m.ValidFrom = l.IssueDate, l.ValidFrom
	if l.ValidUntil != nil {
		until, err := date("licence.valid_until", *l.ValidUntil, true, "有效期截止日期")
		if err != nil {
			return m, id, err
		}
		if until.Before(from) {
			return m, id, platform.Invalid("licence.valid_until", "range", "有效期截止日期不能早于起始日期")
		}
		m.ValidUntil = *l.ValidUntil
	}
	if !areaCodePattern.MatchString(l.AreaCode) {
		return m, id, platform.Invalid("licence.area_code", "format", "行政区划代码应为 6 位数字")
	}
	m.AreaCode = l.AreaCode
	if m.Holder, err = l.Holder.validate(now); err != nil {
		return m, id, err
	}
	if l.ServiceItem != nil {
		if err := text("licence.service_item", *l.ServiceItem, maxServiceItem, true, "关联事项"); err != nil {
			return m, id, err
		}
		m.ServiceItem = *l.ServiceItem
	}
	switch {
	case l.Status == "":
		return m, id, platform.Invalid("licence.status", "required", "缺少证照状态")
	case StatusCode(l.Status) == "":
		return m, id, platform.Invalid("licence.status", "enum", "证照状态应为 "+strings.Join(allowedStatuses, "、")+" 之一")
	}
	m.Status = l.Status
	if len(l.Extensions) > maxExtensions {
		return m, id, platform.Invalid("licence.extensions", "length", "扩展字段最多 30 个")
	}
	m.Extensions = map[string]string{}
	for k, v := range l.Extensions {
		if !extKeyPattern.MatchString(k) {
			return m, id, platform.Invalid("licence.extensions", "key_format", "扩展字段名应为字母开头的字母、数字或下划线")
		}
		if err := text("licence.extensions."+k, v, maxExtensionVal, false, "扩展字段"); err != nil {
			return m, id, err
		}
		m.Extensions[k] = v
	}
	return m, id, nil
}

func (h *holderPayload) validate(now time.Time) (Holder, error) {
	if h == nil {
		return Holder{}, platform.Invalid("licence.holder", "required", "缺少持证主体")
	}
	switch h.CodeType {
	case "":
		return Holder{}, platform.Invalid("licence.holder.code_type", "required", "缺少持证主体代码类型")
	case HolderIDNumber:
		n, err := account.ValidateIDNumber(h.Code, now)
		if err != nil {
			pe, _ := platform.AsError(err)
			return Holder{}, platform.Invalid("licence.holder.code", pe.Check, pe.Message)
		}
		if n != h.Code {
			return Holder{}, platform.Invalid("licence.holder.code", "normalised", "身份证号应为规范形式（18 位，末位 X 大写）")
		}
		name, err := account.ValidateName(h.Name)
		if err != nil {
			pe, _ := platform.AsError(err)
			return Holder{}, platform.Invalid("licence.holder.name", pe.Check, pe.Message)
		}
		if name != h.Name {
			return Holder{}, platform.Invalid("licence.holder.name", "normalised", "姓名应为规范形式")
		}
	case HolderUSCC:
		if _, err := platform.ParseUSCC(h.Code); err != nil {
			pe, _ := platform.AsError(err)
			return Holder{}, platform.Invalid("licence.holder.code", pe.Check, "持证主体代码应为统一社会信用代码")
		}
		if err := text("licence.holder.name", h.Name, account.MaxOrgName, true, "持证主体名称"); err != nil {
			return Holder{}, err
		}
	default:
		return Holder{}, platform.Invalid("licence.holder.code_type", "enum", "持证主体代码类型应为 111（公民身份号码）或 001（统一社会信用代码）")
	}
	return Holder{Name: h.Name, Code: h.Code, CodeType: h.CodeType}, nil
}
