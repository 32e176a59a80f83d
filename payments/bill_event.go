package payments

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// Bill event actions.
const (
	BillIssue  = "issue"  // a new bill
	BillCancel = "cancel" // the department withdraws an unpaid bill
	BillAdjust = "adjust" // the department changes an unpaid bill's amount, due date or late fee
)

// Bill kinds.
const (
	BillKindNonTax          = "non_tax"          // 非税收入缴款书
	BillKindTrafficFine     = "traffic_fine"     // 交通违法罚款
	BillKindSocialInsurance = "social_insurance" // 社会保险费
	BillKindUtility         = "utility"          // 水电燃气等公用事业费
)

// BillKinds lists the kinds a bill may have.
func BillKinds() []string {
	return []string{BillKindNonTax, BillKindTrafficFine, BillKindSocialInsurance, BillKindUtility}
}

// Limits of a bill event's fields.
const (
	MaxBillEventID   = 64
	MaxBillAmountFen = 10_000_000_000 // 1 亿元
	MaxPermilleDay   = 1000           // 1000‰ = 100% a day
	maxBillItem      = 200            // runes
	maxBillOrgName   = 100            // runes
)

// Dates of bills (due_date, late_fee.from) are within these years.
const (
	minBillYear = 2000
	maxBillYear = 2099
)

var (
	billEventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	// BillNoPattern is the shape of a bill number.
	BillNoPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// BillCodePattern is the shape of a verification code (查验码).
	BillCodePattern     = regexp.MustCompile(`^[A-Za-z0-9]{4,32}$`)
	billUnitCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// BillPayer is who owes a bill, validated: a person (ID number, normalised, and
// name) or an enterprise (USCC and name). Printing or logging it shows a
// person's identity only masked (account.Party).
type BillPayer = account.Party

// BillLateFee is a bill's late fee (滞纳金 / 加处罚款) as an event states it:
// from the day From (YYYY-MM-DD, Asia/Shanghai) on, PermillePerDay ‰ of the
// amount for each day, at most CapFen in all. In the event the rate is a
// number of ‰ with at most two decimals: 0.5 is 万分之五 (the 滞纳金 of taxes
// and social insurance), 30 the 3 % a day of a traffic fine's 加处罚款 (see
// Permille). CapFen nil: the cap is the bill's amount (the legal maximum of
// 行政强制法 article 45, which LateFeeFen applies in any case).
type BillLateFee struct {
	From           string
	PermillePerDay Permille
	CapFen         *int64
}

// CollectingUnit is the unit that collects the money (执收单位).
type CollectingUnit struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// BillEvent is one validated bill event of a department. Fields an action
// does not carry are zero: a cancel has only EventID, Action and BillNo; an
// adjust has those and at least one of AmountFen (0: unchanged), DueDate
// ("": unchanged) and LateFee (nil: unchanged).
type BillEvent struct {
	EventID          string
	Action           string
	BillNo           string
	Kind             string
	Item             string
	Payer            BillPayer
	AmountFen        int64
	DueDate          string
	LateFee          *BillLateFee
	Unit             CollectingUnit
	VerificationCode string
}

// String leaves the verification code out and masks a person's identity.
func (e BillEvent) String() string {
	return "{" + e.Action + " " + e.BillNo + " event " + e.EventID + " payer " + e.Payer.String() + "}"
}

// LogValue makes slog record String.
func (e BillEvent) LogValue() slog.Value { return slog.StringValue(e.String()) }

// billPayload is the JSON body departments post.
type billPayload struct {
	EventID          string          `json:"event_id"`
	Action           string          `json:"action"`
	BillNo           string          `json:"bill_no"`
	Kind             string          `json:"kind"`
	Item             string          `json:"item"`
	Payer            *payerPayload   `json:"payer"`
	AmountFen        *int64          `json:"amount_fen"`
	DueDate          string          `json:"due_date"`
	LateFee          *lateFeePayload `json:"late_fee"`
	Unit             *CollectingUnit `json:"collecting_unit"`
	VerificationCode string          `json:"verification_code"`
}

type payerPayload struct {
	Type     string `json:"type"`
	IDNumber string `json:"id_number"`
	USCC     string `json:"uscc"`
	Name     string `json:"name"`
}

type lateFeePayload struct {
	From           string    `json:"from"`
	PermillePerDay *Permille `json:"permille_per_day"`
	CapFen         *int64    `json:"cap_fen"`
}

// Field names of the protocol's objects, and which an action may carry.
var (
	billKeys    = []string{"event_id", "action", "bill_no", "kind", "item", "payer", "amount_fen", "due_date", "late_fee", "collecting_unit", "verification_code"}
	payerKeys   = []string{"type", "id_number", "uscc", "name"}
	lateFeeKeys = []string{"from", "permille_per_day", "cap_fen"}
	unitKeys    = []string{"code", "name"}
	cancelKeys  = []string{"event_id", "action", "bill_no"}
	adjustKeys  = []string{"event_id", "action", "bill_no", "amount_fen", "due_date", "late_fee"}
)

// ParseBillEvent parses and validates the body of a bill event, as received
// at now. The body must be one JSON object of the protocol's fields (an
// unknown field anywhere is refused, names are case-sensitive) and every
// field must be valid:
//
//   - event_id: 1–64 characters of [A-Za-z0-9._:-], starting with a letter or digit;
//   - action: issue | cancel | adjust;
//   - bill_no: 1–64 characters of [A-Za-z0-9_-];
//   - kind: one of BillKinds;
//   - item: 1–200 characters, no control characters;
//   - payer: {type: person, id_number (GB 11643, account.ValidateIDNumber),
//     name (account.ValidateName)} or {type: enterprise, uscc (GB 32100,
//     platform.ParseUSCC: a malformed code is refused with the check named,
//     a wrong final check character is accepted), name (1–100 characters)};
//   - amount_fen: 1–10^10 (an integer: 1.5 or 1e3 are refused);
//   - due_date: YYYY-MM-DD, a real date of 2000–2099;
//   - late_fee (optional): {from: YYYY-MM-DD, permille_per_day: 0.01–1000 (‰
//     per day, at most two decimals: 0.5 is 万分之五), cap_fen?: 0–amount_fen};
//   - collecting_unit: {code: 1–32 of [A-Za-z0-9_-], name: 1–100 characters};
//   - verification_code: 4–32 letters or digits.
//
// issue needs every field but late_fee. cancel carries only event_id, action
// and bill_no. adjust carries event_id, action, bill_no and at least one of
// amount_fen, due_date, late_fee (a late_fee replaces the bill's whole late
// fee; its cap is checked against the bill's amount when applied). A field an
// action does not carry is refused (check "not_allowed").
//
// Errors: platform.Invalid (code invalid_argument) naming the first field
// that fails ("payer.id_number", "late_fee.cap_fen", ...) and the check.
func ParseBillEvent(body []byte, now time.Time) (BillEvent, error) {
	var p billPayload
	// Unknown fields are refused by billExactKeys, which names them with
	// their object ("late_fee.rate"); DisallowUnknownFields would not.
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return BillEvent{}, billJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return BillEvent{}, platform.Invalid("body", "format", "请求体只能包含一个 JSON 对象")
	}
	top, err := billExactKeys(body)
	if err != nil {
		return BillEvent{}, err
	}
	return p.validate(top, now)
}

// billExactKeys refuses keys that encoding/json would match to a field without
// being its name (it matches names case-insensitively). body has decoded
// already, so its shape is right. It returns the top-level keys present.
func billExactKeys(body []byte) (map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, platform.Invalid("body", "format", "请求体应为 JSON 对象")
	}
	if err := billKeysIn(top, "", billKeys); err != nil {
		return nil, err
	}
	for _, o := range []struct {
		key  string
		keys []string
	}{{"payer", payerKeys}, {"late_fee", lateFeeKeys}, {"collecting_unit", unitKeys}} {
		var m map[string]json.RawMessage
		if raw, ok := top[o.key]; ok && json.Unmarshal(raw, &m) == nil {
			if err := billKeysIn(m, o.key+".", o.keys); err != nil {
				return nil, err
			}
		}
	}
	return top, nil
}

func billKeysIn(m map[string]json.RawMessage, prefix string, names []string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same body always names the same field
	for _, k := range keys {
		if !slices.Contains(names, k) {
			field := prefix + k
			if k == "" { // named by its object
				field = strings.TrimSuffix(prefix, ".")
				if field == "" {
					field = "body"
				}
			}
			return platform.Invalid(field, "unknown_field", "未知字段（字段名区分大小写）")
		}
	}
	return nil
}

func billJSONError(err error) error {
	if errors.Is(err, errPermilleSyntax) {
		return platform.Invalid("late_fee.permille_per_day", "type", "滞纳金日费率应为以千分之一为单位、最多两位小数的数字")
	}
	return platform.JSONError(err)
}

func (p *billPayload) validate(top map[string]json.RawMessage, now time.Time) (BillEvent, error) {
	e := BillEvent{EventID: p.EventID, Action: p.Action, BillNo: p.BillNo}
	switch {
	case p.EventID == "":
		return BillEvent{}, platform.Invalid("event_id", "required", "缺少事件编号")
	case len(p.EventID) > MaxBillEventID:
		return BillEvent{}, platform.Invalid("event_id", "length", "事件编号最长 64 个字符")
	case !billEventIDPattern.MatchString(p.EventID):
		return BillEvent{}, platform.Invalid("event_id", "format", "事件编号只能包含字母、数字和 . _ : -")
	case p.Action == "":
		return BillEvent{}, platform.Invalid("action", "required", "缺少操作类型")
	case p.Action != BillIssue && p.Action != BillCancel && p.Action != BillAdjust:
		return BillEvent{}, platform.Invalid("action", "enum", "操作类型应为 issue、cancel 或 adjust")
	case p.BillNo == "":
		return BillEvent{}, platform.Invalid("bill_no", "required", "缺少账单编号")
	case !BillNoPattern.MatchString(p.BillNo):
		return BillEvent{}, platform.Invalid("bill_no", "format", "账单编号应为 1 至 64 个字母、数字、下划线或连字符")
	}
	switch p.Action {
	case BillCancel:
		if err := billOnlyKeys(top, cancelKeys); err != nil {
			return BillEvent{}, err
		}
		return e, nil
	case BillAdjust:
		if err := billOnlyKeys(top, adjustKeys); err != nil {
			return BillEvent{}, err
		}
		if p.AmountFen == nil && p.DueDate == "" && p.LateFee == nil {
			return BillEvent{}, platform.Invalid("amount_fen", "required", "调整账单应给出新的金额、缴款期限或滞纳金")
		}
		return p.validateTerms(e, false)
	}
	// issue
	e.Item = strings.TrimSpace(p.Item)
	switch {
	case p.Kind == "":
		return BillEvent{}, platform.Invalid("kind", "required", "缺少账单类型")
	case !slices.Contains(BillKinds(), p.Kind):
		return BillEvent{}, platform.Invalid("kind", "enum", "账单类型应为 "+strings.Join(BillKinds(), "、")+" 之一")
	case e.Item == "":
		return BillEvent{}, platform.Invalid("item", "required", "缺少缴费项目")
	case utf8.RuneCountInString(e.Item) > maxBillItem:
		return BillEvent{}, platform.Invalid("item", "length", "缴费项目最多 200 个字")
	case !account.PlainText(e.Item, false):
		return BillEvent{}, platform.Invalid("item", "format", "缴费项目含有控制字符")
	}
	e.Kind = p.Kind
	payer, err := validateBillPayer(p.Payer, now)
	if err != nil {
		return BillEvent{}, err
	}
	e.Payer = payer
	if e, err = p.validateTerms(e, true); err != nil {
		return BillEvent{}, err
	}
	if e.Unit, err = validateBillUnit(p.Unit); err != nil {
		return BillEvent{}, err
	}
	switch {
	case p.VerificationCode == "":
		return BillEvent{}, platform.Invalid("verification_code", "required", "缺少查验码")
	case !BillCodePattern.MatchString(p.VerificationCode):
		return BillEvent{}, platform.Invalid("verification_code", "format", "查验码应为 4 至 32 个字母或数字")
	}
	e.VerificationCode = p.VerificationCode
	return e, nil
}

// billOnlyKeys refuses a key of top that the action does not carry.
func billOnlyKeys(top map[string]json.RawMessage, allowed []string) error {
	for _, k := range billKeys { // in the protocol's order: the first is named
		if _, ok := top[k]; ok && !slices.Contains(allowed, k) {
			return platform.Invalid(k, "not_allowed", "该操作不应包含此字段")
		}
	}
	return nil
}

// validateTerms checks amount_fen, due_date and late_fee; issue requires the
// first two, and a late fee's cap is checked against the amount when it is
// there.
func (p *billPayload) validateTerms(e BillEvent, issue bool) (BillEvent, error) {
	switch {
	case p.AmountFen == nil && issue:
		return BillEvent{}, platform.Invalid("amount_fen", "required", "缺少金额")
	case p.AmountFen != nil && (*p.AmountFen < 1 || *p.AmountFen > MaxBillAmountFen):
		return BillEvent{}, platform.Invalid("amount_fen", "range", "金额应为 1 至 10000000000 分")
	}
	if p.AmountFen != nil {
		e.AmountFen = *p.AmountFen
	}
	if p.DueDate == "" && issue {
		return BillEvent{}, platform.Invalid("due_date", "required", "缺少缴款期限")
	}
	if p.DueDate != "" {
		if !validBillDate(p.DueDate) {
			return BillEvent{}, platform.Invalid("due_date", "format", "缴款期限应为 2000 至 2099 年间的日期，格式 YYYY-MM-DD")
		}
		e.DueDate = p.DueDate
	}
	if p.LateFee == nil {
		return e, nil
	}
	lf := p.LateFee
	switch {
	case lf.From == "":
		return BillEvent{}, platform.Invalid("late_fee.from", "required", "缺少滞纳金起算日期")
	case !validBillDate(lf.From):
		return BillEvent{}, platform.Invalid("late_fee.from", "format", "滞纳金起算日期应为 2000 至 2099 年间的日期，格式 YYYY-MM-DD")
	case lf.PermillePerDay == nil:
		return BillEvent{}, platform.Invalid("late_fee.permille_per_day", "required", "缺少滞纳金日费率")
	case *lf.PermillePerDay < 1 || *lf.PermillePerDay > MaxPermilleDay*PermilleScale:
		return BillEvent{}, platform.Invalid("late_fee.permille_per_day", "range", "滞纳金日费率应为 0.01 至 1000（以千分之一为单位，最多两位小数）")
	case lf.CapFen != nil && *lf.CapFen < 0:
		return BillEvent{}, platform.Invalid("late_fee.cap_fen", "range", "滞纳金上限不应为负数")
	case lf.CapFen != nil && e.AmountFen > 0 && *lf.CapFen > e.AmountFen:
		return BillEvent{}, platform.Invalid("late_fee.cap_fen", "range", "滞纳金上限不应超过账单金额")
	case lf.CapFen != nil && *lf.CapFen > MaxBillAmountFen:
		return BillEvent{}, platform.Invalid("late_fee.cap_fen", "range", "滞纳金上限不应超过账单金额")
	}
	e.LateFee = &BillLateFee{From: lf.From, PermillePerDay: *lf.PermillePerDay, CapFen: lf.CapFen}
	return e, nil
}

// validBillDate reports whether s is a real date YYYY-MM-DD of minBillYear to
// maxBillYear.
func validBillDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Format(time.DateOnly) == s && t.Year() >= minBillYear && t.Year() <= maxBillYear
}

func validateBillPayer(p *payerPayload, now time.Time) (BillPayer, error) {
	party, err := account.ValidateParty("payer", "缴款人", (*account.PartyInput)(p), now)
	return party, err
}

func validateBillUnit(u *CollectingUnit) (CollectingUnit, error) {
	if u == nil {
		return CollectingUnit{}, platform.Invalid("collecting_unit", "required", "缺少执收单位")
	}
	code := strings.TrimSpace(u.Code)
	switch {
	case code == "":
		return CollectingUnit{}, platform.Invalid("collecting_unit.code", "required", "缺少执收单位编码")
	case !billUnitCodePattern.MatchString(code):
		return CollectingUnit{}, platform.Invalid("collecting_unit.code", "format", "执收单位编码应为 1 至 32 个字母、数字、下划线或连字符")
	}
	name, err := billOrgName("collecting_unit.name", u.Name, "缺少执收单位名称", "执收单位名称")
	if err != nil {
		return CollectingUnit{}, err
	}
	return CollectingUnit{Code: code, Name: name}, nil
}

// billOrgName checks the name of an organisation: 1–100 characters without
// control characters.
func billOrgName(field, name, missing, what string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", platform.Invalid(field, "required", missing)
	case utf8.RuneCountInString(name) > maxBillOrgName:
		return "", platform.Invalid(field, "length", what+"最多 100 个字")
	case !account.PlainText(name, false):
		return "", platform.Invalid(field, "format", what+"含有控制字符")
	}
	return name, nil
}
