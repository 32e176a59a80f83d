package applications

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// Applicant types.
const (
	ApplicantPerson     = "person"
	ApplicantEnterprise = "enterprise"
)

// Delivery methods of a result.
const (
	DeliveryPickup     = "pickup"     // 窗口领取
	DeliveryPost       = "post"       // 邮寄
	DeliveryElectronic = "electronic" // 电子送达
)

// Limits of an event's fields.
const (
	MaxEventID      = 64
	MaxNote         = 500 // runes
	MaxMaterials    = 50
	maxMaterialName = 100 // runes
	maxReason       = 200 // runes
	maxCarrier      = 50  // runes
	// FutureSkew is how far after Banshi's clock an event may say it
	// occurred (the clocks of departments and Banshi differ a little).
	FutureSkew = platform.HookMaxSkew
)

// minOccurredAt is the earliest instant an event may say it occurred.
var minOccurredAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	eventIDPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	applicationNoPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	trackingNoPattern    = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
)

// Material is one item of the one-time list of missing materials (一次性告知).
type Material struct {
	Name   string `json:"name" bson:"name"`
	Reason string `json:"reason,omitempty" bson:"reason,omitempty"`
}

// Delivery is how a result reaches the applicant.
type Delivery struct {
	Method     string `json:"method" bson:"method"`
	Carrier    string `json:"carrier,omitempty" bson:"carrier,omitempty"`
	TrackingNo string `json:"tracking_no,omitempty" bson:"tracking_no,omitempty"`
}

// Applicant is who applied, validated: a person (ID number, normalised, and
// name) or an enterprise (USCC and name). Printing or logging it shows a
// person's identity only masked (account.Party).
type Applicant = account.Party

// Event is one validated progress event of an application.
type Event struct {
	EventID          string
	ApplicationNo    string
	ServiceCode      string
	Applicant        Applicant
	Status           string
	OccurredAt       time.Time // UTC, millisecond precision
	MaterialsMissing []Material
	Delivery         *Delivery
	Note             string
}

// payload is the JSON body departments post.
type payload struct {
	EventID          string            `json:"event_id"`
	ApplicationNo    string            `json:"application_no"`
	ServiceCode      string            `json:"service_code"`
	Applicant        *applicantPayload `json:"applicant"`
	Status           string            `json:"status"`
	OccurredAt       string            `json:"occurred_at"`
	MaterialsMissing []Material        `json:"materials_missing"`
	Delivery         *Delivery         `json:"delivery"`
	Note             string            `json:"note"`
}

type applicantPayload struct {
	Type     string `json:"type"`
	IDNumber string `json:"id_number"`
	USCC     string `json:"uscc"`
	Name     string `json:"name"`
}

// ParseEvent parses and validates the body of an application event, as
// received at now. The body must be one JSON object of the protocol's fields
// (an unknown field anywhere is refused) and every field must be valid:
//
//   - event_id: 1–64 characters of [A-Za-z0-9._:-], starting with a letter or digit;
//   - application_no: 1–64 characters of [A-Za-z0-9_-], starting with a letter or digit;
//   - service_code: platform.ServiceCodePattern;
//   - applicant: {type: person, id_number (GB 11643, account.ValidateIDNumber),
//     name (account.ValidateName)} or {type: enterprise, uscc (GB 32100,
//     platform.ParseUSCC: a malformed code is refused with the check named,
//     a wrong final check character is accepted), name (1–100 characters)};
//   - status: one of Statuses;
//   - occurred_at: RFC 3339, from 2000 on, at most FutureSkew after now;
//   - materials_missing: 1–50 items {name, reason?}, required for
//     needs_materials and refused otherwise;
//   - delivery: {method: pickup|post|electronic, carrier?, tracking_no?}
//     (post needs both), required for delivered and refused otherwise;
//   - note: at most 500 characters.
//
// Errors: platform.Invalid (code invalid_argument) naming the first field
// that fails ("applicant.id_number", "materials_missing[2].name", ...) and
// the check.
func ParseEvent(body []byte, now time.Time) (Event, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Event{}, platform.JSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, platform.Invalid("body", "format", "请求体只能包含一个 JSON 对象")
	}
	if err := exactKeys(body); err != nil {
		return Event{}, err
	}
	return p.validate(now)
}

// Field names of the protocol's objects.
var (
	eventKeys     = []string{"event_id", "application_no", "service_code", "applicant", "status", "occurred_at", "materials_missing", "delivery", "note"}
	applicantKeys = []string{"type", "id_number", "uscc", "name"}
	materialKeys  = []string{"name", "reason"}
	deliveryKeys  = []string{"method", "carrier", "tracking_no"}
)

// exactKeys refuses keys that encoding/json would match to a field without
// being its name (it matches names case-insensitively: "Status" for
// "status"). body has decoded already, so its shape is right.
func exactKeys(body []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return platform.Invalid("body", "format", "无法解析请求体")
	}
	if err := keysIn(top, "", eventKeys); err != nil {
		return err
	}
	for _, o := range []struct {
		key  string
		keys []string
	}{{"applicant", applicantKeys}, {"delivery", deliveryKeys}} {
		var m map[string]json.RawMessage
		if raw, ok := top[o.key]; ok && json.Unmarshal(raw, &m) == nil {
			if err := keysIn(m, o.key+".", o.keys); err != nil {
				return err
			}
		}
	}
	var ms []map[string]json.RawMessage
	if raw, ok := top["materials_missing"]; ok && json.Unmarshal(raw, &ms) == nil {
		for i, m := range ms {
			if err := keysIn(m, fmt.Sprintf("materials_missing[%d].", i), materialKeys); err != nil {
				return err
			}
		}
	}
	return nil
}

func keysIn(m map[string]json.RawMessage, prefix string, names []string) error {
	for k := range m {
		if !slices.Contains(names, k) {
			return platform.Invalid(prefix+k, "unknown_field", "未知字段（字段名区分大小写）")
		}
	}
	return nil
}

func (p *payload) validate(now time.Time) (Event, error) {
	e := Event{EventID: p.EventID, ApplicationNo: p.ApplicationNo, ServiceCode: p.ServiceCode, Status: p.Status}
	switch {
	case p.EventID == "":
		return Event{}, platform.Invalid("event_id", "required", "缺少事件编号")
	case len(p.EventID) > MaxEventID:
		return Event{}, platform.Invalid("event_id", "length", "事件编号最长 64 个字符")
	case !eventIDPattern.MatchString(p.EventID):
		return Event{}, platform.Invalid("event_id", "format", "事件编号只能包含字母、数字和 . _ : -")
	case p.ApplicationNo == "":
		return Event{}, platform.Invalid("application_no", "required", "缺少办件编号")
	case !applicationNoPattern.MatchString(p.ApplicationNo):
		return Event{}, platform.Invalid("application_no", "format", "办件编号应为 1 至 64 个字母、数字、下划线或连字符")
	case p.ServiceCode == "":
		return Event{}, platform.Invalid("service_code", "required", "缺少事项编码")
	case !platform.ValidServiceCode(p.ServiceCode):
		return Event{}, platform.Invalid("service_code", "format", "事项编码应为 1 至 64 个字母、数字、下划线或连字符")
	}
	a, err := validateApplicant(p.Applicant, now)
	if err != nil {
		return Event{}, err
	}
	e.Applicant = a
	switch {
	case p.Status == "":
		return Event{}, platform.Invalid("status", "required", "缺少办件状态")
	case !ValidStatus(p.Status):
		return Event{}, platform.Invalid("status", "enum", "办件状态应为 "+statusList+" 之一")
	}
	if e.OccurredAt, err = validateOccurredAt(p.OccurredAt, now); err != nil {
		return Event{}, err
	}
	if e.MaterialsMissing, err = validateMaterials(p.Status, p.MaterialsMissing); err != nil {
		return Event{}, err
	}
	if e.Delivery, err = validateDelivery(p.Status, p.Delivery); err != nil {
		return Event{}, err
	}
	e.Note = strings.TrimSpace(p.Note)
	switch {
	case utf8.RuneCountInString(e.Note) > MaxNote:
		return Event{}, platform.Invalid("note", "length", "说明最多 500 个字")
	case !account.PlainText(e.Note, true):
		return Event{}, platform.Invalid("note", "format", "说明含有不可见的控制字符")
	}
	return e, nil
}

func validateApplicant(p *applicantPayload, now time.Time) (Applicant, error) {
	party, err := account.ValidateParty("applicant", "申请人", (*account.PartyInput)(p), now)
	return party, err
}

func validateOccurredAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, platform.Invalid("occurred_at", "required", "缺少发生时间")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, platform.Invalid("occurred_at", "format", "发生时间应为 RFC 3339 格式，如 2026-03-16T09:30:00+08:00")
	}
	if t.Before(minOccurredAt) {
		return time.Time{}, platform.Invalid("occurred_at", "range", "发生时间不应早于 2000 年")
	}
	if t.After(now.Add(FutureSkew)) {
		return time.Time{}, platform.Invalid("occurred_at", "future", "发生时间晚于当前时间")
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

func validateMaterials(status string, ms []Material) ([]Material, error) {
	if status != StatusNeedsMaterials {
		if ms != nil {
			return nil, platform.Invalid("materials_missing", "not_allowed", "只有需补正材料（needs_materials）的事件可以列出缺少的材料")
		}
		return nil, nil
	}
	if len(ms) == 0 {
		return nil, platform.Invalid("materials_missing", "required", "需补正材料时应一次性列出所缺的全部材料")
	}
	if len(ms) > MaxMaterials {
		return nil, platform.Invalid("materials_missing", "length", "所缺材料最多 50 项")
	}
	out := make([]Material, len(ms))
	for i, m := range ms {
		m.Name, m.Reason = strings.TrimSpace(m.Name), strings.TrimSpace(m.Reason)
		switch {
		case m.Name == "":
			return nil, platform.Invalid(fmt.Sprintf("materials_missing[%d].name", i), "required", "缺少材料名称")
		case utf8.RuneCountInString(m.Name) > maxMaterialName:
			return nil, platform.Invalid(fmt.Sprintf("materials_missing[%d].name", i), "length", "材料名称最多 100 个字")
		case !account.PlainText(m.Name, false):
			return nil, platform.Invalid(fmt.Sprintf("materials_missing[%d].name", i), "format", "材料名称含有控制字符")
		case utf8.RuneCountInString(m.Reason) > maxReason:
			return nil, platform.Invalid(fmt.Sprintf("materials_missing[%d].reason", i), "length", "补正原因最多 200 个字")
		case !account.PlainText(m.Reason, true):
			return nil, platform.Invalid(fmt.Sprintf("materials_missing[%d].reason", i), "format", "补正原因含有控制字符")
		}
		out[i] = m
	}
	return out, nil
}

func validateDelivery(status string, d *Delivery) (*Delivery, error) {
	if status != StatusDelivered {
		if d != nil {
			return nil, platform.Invalid("delivery", "not_allowed", "只有送达（delivered）事件可以带送达信息")
		}
		return nil, nil
	}
	if d == nil {
		return nil, platform.Invalid("delivery", "required", "送达事件应说明送达方式")
	}
	out := Delivery{Method: d.Method, Carrier: strings.TrimSpace(d.Carrier), TrackingNo: strings.TrimSpace(d.TrackingNo)}
	switch out.Method {
	case "":
		return nil, platform.Invalid("delivery.method", "required", "缺少送达方式")
	case DeliveryPickup, DeliveryPost, DeliveryElectronic:
	default:
		return nil, platform.Invalid("delivery.method", "enum", "送达方式应为 pickup、post 或 electronic")
	}
	switch {
	case out.Method == DeliveryPost && out.Carrier == "":
		return nil, platform.Invalid("delivery.carrier", "required", "邮寄送达应写明快递公司")
	case utf8.RuneCountInString(out.Carrier) > maxCarrier:
		return nil, platform.Invalid("delivery.carrier", "length", "快递公司名称最多 50 个字")
	case !account.PlainText(out.Carrier, false):
		return nil, platform.Invalid("delivery.carrier", "format", "快递公司名称含有控制字符")
	case out.Method == DeliveryPost && out.TrackingNo == "":
		return nil, platform.Invalid("delivery.tracking_no", "required", "邮寄送达应写明运单号")
	case out.TrackingNo != "" && !trackingNoPattern.MatchString(out.TrackingNo):
		return nil, platform.Invalid("delivery.tracking_no", "format", "运单号应为 1 至 64 个字母、数字或连字符")
	}
	return &out, nil
}
