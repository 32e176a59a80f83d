package applications

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

var parseNow = time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)

func TestParseEventAcceptsTheProtocol(t *testing.T) {
	e, err := ParseEvent(ev("e-1", StatusNeedsMaterials, "2026-03-16T09:30:00+08:00", map[string]any{"note": "  请尽快补正  "}), parseNow)
	if err != nil {
		t.Fatal(err)
	}
	if e.EventID != "e-1" || e.Status != StatusNeedsMaterials || len(e.MaterialsMissing) != 2 || e.Note != "请尽快补正" ||
		!e.OccurredAt.Equal(time.Date(2026, 3, 16, 1, 30, 0, 0, time.UTC)) || e.OccurredAt.Location() != time.UTC {
		t.Fatalf("parsed: %+v", e)
	}
	if e.Applicant.IDNumber != idZhang || e.Applicant.Name != "张三" {
		t.Fatalf("applicant: %#v", e.Applicant)
	}
	// Printing or logging an event never shows the identity in clear.
	for _, s := range []string{e.Applicant.String(), strings.TrimSpace(e.Applicant.GoString())} {
		if strings.Contains(s, idZhang) || strings.Contains(s, "张三") {
			t.Fatalf("applicant prints in clear: %s", s)
		}
	}
	// A lowercase x is normalised; enterprises have a USCC.
	e, err = ParseEvent(ev("e-2", StatusDelivered, "2026-03-16T09:30:00+08:00",
		map[string]any{"applicant": map[string]any{"type": "enterprise", "uscc": uscc, "name": "广州某某科技有限公司"}}), parseNow)
	if err != nil || e.Applicant.USCC != uscc || e.Delivery == nil || e.Delivery.TrackingNo != "EMS1234567890" {
		t.Fatalf("enterprise: %+v %v", e, err)
	}
	// A well-formed code whose final check character does not match (a
	// genuine pre-2016 code) is the department's record: accepted.
	e, err = ParseEvent(ev("e-4", StatusAccepted, "2026-03-16T09:30:00+08:00",
		map[string]any{"applicant": map[string]any{"type": "enterprise", "uscc": "91350203M0001QKT19", "name": "厦门某某有限公司"}}), parseNow)
	if err != nil || e.Applicant.USCC != "91350203M0001QKT19" {
		t.Fatalf("check character mismatch: %+v %v", e, err)
	}
	e, err = ParseEvent(ev("e-3", StatusDelivered, "2026-03-16T09:30:00+08:00",
		map[string]any{"delivery": map[string]any{"method": "pickup"}}), parseNow)
	if err != nil || e.Delivery.Method != DeliveryPickup {
		t.Fatalf("pickup: %+v %v", e, err)
	}
}

func TestParseEventRefusesEveryBadField(t *testing.T) {
	const at = "2026-03-16T09:30:00+08:00"
	person := func(k, v string) map[string]any {
		a := map[string]any{"type": "person", "id_number": idZhang, "name": "张三"}
		if v == "" {
			delete(a, k)
		} else {
			a[k] = v
		}
		return map[string]any{"applicant": a}
	}
	ent := func(k, v string) map[string]any {
		a := map[string]any{"type": "enterprise", "uscc": uscc, "name": "某某公司"}
		if v == "" {
			delete(a, k)
		} else {
			a[k] = v
		}
		return map[string]any{"applicant": a}
	}
	cases := []struct {
		name  string
		body  []byte
		field string
		check string
	}{
		{"empty body", []byte(""), "body", "required"},
		{"not json", []byte("{"), "body", "format"},
		{"an array", []byte("[]"), "body", "type"},
		{"two objects", append(ev("e", StatusAccepted, at, nil), []byte("{}")...), "body", "format"},
		{"unknown field", ev("e", StatusAccepted, at, map[string]any{"priority": 1}), "priority", "unknown_field"},
		{"unknown nested field", ev("e", StatusAccepted, at, person("phone", "123")), "phone", "unknown_field"},
		{"a name in another case", ev("e", StatusAccepted, at, map[string]any{"Note": "x"}), "Note", "unknown_field"},
		{"a nested name in another case", ev("e", StatusAccepted, at, person("Name", "李四")), "applicant.Name", "unknown_field"},
		{"wrong type", ev("e", StatusAccepted, at, map[string]any{"note": 5}), "note", "type"},
		{"no event id", ev("", StatusAccepted, at, nil), "event_id", "required"},
		{"event id too long", ev(strings.Repeat("e", 65), StatusAccepted, at, nil), "event_id", "length"},
		{"event id chars", ev("e 1", StatusAccepted, at, nil), "event_id", "format"},
		{"no application no", ev("e", StatusAccepted, at, map[string]any{"application_no": nil}), "application_no", "required"},
		{"application no chars", ev("e", StatusAccepted, at, map[string]any{"application_no": "GZ/1"}), "application_no", "format"},
		{"no service code", ev("e", StatusAccepted, at, map[string]any{"service_code": ""}), "service_code", "required"},
		{"service code chars", ev("e", StatusAccepted, at, map[string]any{"service_code": "a b"}), "service_code", "format"},
		{"no applicant", ev("e", StatusAccepted, at, map[string]any{"applicant": nil}), "applicant", "required"},
		{"applicant type missing", ev("e", StatusAccepted, at, person("type", "")), "applicant.type", "required"},
		{"applicant type unknown", ev("e", StatusAccepted, at, person("type", "robot")), "applicant.type", "enum"},
		{"id number missing", ev("e", StatusAccepted, at, person("id_number", "")), "applicant.id_number", "required"},
		{"id number check digit", ev("e", StatusAccepted, at, person("id_number", "110105194912310021")), "applicant.id_number", "check_digit"},
		{"name missing", ev("e", StatusAccepted, at, person("name", "")), "applicant.name", "required"},
		{"name latin", ev("e", StatusAccepted, at, person("name", "Zhang San")), "applicant.name", "name_chars"},
		{"person with uscc", ev("e", StatusAccepted, at, person("uscc", uscc)), "applicant.uscc", "not_allowed"},
		{"uscc missing", ev("e", StatusAccepted, at, ent("uscc", "")), "applicant.uscc", "required"},
		{"uscc short", ev("e", StatusAccepted, at, ent("uscc", "91440101MA5C")), "applicant.uscc", "length"},
		{"uscc alphabet", ev("e", StatusAccepted, at, ent("uscc", "91440101MA5CXXXXOY")), "applicant.uscc", "alphabet"},
		{"uscc category", ev("e", StatusAccepted, at, ent("uscc", "94440101MA5CXXXX7X")), "applicant.uscc", "category"},
		{"uscc division", ev("e", StatusAccepted, at, ent("uscc", "91004401MA5CXXXX7X")), "applicant.uscc", "division"},
		{"uscc organisation code check", ev("e", StatusAccepted, at, ent("uscc", "91440101MA5CXXXX0Y")), "applicant.uscc", "org_code_check"},
		{"uscc is an ID number", ev("e", StatusAccepted, at, ent("uscc", idZhang)), "applicant.uscc", "division"},
		{"enterprise name missing", ev("e", StatusAccepted, at, ent("name", "")), "applicant.name", "required"},
		{"enterprise name long", ev("e", StatusAccepted, at, ent("name", strings.Repeat("企", 101))), "applicant.name", "length"},
		{"enterprise with id number", ev("e", StatusAccepted, at, ent("id_number", idZhang)), "applicant.id_number", "not_allowed"},
		{"no status", ev("e", "", at, nil), "status", "required"},
		{"unknown status", ev("e", "done", at, nil), "status", "enum"},
		{"no occurred_at", ev("e", StatusAccepted, "", nil), "occurred_at", "required"},
		{"occurred_at not rfc 3339", ev("e", StatusAccepted, "2026-03-16 09:30", nil), "occurred_at", "format"},
		{"occurred_at ancient", ev("e", StatusAccepted, "1999-12-31T23:00:00+08:00", nil), "occurred_at", "range"},
		{"occurred_at future", ev("e", StatusAccepted, "2026-03-16T10:06:00+08:00", nil), "occurred_at", "future"},
		{"needs materials without list", ev("e", StatusNeedsMaterials, at, map[string]any{"materials_missing": nil}), "materials_missing", "required"},
		{"needs materials empty list", ev("e", StatusNeedsMaterials, at, map[string]any{"materials_missing": []any{}}), "materials_missing", "required"},
		{"material without name", ev("e", StatusNeedsMaterials, at, map[string]any{"materials_missing": []any{map[string]any{"name": "照片"}, map[string]any{"reason": "x"}}}), "materials_missing[1].name", "required"},
		{"material reason long", ev("e", StatusNeedsMaterials, at, map[string]any{"materials_missing": []any{map[string]any{"name": "照片", "reason": strings.Repeat("长", 201)}}}), "materials_missing[0].reason", "length"},
		{"too many materials", ev("e", StatusNeedsMaterials, at, map[string]any{"materials_missing": manyMaterials(51)}), "materials_missing", "length"},
		{"materials on another status", ev("e", StatusAccepted, at, map[string]any{"materials_missing": []any{map[string]any{"name": "照片"}}}), "materials_missing", "not_allowed"},
		{"delivered without delivery", ev("e", StatusDelivered, at, map[string]any{"delivery": nil}), "delivery", "required"},
		{"delivery method missing", ev("e", StatusDelivered, at, map[string]any{"delivery": map[string]any{}}), "delivery.method", "required"},
		{"delivery method unknown", ev("e", StatusDelivered, at, map[string]any{"delivery": map[string]any{"method": "drone"}}), "delivery.method", "enum"},
		{"post without carrier", ev("e", StatusDelivered, at, map[string]any{"delivery": map[string]any{"method": "post", "tracking_no": "1"}}), "delivery.carrier", "required"},
		{"post without tracking", ev("e", StatusDelivered, at, map[string]any{"delivery": map[string]any{"method": "post", "carrier": "顺丰"}}), "delivery.tracking_no", "required"},
		{"tracking chars", ev("e", StatusDelivered, at, map[string]any{"delivery": map[string]any{"method": "post", "carrier": "顺丰", "tracking_no": "SF 1"}}), "delivery.tracking_no", "format"},
		{"delivery on another status", ev("e", StatusApproved, at, map[string]any{"delivery": map[string]any{"method": "pickup"}}), "delivery", "not_allowed"},
		{"note too long", ev("e", StatusAccepted, at, map[string]any{"note": strings.Repeat("长", 501)}), "note", "length"},
		{"note control chars", ev("e", StatusAccepted, at, map[string]any{"note": "a\x07b"}), "note", "format"},
	}
	for _, tc := range cases {
		_, err := ParseEvent(tc.body, parseNow)
		pe, ok := platform.AsError(err)
		if !ok || pe.Code != platform.CodeInvalid || pe.Field != tc.field || pe.Check != tc.check {
			t.Errorf("%s: %v, want invalid %s/%s", tc.name, err, tc.field, tc.check)
		}
	}
}

func manyMaterials(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": "材料"}
	}
	return out
}

// FuzzParseEvent: whatever the body, ParseEvent never panics, refuses with
// invalid_argument naming a field, or accepts an event that keeps every
// promise of its contract.
func FuzzParseEvent(f *testing.F) {
	const at = "2026-03-16T09:30:00+08:00"
	for _, s := range Statuses() {
		f.Add(ev("seed-"+s, s, at, nil))
	}
	f.Add(ev("e", StatusAccepted, at, map[string]any{"applicant": map[string]any{"type": "enterprise", "uscc": uscc, "name": "某某公司"}}))
	f.Add([]byte(`{"event_id":"e","applicant":{"type":"person","id_number":null}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEvent(body, parseNow)
		if err != nil {
			pe, ok := platform.AsError(err)
			if !ok || pe.Code != platform.CodeInvalid || pe.Field == "" || pe.Check == "" || pe.Message == "" {
				t.Fatalf("refusal is not an invalid_argument naming a field: %v", err)
			}
			return
		}
		switch {
		case !eventIDPattern.MatchString(e.EventID) || len(e.EventID) > MaxEventID:
			t.Fatalf("event id %q", e.EventID)
		case !applicationNoPattern.MatchString(e.ApplicationNo) || !platform.ValidServiceCode(e.ServiceCode):
			t.Fatalf("application no %q, service code %q", e.ApplicationNo, e.ServiceCode)
		case !ValidStatus(e.Status):
			t.Fatalf("status %q", e.Status)
		case (e.Status == StatusNeedsMaterials) != (len(e.MaterialsMissing) > 0):
			t.Fatalf("materials %v for %s", e.MaterialsMissing, e.Status)
		case (e.Status == StatusDelivered) != (e.Delivery != nil):
			t.Fatalf("delivery %v for %s", e.Delivery, e.Status)
		case e.OccurredAt.After(parseNow.Add(FutureSkew)) || e.OccurredAt.Before(minOccurredAt):
			t.Fatalf("occurred at %v", e.OccurredAt)
		}
		var keys map[string]any
		if json.Unmarshal(body, &keys) != nil {
			t.Fatal("accepted a body that is not a JSON object")
		}
		for k := range keys {
			if !slices.Contains(eventKeys, k) {
				t.Fatalf("accepted the key %q", k)
			}
		}
		switch e.Applicant.Type {
		case ApplicantPerson:
			if len(e.Applicant.IDNumber) != 18 || e.Applicant.USCC != "" || e.Applicant.Name == "" {
				t.Fatalf("person %#v", e.Applicant)
			}
		case ApplicantEnterprise:
			if _, err := platform.ParseUSCC(e.Applicant.USCC); err != nil || e.Applicant.IDNumber != "" || e.Applicant.Name == "" {
				t.Fatalf("enterprise %#v", e.Applicant)
			}
		default:
			t.Fatalf("applicant type %q", e.Applicant.Type)
		}
	})
}
