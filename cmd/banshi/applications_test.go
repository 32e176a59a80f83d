package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/staff"
)

const hookPath = apiV1 + "/hooks/applications"

// dept is an integration registered through the admin API for one test.
type dept struct {
	ID, Secret string
}

// newDept registers an integration with scopes and returns it with its secret.
func (s *stack) newDept(t testing.TB, admin string, scopes ...string) dept {
	t.Helper()
	id := "t-" + platformtest.RandomID()
	a := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/integrations", admin,
		map[string]any{"id": id, "name": "测试审批系统", "scopes": scopes}))
	return dept{ID: id, Secret: a.str("secret")}
}

// hook is a signed request to the applications hook; mutate may spoil it.
func (s *stack) hook(t testing.TB, d dept, body []byte, mutate func(h http.Header)) answer {
	t.Helper()
	return s.signedPost(t, d, hookPath, body, mutate)
}

// signedPost posts body to a department hook at path, signed by d as the
// protocol says; mutate may spoil the headers.
func (s *stack) signedPost(t testing.TB, d dept, path string, body []byte, mutate func(h http.Header)) answer {
	t.Helper()
	h := http.Header{}
	platform.SignHook(h, d.ID, d.Secret, "POST", path, s.app.Clock.Now(), body)
	if mutate != nil {
		mutate(h)
	}
	var hdr []string
	for k := range h {
		hdr = append(hdr, k, h.Get(k))
	}
	return s.call(t, "POST", path, "", body, hdr...)
}

// appEvent is an application event body for the person with idNumber.
func (s *stack) appEvent(eventID, no, status, idNumber string, over map[string]any) []byte {
	m := map[string]any{
		"event_id": eventID, "application_no": no, "service_code": "11440106007482133H4440111009000",
		"applicant": map[string]any{"type": "person", "id_number": idNumber, "name": "张三"},
		"status":    status, "occurred_at": platform.Local(s.app.Clock.Now()).Format(time.RFC3339),
	}
	switch status {
	case "needs_materials":
		m["materials_missing"] = []map[string]string{{"name": "户口簿复印件", "reason": "原件不清晰"}}
	case "delivered":
		m["delivery"] = map[string]string{"method": "post", "carrier": "中国邮政EMS", "tracking_no": "EMS1234567890"}
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

// countWhere counts documents of coll matching filter in the stack's database.
func (s *stack) countWhere(t *testing.T, coll string, filter bson.M) int64 {
	t.Helper()
	n, err := s.app.Mongo.DB.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (s *stack) deptState(t *testing.T, d dept) string {
	return fmt.Sprintf("events=%d applications=%d", s.countWhere(t, "application_events", bson.M{"source": d.ID}),
		s.countWhere(t, "applications", bson.M{"source": d.ID}))
}

func appNos(t *testing.T, a answer) []string {
	t.Helper()
	var v struct {
		Applications []struct {
			ApplicationNo string `json:"application_no"`
		} `json:"applications"`
	}
	decodeInto(t, a, &v)
	var out []string
	for _, x := range v.Applications {
		out = append(out, x.ApplicationNo)
	}
	return out
}

// ---- integrations admin ----------------------------------------------------

func TestIntegrationsAdmin(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	path := apiV1 + "/staff/admin/integrations"
	id := "t-" + platformtest.RandomID()

	// Bad input is refused and creates nothing.
	before := s.count(t, "integrations")
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{"id": "Bad Id", "name": "x", "scopes": []string{"bills"}}, "id"},
		{map[string]any{"id": id, "name": "", "scopes": []string{"bills"}}, "name"},
		{map[string]any{"id": id, "name": "x", "scopes": []string{}}, "scopes"},
		{map[string]any{"id": id, "name": "x", "scopes": []string{"bills", "payments"}}, "scopes[1]"},
		{map[string]any{"id": id, "name": "x", "scopes": []string{"bills"}, "callback_url": "ftp://x"}, "callback_url"},
		{map[string]any{"id": id, "name": "x", "scopes": []string{"bills"}, "secret": "mine"}, "secret"},
		{`{"id":`, "body"},
	} {
		a := s.call(t, "POST", path, admin, bad.body)
		if a.Status != 400 || a.errCode() != "invalid_argument" || a.errField("field") != bad.field {
			t.Errorf("%v: %d %s, want 400 naming %s", bad.body, a.Status, a.Raw, bad.field)
		}
	}
	if s.count(t, "integrations") != before {
		t.Fatal("bad input created an integration")
	}

	// Only admins; citizens' tokens are no staff tokens.
	hall := s.staffLogin(t, staff.DemoStaff)
	if a := s.call(t, "POST", path, hall, map[string]any{"id": id, "name": "x", "scopes": []string{"bills"}}); a.Status != 403 {
		t.Fatalf("hall staff: %d %s", a.Status, a.Raw)
	}
	if a := s.call(t, "GET", path, hall, nil); a.Status != 403 {
		t.Fatalf("hall staff list: %d", a.Status)
	}
	_, citizen := levelThree(t, s)
	if a := s.call(t, "GET", path, citizen, nil); a.Status != 401 {
		t.Fatalf("citizen: %d", a.Status)
	}
	if s.count(t, "integrations") != before {
		t.Fatal("a refused request created an integration")
	}

	// Create: the secret is shown once.
	a := s.must(t, 201, s.call(t, "POST", path, admin, map[string]any{"id": id, "name": "广州市公安局审批系统",
		"scopes": []string{"applications"}, "callback_url": "https://gaj.example/banshi/events"}))
	secret := a.str("secret")
	if len(secret) != 64 || a.Header.Get("Cache-Control") != "no-store" || a.str("id") != id || a.str("disabled") != "false" {
		t.Fatalf("create: %s %v", a.Raw, a.Header)
	}
	if a := s.call(t, "POST", path, admin, map[string]any{"id": id, "name": "again", "scopes": []string{"bills"}}); a.Status != 409 || a.errCode() != "already_exists" {
		t.Fatalf("again: %d %s", a.Status, a.Raw)
	}
	list := s.must(t, 200, s.call(t, "GET", path, admin, nil))
	if !strings.Contains(string(list.Raw), `"id":"`+id+`"`) || strings.Contains(string(list.Raw), secret) || strings.Contains(string(list.Raw), `"secret"`) {
		t.Fatalf("list: %s", list.Raw)
	}
	d := dept{ID: id, Secret: secret}
	s.must(t, 200, s.hook(t, d, s.appEvent("adm-1", "ADM1", "accepted", newIDNumber(), nil), nil))

	// Rotate: a new secret; the old one still verifies during the overlap.
	a = s.must(t, 200, s.call(t, "POST", path+"/"+id+"/rotate", admin, nil))
	newSecret := a.str("secret")
	if len(newSecret) != 64 || newSecret == secret || a.str("previous_secret_valid_until") == "" || a.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %s", a.Raw)
	}
	s.must(t, 200, s.hook(t, d, s.appEvent("adm-2", "ADM1", "under_review", newIDNumber(), nil), nil))
	d.Secret = newSecret
	s.must(t, 200, s.hook(t, d, s.appEvent("adm-3", "ADM1", "under_review", newIDNumber(), nil), nil))
	if a := s.call(t, "POST", path+"/nope-"+id+"/rotate", admin, nil); a.Status != 404 || a.errCode() != "not_found" {
		t.Fatalf("rotate unknown: %d %s", a.Raw, a.Raw)
	}

	// Disable refuses its requests at once; enable lets them in again.
	a = s.must(t, 200, s.call(t, "POST", path+"/"+id+"/disable", admin, nil))
	if a.str("disabled") != "true" {
		t.Fatalf("disable: %s", a.Raw)
	}
	st := s.deptState(t, d)
	if a := s.hook(t, d, s.appEvent("adm-4", "ADM1", "approved", newIDNumber(), nil), nil); a.Status != 401 || a.errCode() != "signature_invalid" {
		t.Fatalf("disabled: %d %s", a.Status, a.Raw)
	}
	if s.deptState(t, d) != st {
		t.Fatal("a disabled integration's event was stored")
	}
	s.must(t, 200, s.call(t, "POST", path+"/"+id+"/enable", admin, nil))
	s.must(t, 200, s.hook(t, d, s.appEvent("adm-4", "ADM1", "approved", newIDNumber(), nil), nil))
	if a := s.call(t, "POST", path+"/nope-"+id+"/disable", admin, nil); a.Status != 404 {
		t.Fatalf("disable unknown: %d", a.Status)
	}

	// Every change is audited, without the secret.
	audit := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/audit?action=integrations.rotate&limit=50", admin, nil))
	if !strings.Contains(string(audit.Raw), `"target":"`+id+`"`) || strings.Contains(string(audit.Raw), newSecret) {
		t.Fatalf("audit: %s", audit.Raw)
	}
	for _, action := range []string{"integrations.create", "integrations.disable", "integrations.enable", "integrations.list"} {
		a := s.must(t, 200, s.call(t, "GET", apiV1+"/staff/audit?action="+action+"&limit=50", admin, nil))
		if !strings.Contains(string(a.Raw), `"action":"`+action+`"`) {
			t.Errorf("no audit of %s: %s", action, a.Raw)
		}
	}
}

// ---- the hook: refusals ----------------------------------------------------

// TestApplicationHookRefusals: forged, stale, replayed, unscoped, malformed
// and oversized requests are refused with their code, and store nothing.
func TestApplicationHookRefusals(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	billsOnly := s.newDept(t, admin, "bills")
	p, token := levelThree(t, s)
	body := s.appEvent("ref-1", "REF1", "accepted", p.IDNumber, nil)
	now := s.app.Clock.Now()
	state := func() string {
		return s.deptState(t, d) + " " + s.deptState(t, billsOnly) + fmt.Sprintf(" inbox=%d", s.countWhere(t, "inbox", bson.M{"data.application_no": "REF1"}))
	}
	before := state()

	cases := []struct {
		name   string
		d      dept
		body   []byte
		mutate func(h http.Header)
		status int
		code   string
	}{
		{"no headers", d, body, func(h http.Header) {
			for k := range h {
				h.Del(k)
			}
		}, 401, "signature_invalid"},
		{"wrong secret", dept{ID: d.ID, Secret: strings.Repeat("0", 64)}, body, nil, 401, "signature_invalid"},
		{"unknown source", dept{ID: "t-nobody", Secret: d.Secret}, body, nil, 401, "signature_invalid"},
		{"body changed after signing", d, body, func(h http.Header) {
			platform.SignHook(h, d.ID, d.Secret, "POST", hookPath, now, s.appEvent("ref-1", "REF1", "approved", p.IDNumber, nil))
		}, 401, "signature_invalid"},
		{"signed for another path", d, body, func(h http.Header) {
			platform.SignHook(h, d.ID, d.Secret, "POST", apiV1+"/hooks/bills", now, body)
		}, 401, "signature_invalid"},
		{"malformed signature", d, body, func(h http.Header) { h.Set(platform.HeaderHookSignature, "v1=xyz") }, 401, "signature_invalid"},
		{"stale", d, body, func(h http.Header) {
			platform.SignHook(h, d.ID, d.Secret, "POST", hookPath, now.Add(-6*time.Minute), body)
		}, 401, "signature_stale"},
		{"from the future", d, body, func(h http.Header) {
			platform.SignHook(h, d.ID, d.Secret, "POST", hookPath, now.Add(6*time.Minute), body)
		}, 401, "signature_stale"},
		{"scope not granted", billsOnly, body, nil, 403, "forbidden"},
		{"not json", d, []byte("nope"), nil, 400, "invalid_argument"},
		{"unknown field", d, s.appEvent("ref-1", "REF1", "accepted", p.IDNumber, map[string]any{"priority": 1}), nil, 400, "invalid_argument"},
		{"bad id number", d, s.appEvent("ref-1", "REF1", "accepted", "110105194912310021", nil), nil, 400, "invalid_argument"},
		{"materials missing", d, s.appEvent("ref-1", "REF1", "needs_materials", p.IDNumber, map[string]any{"materials_missing": nil}), nil, 400, "invalid_argument"},
		{"too large", d, append([]byte(`{"note":"`), append([]byte(strings.Repeat("x", 70<<10)), '"', '}')...), nil, 413, "payload_too_large"},
	}
	for _, tc := range cases {
		a := s.hook(t, tc.d, tc.body, tc.mutate)
		if a.Status != tc.status || a.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.Status, a.Raw, tc.status, tc.code)
		}
		if st := state(); st != before {
			t.Fatalf("%s stored something: %s, was %s", tc.name, st, before)
		}
	}
	if a := s.hook(t, d, s.appEvent("ref-1", "REF1", "accepted", p.IDNumber, map[string]any{"note": strings.Repeat("长", 501)}), nil); a.errField("field") != "note" {
		t.Errorf("the 400 names the field: %s", a.Raw)
	}

	// A replay of an accepted request (same nonce) is refused, even though
	// the event itself would only be a duplicate.
	h := http.Header{}
	platform.SignHook(h, d.ID, d.Secret, "POST", hookPath, s.app.Clock.Now(), body)
	var hdr []string
	for k := range h {
		hdr = append(hdr, k, h.Get(k))
	}
	s.must(t, 200, s.call(t, "POST", hookPath, "", body, hdr...))
	after := state()
	if a := s.call(t, "POST", hookPath, "", body, hdr...); a.Status != 401 || a.errCode() != "replayed" {
		t.Fatalf("replay: %d %s", a.Status, a.Raw)
	}
	if state() != after {
		t.Fatal("a replay stored something")
	}
	if got := appNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications", token, nil))); len(got) != 1 || got[0] != "REF1" {
		t.Fatalf("after the refusals and one accepted event: %v", got)
	}
}

// ---- the hook: a whole application -----------------------------------------

// TestApplicationProgress: a department reports an application of a proven
// citizen step by step; the citizen sees it in the list, the detail, the page
// (at once, although the page was cached) and the inbox; duplicates change
// nothing; another citizen sees nothing of it.
func TestApplicationProgress(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	p, token := levelThree(t, s)
	_, other := levelThree(t, s)
	no := "GZ" + strconv.FormatInt(time.Now().UnixNano(), 10)

	s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)) // cache the page view
	steps := []string{"accepted", "needs_materials", "approved", "delivered"}
	for i, st := range steps {
		a := s.must(t, 200, s.hook(t, d, s.appEvent(fmt.Sprintf("p-%d", i), no, st, p.IDNumber, nil), nil))
		if a.str("duplicate") != "false" || a.str("application_status") != st || a.str("event_id") != fmt.Sprintf("p-%d", i) {
			t.Fatalf("%s: %s", st, a.Raw)
		}
		if i == 0 {
			me := s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil))
			if !strings.Contains(string(me.Raw), `"application_no":"`+no+`"`) {
				t.Fatalf("the cached page lags behind the application: %s", me.Raw)
			}
		}
		s.app.Clock.Advance(time.Second) // distinct occurred_at
	}
	// A late event joins the timeline without moving the status back.
	late := s.appEvent("p-late", no, "under_review", p.IDNumber, map[string]any{
		"occurred_at": platform.Local(s.app.Clock.Now().Add(-time.Hour)).Format(time.RFC3339)})
	if a := s.must(t, 200, s.hook(t, d, late, nil)); a.str("application_status") != "delivered" {
		t.Fatalf("late event: %s", a.Raw)
	}
	// The same event again is a duplicate and changes nothing.
	st := s.deptState(t, d)
	if a := s.must(t, 200, s.hook(t, d, s.appEvent("p-1", no, "needs_materials", p.IDNumber, nil), nil)); a.str("duplicate") != "true" {
		t.Fatalf("duplicate: %s", a.Raw)
	}
	if s.deptState(t, d) != st {
		t.Fatal("a duplicate stored something")
	}

	list := s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications", token, nil))
	var l struct {
		Applications []struct {
			ApplicationNo string `json:"application_no"`
			Status        string `json:"status"`
			Source        string `json:"source"`
			LastEvent     struct {
				Status     string `json:"status"`
				OccurredAt string `json:"occurred_at"`
			} `json:"last_event"`
		} `json:"applications"`
	}
	decodeInto(t, list, &l)
	if len(l.Applications) != 1 || l.Applications[0].Status != "delivered" || l.Applications[0].LastEvent.Status != "delivered" ||
		l.Applications[0].Source != d.ID || !strings.HasSuffix(l.Applications[0].LastEvent.OccurredAt, "+08:00") {
		t.Fatalf("list: %s", list.Raw)
	}
	det := s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications/"+no, token, nil))
	var dd struct {
		Timeline []struct {
			Status           string                  `json:"status"`
			MaterialsMissing []struct{ Name string } `json:"materials_missing"`
			Delivery         *struct {
				TrackingNo string `json:"tracking_no"`
			}
		} `json:"timeline"`
	}
	decodeInto(t, det, &dd)
	var got []string
	for _, e := range dd.Timeline {
		got = append(got, e.Status)
	}
	if strings.Join(got, ",") != "under_review,accepted,needs_materials,approved,delivered" ||
		dd.Timeline[2].MaterialsMissing[0].Name != "户口簿复印件" || dd.Timeline[4].Delivery.TrackingNo != "EMS1234567890" {
		t.Fatalf("timeline: %s", det.Raw)
	}
	if strings.Contains(string(det.Raw), p.IDNumber) || strings.Contains(string(list.Raw), p.IDNumber) {
		t.Fatal("the ID number is shown")
	}

	// The inbox: one message per event, the right kinds.
	me := s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil))
	var page struct {
		Sections struct {
			Messages []struct {
				ID, Kind, Body string
				Data           map[string]string
			} `json:"messages"`
			Applications []struct {
				ApplicationNo string `json:"application_no"`
			} `json:"applications"`
		} `json:"sections"`
	}
	decodeInto(t, me, &page)
	kinds := map[string]int{}
	for _, m := range page.Sections.Messages {
		if m.Data["application_no"] == no {
			kinds[m.Kind]++
			if m.Kind == "application_materials" && !strings.Contains(m.Body, "户口簿复印件") {
				t.Errorf("materials message: %s", m.Body)
			}
			if m.Kind == "application_delivered" && !strings.Contains(m.Body, "EMS1234567890") {
				t.Errorf("delivered message: %s", m.Body)
			}
		}
	}
	if kinds["application_progress"] != 2 || kinds["application_materials"] != 1 || kinds["application_result"] != 1 || kinds["application_delivered"] != 1 {
		t.Fatalf("messages: %v\n%s", kinds, me.Raw)
	}
	if len(page.Sections.Applications) != 1 || page.Sections.Applications[0].ApplicationNo != no {
		t.Fatalf("applications section: %s", me.Raw)
	}

	// Someone else's application is not found, like an unknown number.
	for _, path := range []string{"/me/applications/" + no, "/me/applications/NOPE" + no} {
		if a := s.call(t, "GET", apiV1+path, other, nil); a.Status != 404 || a.errCode() != "not_found" {
			t.Fatalf("%s as another citizen: %d %s", path, a.Status, a.Raw)
		}
	}
	if got := appNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications", other, nil))); len(got) != 0 {
		t.Fatalf("another citizen's list: %v", got)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x"} {
		if a := s.call(t, "GET", apiV1+"/me/applications"+q, token, nil); a.Status != 400 || a.errField("field") != "limit" {
			t.Errorf("list %s: %d %s", q, a.Status, a.Raw)
		}
	}
	if a := s.call(t, "GET", apiV1+"/me/applications/"+no+"?source=Bad_Source", token, nil); a.Status != 400 {
		t.Errorf("bad source: %d", a.Status)
	}
	if a := s.call(t, "GET", apiV1+"/me/applications", "", nil); a.Status != 401 {
		t.Errorf("no token: %d", a.Status)
	}
}

// TestDeclaredIsNotProven: an application for an ID number nobody proved is
// kept without a message; a citizen who only declared that number (level 2)
// sees nothing of it; once they prove it (level 3) it appears, and later
// events reach them.
func TestDeclaredIsNotProven(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	p := s.newNamedPerson(t, "张三")
	no := "LV" + platformtest.RandomID()
	s.must(t, 200, s.hook(t, d, s.appEvent("lv-1", no, "accepted", p.IDNumber, nil), nil))
	if n := s.countWhere(t, "inbox", bson.M{"data.application_no": no}); n != 0 {
		t.Fatalf("%d messages for an applicant nobody proved", n)
	}

	token := s.loginFrom(t, p)
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/declare", token, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	s.must(t, 200, s.hook(t, d, s.appEvent("lv-2", no, "needs_materials", p.IDNumber, nil), nil))
	if got := appNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications", token, nil))); len(got) != 0 {
		t.Fatalf("level 2 sees %v", got)
	}
	if a := s.call(t, "GET", apiV1+"/me/applications/"+no, token, nil); a.Status != 404 {
		t.Fatalf("level 2 detail: %d", a.Status)
	}
	if n := s.countWhere(t, "inbox", bson.M{"data.application_no": no}); n != 0 {
		t.Fatalf("%d messages for a level-2 claim", n)
	}

	rc := s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": p.OpenID})).str("code")
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/check", token, map[string]string{"name": p.Name, "id_number": p.IDNumber, "code": rc}))
	if got := appNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications", token, nil))); len(got) != 1 || got[0] != no {
		t.Fatalf("level 3 sees %v", got)
	}
	if !strings.Contains(string(s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)).Raw), `"application_no":"`+no+`"`) {
		t.Fatal("the page does not show the application once proven")
	}
	s.must(t, 200, s.hook(t, d, s.appEvent("lv-3", no, "approved", p.IDNumber, nil), nil))
	if n := s.countWhere(t, "inbox", bson.M{"data.application_no": no}); n != 1 {
		t.Fatalf("%d messages after proving, want 1 (only the event after)", n)
	}
}

// TestApplicationEventsRaceOverHTTP: one application's events, each sent
// twice, by goroutines at once in a random order: every event is kept once,
// and the status is the latest final one.
func TestApplicationEventsRaceOverHTTP(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.newDept(t, admin, "applications")
	p, token := levelThree(t, s)
	no := "RACE" + platformtest.RandomID()
	base := s.app.Clock.Now().Add(-time.Hour)
	statuses := []string{"submitted", "accepted", "needs_materials", "under_review", "approved", "delivered", "under_review", "accepted"}
	var bodies [][]byte
	for i, st := range statuses {
		at := platform.Local(base.Add(time.Duration(i) * time.Minute)).Format(time.RFC3339)
		bodies = append(bodies, s.appEvent(fmt.Sprintf("race-%d", i), no, st, p.IDNumber, map[string]any{"occurred_at": at}))
	}
	all := append(append([][]byte{}, bodies...), bodies...)
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups := 0
	for _, b := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := http.Header{}
			platform.SignHook(h, d.ID, d.Secret, "POST", hookPath, s.app.Clock.Now(), b)
			var hdr []string
			for k := range h {
				hdr = append(hdr, k, h.Get(k))
			}
			a, err := s.try("POST", hookPath, "", b, hdr...)
			if err != nil || a.Status != 200 {
				t.Errorf("event: %v %d %s", err, a.Status, a.Raw)
				return
			}
			if a.str("duplicate") == "true" {
				mu.Lock()
				dups++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if dups != len(bodies) {
		t.Fatalf("%d duplicates, want %d", dups, len(bodies))
	}
	det := s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications/"+no, token, nil))
	var dd struct {
		Status   string                    `json:"status"`
		Timeline []struct{ Status string } `json:"timeline"`
	}
	decodeInto(t, det, &dd)
	var got []string
	for _, e := range dd.Timeline {
		got = append(got, e.Status)
	}
	if dd.Status != "delivered" || strings.Join(got, ",") != strings.Join(statuses, ",") {
		t.Fatalf("status %s, timeline %v", dd.Status, got)
	}
	if n := s.countWhere(t, "inbox", bson.M{"data.application_no": no}); n != int64(len(statuses)) {
		t.Fatalf("%d messages, want %d", n, len(statuses))
	}
}

// TestDepartmentSimulatorSignsForTheDemo: development seeds demo-dept and
// tells the in-process simulator its secret, so an event needs no signing by
// hand; the simulator fills event_id and occurred_at.
func TestDepartmentSimulatorSignsForTheDemo(t *testing.T) {
	s := getStack(t)
	p, token := levelThree(t, s)
	no := "SIM" + platformtest.RandomID()
	sim := "/sim/department/" + integrations.DemoID + "/applications"
	ev := map[string]any{"application_no": no, "service_code": "11440106007482133H4440111009000", "status": "accepted",
		"applicant": map[string]any{"type": "person", "id_number": p.IDNumber, "name": p.Name}}
	a := s.must(t, 200, s.call(t, "POST", sim, "", ev))
	if !strings.HasPrefix(a.str("event_id"), "sim-") || a.str("duplicate") != "false" || a.Header.Get("X-Sim-Event-Id") != a.str("event_id") {
		t.Fatalf("simulator: %s", a.Raw)
	}
	// Banshi's refusals come back as they are.
	if a := s.call(t, "POST", sim, "", map[string]any{"application_no": no}); a.Status != 400 || a.errCode() != "invalid_argument" {
		t.Fatalf("bad event through the simulator: %d %s", a.Status, a.Raw)
	}
	if a := s.call(t, "POST", "/sim/department/t-unknown/applications", "", ev); a.Status != 404 {
		t.Fatalf("unknown integration: %d %s", a.Status, a.Raw)
	}
	if got := appNos(t, s.must(t, 200, s.call(t, "GET", apiV1+"/me/applications", token, nil))); len(got) != 1 || got[0] != no {
		t.Fatalf("list: %v", got)
	}
}
