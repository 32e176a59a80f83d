package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
	"banshi/payments"
)

const billHookPath = apiV1 + "/hooks/bills"

// billHook posts a bill event signed by d; mutate may spoil the headers.
func (s *stack) billHook(t testing.TB, d dept, body []byte, mutate func(h http.Header)) answer {
	t.Helper()
	return s.signedPost(t, d, billHookPath, body, mutate)
}

// billEvent is a bill event body: an issue of no for idNumber by default;
// fields in over replace (or, nil, delete) the defaults.
func (s *stack) billEvent(eventID, action, no, idNumber string, over map[string]any) []byte {
	m := map[string]any{"event_id": eventID, "action": action, "bill_no": no}
	if action == payments.BillIssue {
		today := s.app.Clock.Now().In(platform.Shanghai())
		m["kind"], m["item"] = payments.BillKindTrafficFine, "机动车违反交通信号灯通行"
		m["payer"] = map[string]any{"type": "person", "id_number": idNumber, "name": "张三"}
		m["amount_fen"], m["due_date"] = 20000, today.AddDate(0, 0, -3).Format(time.DateOnly)
		// Two days of 30‰ so far (yesterday and today).
		m["late_fee"] = map[string]any{"from": today.AddDate(0, 0, -1).Format(time.DateOnly), "permille_per_day": 30, "cap_fen": 20000}
		m["collecting_unit"] = map[string]any{"code": "440100-JJ", "name": "广州市公安局交通警察支队"}
		m["verification_code"] = "Code" + strings.ReplaceAll(no, "-", "")
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// billState is what a bad request must leave unchanged: the department's
// bills and recorded events.
func (s *stack) billState(t *testing.T, d dept) string {
	t.Helper()
	var docs []bson.M
	cur, err := s.app.Mongo.DB.Collection(payments.CollBills).Find(t.Context(), bson.M{"source": d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, doc := range docs {
		fmt.Fprintf(&b, "%v/%v/%v/%v;", doc["_id"], doc["state"], doc["version"], doc["amount_fen"])
	}
	return fmt.Sprintf("%s events=%d", b.String(), s.countWhere(t, payments.CollBillEvents, bson.M{"source": d.ID}))
}

func billNos(t *testing.T, a answer) []string {
	t.Helper()
	var v struct {
		Bills []payments.BillView `json:"bills"`
	}
	decodeInto(t, a, &v)
	var out []string
	for _, b := range v.Bills {
		out = append(out, b.BillNo)
	}
	return out
}

// TestBillHookBadInput: every malformed, unsigned, unauthorised or refused
// bill event answers its 4xx and changes nothing.
func TestBillHookBadInput(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, integrations.ScopeBills)
	other := s.newDept(t, admin, integrations.ScopeBills)
	appsOnly := s.newDept(t, admin, integrations.ScopeApplications)
	id := newIDNumber()
	pfx := "BB" + platformtest.RandomID()[:8]
	s.must(t, 200, s.billHook(t, d, s.billEvent("i-1", payments.BillIssue, pfx+"-1", id, nil), nil))
	s.must(t, 200, s.billHook(t, d, s.billEvent("i-2", payments.BillIssue, pfx+"-2", id, nil), nil))
	s.must(t, 200, s.billHook(t, d, s.billEvent("c-2", payments.BillCancel, pfx+"-2", "", nil), nil))

	for _, c := range []struct {
		name   string
		dept   dept
		body   []byte
		mutate func(http.Header)
		status int
		code   string
		field  string
	}{
		{"not JSON", d, []byte(`{"event_id":`), nil, 400, "invalid_argument", "body"},
		{"unknown field", d, s.billEvent("x-1", payments.BillIssue, pfx+"-9", id, map[string]any{"discount": 1}), nil, 400, "invalid_argument", "discount"},
		{"bad action", d, s.billEvent("x-2", "pay", pfx+"-9", id, nil), nil, 400, "invalid_argument", "action"},
		{"bad bill number", d, s.billEvent("x-3", payments.BillIssue, pfx+"/9", id, nil), nil, 400, "invalid_argument", "bill_no"},
		{"bad kind", d, s.billEvent("x-4", payments.BillIssue, pfx+"-9", id, map[string]any{"kind": "tax"}), nil, 400, "invalid_argument", "kind"},
		{"bad ID number", d, s.billEvent("x-5", payments.BillIssue, pfx+"-9", wrongCheck(id), nil), nil, 400, "invalid_argument", "payer.id_number"},
		{"zero amount", d, s.billEvent("x-6", payments.BillIssue, pfx+"-9", id, map[string]any{"amount_fen": 0}), nil, 400, "invalid_argument", "amount_fen"},
		{"amount in yuan", d, s.billEvent("x-7", payments.BillIssue, pfx+"-9", id, map[string]any{"amount_fen": 200.5}), nil, 400, "invalid_argument", "amount_fen"},
		{"bad due date", d, s.billEvent("x-8", payments.BillIssue, pfx+"-9", id, map[string]any{"due_date": "2026-02-30"}), nil, 400, "invalid_argument", "due_date"},
		{"rate too high", d, s.billEvent("x-9", payments.BillIssue, pfx+"-9", id, map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 1001}}), nil, 400, "invalid_argument", "late_fee.permille_per_day"},
		{"cap above amount", d, s.billEvent("x-10", payments.BillIssue, pfx+"-9", id, map[string]any{"late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 3, "cap_fen": 20001}}), nil, 400, "invalid_argument", "late_fee.cap_fen"},
		{"bad code", d, s.billEvent("x-11", payments.BillIssue, pfx+"-9", id, map[string]any{"verification_code": "ab"}), nil, 400, "invalid_argument", "verification_code"},
		{"cancel with an amount", d, s.billEvent("x-12", payments.BillCancel, pfx+"-1", "", map[string]any{"amount_fen": 1}), nil, 400, "invalid_argument", "amount_fen"},
		{"adjust of a cap above the amount", d, s.billEvent("x-13", payments.BillAdjust, pfx+"-1", "", map[string]any{"amount_fen": 100, "late_fee": map[string]any{"from": "2026-04-01", "permille_per_day": 3, "cap_fen": 101}}), nil, 400, "invalid_argument", "late_fee.cap_fen"},
		{"unsigned", d, s.billEvent("x-14", payments.BillCancel, pfx+"-1", "", nil), func(h http.Header) { h.Del("X-Banshi-Signature") }, 401, "signature_invalid", ""},
		{"wrong secret", d, s.billEvent("x-15", payments.BillCancel, pfx+"-1", "", nil), func(h http.Header) { h.Set("X-Banshi-Signature", "v1="+strings.Repeat("0", 64)) }, 401, "signature_invalid", ""},
		{"without the bills scope", appsOnly, s.billEvent("x-16", payments.BillIssue, pfx+"-9", id, nil), nil, 403, "forbidden", ""},
		{"issued again", d, s.billEvent("x-17", payments.BillIssue, pfx+"-1", id, nil), nil, 409, "bill_conflict", ""},
		{"held by another department", other, s.billEvent("x-18", payments.BillIssue, pfx+"-1", id, nil), nil, 409, "bill_conflict", ""},
		{"cancel of another's bill", other, s.billEvent("x-19", payments.BillCancel, pfx+"-1", "", nil), nil, 404, "bill_not_found", ""},
		{"cancel of an unknown bill", d, s.billEvent("x-20", payments.BillCancel, pfx+"-404", "", nil), nil, 404, "bill_not_found", ""},
		{"adjust of a cancelled bill", d, s.billEvent("x-21", payments.BillAdjust, pfx+"-2", "", map[string]any{"amount_fen": 100}), nil, 409, "bill_cancelled", ""},
		{"cancel of a cancelled bill", d, s.billEvent("x-22", payments.BillCancel, pfx+"-2", "", nil), nil, 409, "bill_cancelled", ""},
	} {
		before := s.billState(t, d) + "|" + s.billState(t, other) + "|" + s.billState(t, appsOnly)
		a := s.billHook(t, c.dept, c.body, c.mutate)
		if a.Status != c.status || a.errCode() != c.code || a.errField("field") != c.field {
			t.Errorf("%s: %d %s", c.name, a.Status, a.Raw)
		}
		if after := s.billState(t, d) + "|" + s.billState(t, other) + "|" + s.billState(t, appsOnly); after != before {
			t.Errorf("%s changed something:\n%s\n%s", c.name, before, after)
		}
	}
	// A duplicate answers 200 duplicate and changes nothing.
	before := s.billState(t, d)
	a := s.must(t, 200, s.billHook(t, d, s.billEvent("i-1", payments.BillIssue, pfx+"-1", id, nil), nil))
	if a.Body["duplicate"] != true || s.billState(t, d) != before {
		t.Fatalf("duplicate: %s", a.Raw)
	}
}

// TestBillsOfTheCitizen: a bill shows to the citizen who proved its ID
// number (not at level 2), on their list and page, with the late fee of
// today; the owner is told; an adjust and a cancel reach them too.
func TestBillsOfTheCitizen(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, integrations.ScopeBills)
	p := s.newPerson(t)
	token := s.loginFrom(t, p)
	no := "BC" + platformtest.RandomID()[:8]
	s.must(t, 200, s.billHook(t, d, s.billEvent("i-1", payments.BillIssue, no, p.IDNumber, nil), nil))

	s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	if got := billNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/bills", token, nil))); len(got) != 0 {
		t.Fatalf("level 2 sees %v", got)
	}
	rc := s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": p.OpenID})).str("code")
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/check", token, map[string]string{"name": p.Name, "id_number": p.IDNumber, "code": rc}))
	a := s.must(t, 200, s.call(t, "GET", apiV1+"/me/bills", token, nil))
	var list struct {
		Bills []payments.BillView `json:"bills"`
	}
	decodeInto(t, a, &list)
	if len(list.Bills) != 1 || list.Bills[0].BillNo != no || list.Bills[0].LateFeeFen != 1200 || list.Bills[0].DueFen != 21200 ||
		list.Bills[0].Payer.Name != "*三" || strings.Contains(string(a.Raw), p.IDNumber) {
		t.Fatalf("level 3 sees %s", a.Raw)
	}
	if me := s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)); !strings.Contains(string(me.Raw), `"bill_no":"`+no+`"`) {
		t.Fatalf("the page does not show the bill: %s", me.Raw)
	}
	// Issued before the citizen proved the number: no message for it. An
	// adjust and a cancel afterwards are told.
	s.must(t, 200, s.billHook(t, d, s.billEvent("a-1", payments.BillAdjust, no, "", map[string]any{"amount_fen": 15000}), nil))
	s.must(t, 200, s.billHook(t, d, s.billEvent("c-1", payments.BillCancel, no, "", nil), nil))
	if n := s.countWhere(t, "inbox", bson.M{"data.bill_no": no}); n != 2 {
		t.Fatalf("%d messages, want the adjust's and the cancel's", n)
	}
	if got := billNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/bills", token, nil))); len(got) != 0 {
		t.Fatalf("a cancelled bill is listed: %v", got)
	}
}

// TestBillLookupByCode: the holder of the paper notice sees the bill; a
// wrong code answers exactly like an unknown bill; a missing code is a 400;
// the lookup is limited per client IP.
func TestBillLookupByCode(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, integrations.ScopeBills)
	no := "BL" + platformtest.RandomID()[:8]
	code := "Code" + no
	s.must(t, 200, s.billHook(t, d, s.billEvent("i-1", payments.BillIssue, no, newIDNumber(), nil), nil))
	ip := nextClientIP()
	a := s.must(t, 200, s.call(t, "GET", apiV1+"/bills/"+no+"?code="+code, "", nil, "X-Forwarded-For", ip))
	if a.str("bill_no") != no || a.str("state") != "unpaid" || a.str("due_fen") != "21200" || a.str("payer", "name") != "*三" ||
		a.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("lookup: %v %s", a.Header, a.Raw)
	}
	wrong := s.call(t, "GET", apiV1+"/bills/"+no+"?code=Wrong"+code, "", nil, "X-Forwarded-For", ip)
	unknown := s.call(t, "GET", apiV1+"/bills/"+no+"X?code="+code, "", nil, "X-Forwarded-For", ip)
	if wrong.Status != 404 || wrong.errCode() != "bill_not_found" || string(wrong.Raw) != string(unknown.Raw) || unknown.Status != 404 {
		t.Fatalf("wrong code %d %s, unknown bill %d %s", wrong.Status, wrong.Raw, unknown.Status, unknown.Raw)
	}
	for _, q := range []string{"", "?code=", "?code=ab", "?code=a%20b%20c%20d"} {
		if a := s.call(t, "GET", apiV1+"/bills/"+no+q, "", nil, "X-Forwarded-For", ip); a.Status != 400 || a.errField("field") != "code" {
			t.Errorf("%q: %d %s", q, a.Status, a.Raw)
		}
	}
	// The demo bills are there, with the codes start-up prints.
	demo := payments.DemoBills()[0]
	if a := s.must(t, 200, s.call(t, "GET", apiV1+"/bills/"+demo.BillNo+"?code="+demo.Code, "", nil, "X-Forwarded-For", ip)); a.str("kind") != payments.BillKindTrafficFine {
		t.Fatalf("demo bill: %s", a.Raw)
	}
	// 20 a minute per client IP (the default): 8 were made above.
	limited := nextClientIP()
	got := map[int]int{}
	for range 21 {
		got[s.call(t, "GET", apiV1+"/bills/"+no+"?code=Wrong"+code, "", nil, "X-Forwarded-For", limited).Status]++
	}
	if got[404] != 20 || got[429] != 1 {
		t.Fatalf("statuses %v, want 20 × 404 then 429", got)
	}
	// Another IP is not limited by it.
	s.must(t, 200, s.call(t, "GET", apiV1+"/bills/"+no+"?code="+code, "", nil, "X-Forwarded-For", nextClientIP()))
}

// wrongCheck is id with a check character that is not its own (a fixed
// replacement would be the right one for 1 ID number in 11).
func wrongCheck(id string) string {
	if id[17] == '0' {
		return id[:17] + "1"
	}
	return id[:17] + "0"
}
