package payments

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

var billParseNow = time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC)

func TestParseBillEventAccepts(t *testing.T) {
	e, err := ParseBillEvent(billBody("e-1", BillIssue, "JT-1", nil), billParseNow)
	if err != nil {
		t.Fatal(err)
	}
	if e.Action != BillIssue || e.BillNo != "JT-1" || e.Kind != BillKindTrafficFine || e.AmountFen != 20000 ||
		e.DueDate != "2026-03-31" || e.Payer.IDNumber != billIDZhang || e.Payer.Name != "张三" ||
		e.LateFee == nil || e.LateFee.PermillePerDay != 30*PermilleScale || *e.LateFee.CapFen != 20000 ||
		e.Unit.Code != "440100-JJ" || e.VerificationCode != "AB12cd" {
		t.Fatalf("parsed %+v", e)
	}
	if s := e.String(); strings.Contains(s, billIDZhang) || strings.Contains(s, "张三") || strings.Contains(s, "AB12cd") {
		t.Fatalf("String shows identity or code: %s", s)
	}
	// A lowercase x, spaces around the ID number and name are normalised;
	// the late fee and its cap are optional.
	e, err = ParseBillEvent(billBody("e-2", BillIssue, "JT-2", map[string]any{
		"payer":    map[string]any{"type": "person", "id_number": " " + strings.ToLower(billIDZhang) + " ", "name": " 张三 "},
		"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 1}}), billParseNow)
	if err != nil || e.Payer.IDNumber != billIDZhang || e.Payer.Name != "张三" || e.LateFee.CapFen != nil {
		t.Fatalf("%+v %v", e, err)
	}
	e, err = ParseBillEvent(billBody("e-3", BillIssue, "QY-1", map[string]any{"late_fee": nil,
		"payer": map[string]any{"type": "enterprise", "uscc": billUSCC, "name": "广州某某科技有限公司"}}), billParseNow)
	if err != nil || e.Payer.USCC != billUSCC || e.LateFee != nil {
		t.Fatalf("%+v %v", e, err)
	}
	// A well-formed code whose final check character does not match (a
	// genuine pre-2016 code) is the department's record: accepted.
	e, err = ParseBillEvent(billBody("e-4", BillIssue, "QY-2", map[string]any{
		"payer": map[string]any{"type": "enterprise", "uscc": "91350203M0001QKT19", "name": "厦门某某有限公司"}}), billParseNow)
	if err != nil || e.Payer.USCC != "91350203M0001QKT19" {
		t.Fatalf("%+v %v", e, err)
	}
	e, err = ParseBillEvent([]byte(`{"event_id":"c-1","action":"cancel","bill_no":"JT-1"}`), billParseNow)
	if err != nil || e.Action != BillCancel || e.AmountFen != 0 {
		t.Fatalf("%+v %v", e, err)
	}
	e, err = ParseBillEvent([]byte(`{"event_id":"a-1","action":"adjust","bill_no":"JT-1","due_date":"2026-04-30"}`), billParseNow)
	if err != nil || e.DueDate != "2026-04-30" || e.AmountFen != 0 || e.LateFee != nil {
		t.Fatalf("%+v %v", e, err)
	}
	e, err = ParseBillEvent([]byte(`{"event_id":"a-2","action":"adjust","bill_no":"JT-1","amount_fen":10000000000,"late_fee":{"from":"2026-05-01","permille_per_day":1000,"cap_fen":0}}`), billParseNow)
	if err != nil || e.AmountFen != MaxBillAmountFen || *e.LateFee.CapFen != 0 {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestParseBillEventRefuses(t *testing.T) {
	person := func(id, name string) map[string]any {
		return map[string]any{"type": "person", "id_number": id, "name": name}
	}
	for _, c := range []struct {
		body         []byte
		field, check string
	}{
		{[]byte(``), "body", "required"},
		{[]byte(`null`), "body", "format"},
		{[]byte(`[]`), "body", "type"},
		{[]byte(`{"event_id":"e"`), "body", "format"},
		{[]byte(`{"event_id":"e"} {}`), "body", "format"},
		{[]byte(`{"event_id":"e","action":"cancel","bill_no":"B","extra":1}`), "extra", "unknown_field"},
		{[]byte(`{"Event_id":"e","action":"cancel","bill_no":"B"}`), "Event_id", "unknown_field"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "person", "id_number": billIDZhang, "name": "张三", "Name": "x"}}), "payer.Name", "unknown_field"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 3, "rate": 1}}), "late_fee.rate", "unknown_field"},
		{billBody("e", BillIssue, "B", map[string]any{"collecting_unit": map[string]any{"code": "1", "name": "x", "id": 1}}), "collecting_unit.id", "unknown_field"},
		{billBody("", BillIssue, "B", nil), "event_id", "required"},
		{billBody(strings.Repeat("e", 65), BillIssue, "B", nil), "event_id", "length"},
		{billBody("e/1", BillIssue, "B", nil), "event_id", "format"},
		{billBody("e", "", "B", nil), "action", "required"},
		{billBody("e", "pay", "B", nil), "action", "enum"},
		{billBody("e", BillIssue, "", nil), "bill_no", "required"},
		{billBody("e", BillIssue, "B.1", nil), "bill_no", "format"},
		{billBody("e", BillIssue, strings.Repeat("B", 65), nil), "bill_no", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"kind": nil}), "kind", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"kind": "tax"}), "kind", "enum"},
		{billBody("e", BillIssue, "B", map[string]any{"item": " "}), "item", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"item": strings.Repeat("费", 201)}), "item", "length"},
		{billBody("e", BillIssue, "B", map[string]any{"item": "a\nb"}), "item", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": nil}), "payer", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{}}), "payer.type", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "org"}}), "payer.type", "enum"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": person("", "张三")}), "payer.id_number", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": person("110105194912310021", "张三")}), "payer.id_number", "check_digit"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": person(billIDZhang, "Zhang San")}), "payer.name", "name_chars"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "person", "id_number": billIDZhang, "name": "张三", "uscc": billUSCC}}), "payer.uscc", "not_allowed"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": billUSCC, "name": "某公司", "id_number": billIDZhang}}), "payer.id_number", "not_allowed"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "name": "某公司"}}), "payer.uscc", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "91440101MA5C", "name": "某公司"}}), "payer.uscc", "length"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "91440101MA5CXXXXOY", "name": "某公司"}}), "payer.uscc", "alphabet"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "94440101MA5CXXXX7X", "name": "某公司"}}), "payer.uscc", "category"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "91004401MA5CXXXX7X", "name": "某公司"}}), "payer.uscc", "division"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "91440101MA5CXXXX0Y", "name": "某公司"}}), "payer.uscc", "org_code_check"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": "11010519491231002X", "name": "某公司"}}), "payer.uscc", "division"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": billUSCC}}), "payer.name", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"payer": map[string]any{"type": "enterprise", "uscc": billUSCC, "name": strings.Repeat("公", 101)}}), "payer.name", "length"},
		{billBody("e", BillIssue, "B", map[string]any{"amount_fen": nil}), "amount_fen", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"amount_fen": 0}), "amount_fen", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"amount_fen": -5}), "amount_fen", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"amount_fen": MaxBillAmountFen + 1}), "amount_fen", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"amount_fen": 1.5}), "amount_fen", "type"},
		{billBody("e", BillIssue, "B", map[string]any{"amount_fen": "100"}), "amount_fen", "type"},
		{billBody("e", BillIssue, "B", map[string]any{"due_date": nil}), "due_date", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"due_date": "2026-02-30"}), "due_date", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"due_date": "2026-3-1"}), "due_date", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"due_date": "1999-12-31"}), "due_date", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"due_date": "2026-03-31T00:00:00Z"}), "due_date", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"permille_per_day": 3}}), "late_fee.from", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026/04/01", "permille_per_day": 3}}), "late_fee.from", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01"}}), "late_fee.permille_per_day", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 0}}), "late_fee.permille_per_day", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 1001}}), "late_fee.permille_per_day", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 0.005}}), "late_fee.permille_per_day", "type"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": json.RawMessage(`1e1`)}}), "late_fee.permille_per_day", "type"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": "0.5"}}), "late_fee.permille_per_day", "type"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 0}}), "late_fee.permille_per_day", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 1000.01}}), "late_fee.permille_per_day", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 3, "cap_fen": -1}}), "late_fee.cap_fen", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 3, "cap_fen": 20001}}), "late_fee.cap_fen", "range"},
		{billBody("e", BillIssue, "B", map[string]any{"collecting_unit": nil}), "collecting_unit", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"collecting_unit": map[string]any{"name": "x"}}), "collecting_unit.code", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"collecting_unit": map[string]any{"code": "44 01", "name": "x"}}), "collecting_unit.code", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"collecting_unit": map[string]any{"code": "4401"}}), "collecting_unit.name", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"verification_code": nil}), "verification_code", "required"},
		{billBody("e", BillIssue, "B", map[string]any{"verification_code": "AB1"}), "verification_code", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"verification_code": "AB1-2"}), "verification_code", "format"},
		{billBody("e", BillIssue, "B", map[string]any{"verification_code": strings.Repeat("A", 33)}), "verification_code", "format"},
		{[]byte(`{"event_id":"c","action":"cancel","bill_no":"B","amount_fen":1}`), "amount_fen", "not_allowed"},
		{[]byte(`{"event_id":"c","action":"cancel","bill_no":"B","kind":null}`), "kind", "not_allowed"},
		{[]byte(`{"event_id":"a","action":"adjust","bill_no":"B"}`), "amount_fen", "required"},
		{[]byte(`{"event_id":"a","action":"adjust","bill_no":"B","amount_fen":100,"item":"x"}`), "item", "not_allowed"},
		{[]byte(`{"event_id":"a","action":"adjust","bill_no":"B","verification_code":"ABCD","due_date":"2026-04-01"}`), "verification_code", "not_allowed"},
		{[]byte(`{"event_id":"a","action":"adjust","bill_no":"B","amount_fen":0}`), "amount_fen", "range"},
		{[]byte(`{"event_id":"a","action":"adjust","bill_no":"B","amount_fen":100,"late_fee":{"from":"2026-04-01","permille_per_day":3,"cap_fen":101}}`), "late_fee.cap_fen", "range"},
	} {
		_, err := ParseBillEvent(c.body, billParseNow)
		pe, ok := platform.AsError(err)
		if !ok || pe.Code != platform.CodeInvalid || pe.Field != c.field || pe.Check != c.check || pe.Message == "" {
			t.Errorf("%s: err = %v, want %s/%s", c.body, err, c.field, c.check)
		}
	}
}

// FuzzParseBillEvent: whatever the body, ParseBillEvent either refuses it
// with an invalid_argument naming a field and a check, or returns an event
// whose every field holds the protocol's rules.
func FuzzParseBillEvent(f *testing.F) {
	f.Add(billBody("seed-issue", BillIssue, "JT-1", nil))
	f.Add(billBody("seed-ent", BillIssue, "QY-1", map[string]any{"late_fee": nil,
		"payer": map[string]any{"type": "enterprise", "uscc": billUSCC, "name": "广州某某科技有限公司"}}))
	f.Add([]byte(`{"event_id":"c","action":"cancel","bill_no":"B"}`))
	f.Add([]byte(`{"event_id":"a","action":"adjust","bill_no":"B","amount_fen":100,"late_fee":{"from":"2026-04-01","permille_per_day":3}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseBillEvent(body, billParseNow)
		if err != nil {
			pe, ok := platform.AsError(err)
			if !ok || pe.Code != platform.CodeInvalid || pe.Field == "" || pe.Check == "" || pe.Message == "" {
				t.Fatalf("refusal is not an invalid_argument naming a field: %v", err)
			}
			return
		}
		switch {
		case !billEventIDPattern.MatchString(e.EventID) || len(e.EventID) > MaxBillEventID:
			t.Fatalf("event id %q", e.EventID)
		case !BillNoPattern.MatchString(e.BillNo):
			t.Fatalf("bill no %q", e.BillNo)
		case e.AmountFen < 0 || e.AmountFen > MaxBillAmountFen:
			t.Fatalf("amount %d", e.AmountFen)
		case e.DueDate != "" && !validBillDate(e.DueDate):
			t.Fatalf("due date %q", e.DueDate)
		case e.LateFee != nil && (!validBillDate(e.LateFee.From) || e.LateFee.PermillePerDay < 1 || e.LateFee.PermillePerDay > MaxPermilleDay*PermilleScale ||
			(e.LateFee.CapFen != nil && (*e.LateFee.CapFen < 0 || (e.AmountFen > 0 && *e.LateFee.CapFen > e.AmountFen)))):
			t.Fatalf("late fee %+v", e.LateFee)
		}
		switch e.Action {
		case BillIssue:
			if !slices.Contains(BillKinds(), e.Kind) || e.Item == "" || e.AmountFen < 1 || e.DueDate == "" ||
				!BillCodePattern.MatchString(e.VerificationCode) || e.Unit.Code == "" || e.Unit.Name == "" ||
				(e.Payer.Type != PayerPerson && e.Payer.Type != PayerEnterprise) || e.Payer.Name == "" ||
				(e.Payer.Type == PayerPerson && len(e.Payer.IDNumber) != 18) || (e.Payer.Type == PayerEnterprise && !wellFormedUSCC(e.Payer.USCC)) {
				t.Fatalf("issue %+v", e)
			}
		case BillCancel:
			if e.Kind != "" || e.AmountFen != 0 || e.DueDate != "" || e.LateFee != nil || e.VerificationCode != "" {
				t.Fatalf("cancel %+v", e)
			}
		case BillAdjust:
			if e.AmountFen == 0 && e.DueDate == "" && e.LateFee == nil || e.Kind != "" || e.VerificationCode != "" {
				t.Fatalf("adjust %+v", e)
			}
		default:
			t.Fatalf("action %q", e.Action)
		}
		var keys map[string]any
		if json.Unmarshal(body, &keys) != nil {
			t.Fatal("accepted a body that is not a JSON object")
		}
		for k := range keys {
			if !slices.Contains(billKeys, k) {
				t.Fatalf("accepted the key %q", k)
			}
		}
	})
}

// The late-fee rate reads and writes ‰ with at most two decimals, exactly.
func TestPermilleJSON(t *testing.T) {
	for in, want := range map[string]Permille{"0.5": 50, "30": 3000, "0.05": 5, "1000": 100000, "12.3": 1230, "0": 0} {
		var p Permille
		if err := json.Unmarshal([]byte(in), &p); err != nil || p != want {
			t.Fatalf("%s: %d %v", in, p, err)
		}
		out, _ := json.Marshal(p)
		if want := map[string]string{"12.3": "12.3", "0": "0"}[in]; want != "" && string(out) != want {
			t.Fatalf("%s marshals as %s", in, out)
		}
		if string(out) != in {
			t.Fatalf("%s marshals as %s", in, out)
		}
	}
	for _, in := range []string{"0.005", "-1", "1e2", `"1"`, "01", "10000", "1.", ".5", "null"} {
		var p Permille
		if err := json.Unmarshal([]byte(in), &p); err == nil && in != "null" {
			t.Fatalf("%s accepted as %d", in, p)
		}
	}
}

// wellFormedUSCC reports whether s passes platform.ParseUSCC.
func wellFormedUSCC(s string) bool {
	_, err := platform.ParseUSCC(s)
	return err == nil
}
