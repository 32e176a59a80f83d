package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/enterprises"
	"banshi/integrations"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
	"banshi/internal/staff"
	"banshi/payments"
)

// levelFour is a new citizen named name at real-name level 4 (declared,
// checked, then face-verified through the WeChat simulator), and their token.
func levelFour(t testing.TB, s *stack, name string) (person, string) {
	t.Helper()
	p, token := levelThreeAs(t, s, name)
	vid := s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/face/start", token, map[string]string{"name": p.Name, "id_number": p.IDNumber})).str("verify_id")
	s.must(t, 204, s.call(t, "POST", "/sim/wechat/face/"+vid+"/complete", "", map[string]string{"outcome": "success"}))
	if a := s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/face/finish", token, map[string]string{"verify_id": vid})); a.str("user", "realname_level") != "4" {
		t.Fatalf("face finish: %s", a.Raw)
	}
	return p, token
}

// randomUSCC is a well-formed code (check character matching) no other
// test uses.
func randomUSCC(t testing.TB) string {
	t.Helper()
	body := fmt.Sprintf("%08d", rand.IntN(100000000))
	for _, c := range "0123456789X" {
		code := platform.USCCWithCheck("91440101" + body + string(c))
		if u, err := platform.ParseUSCC(code); err == nil && u.CheckMatches {
			return code
		}
	}
	t.Fatalf("no organisation code check for %s", body)
	return ""
}

// registerEnterprise adds an enterprise represented by rep to the registry
// simulator, in the status given, and returns its code.
func (s *stack) registerEnterprise(t testing.TB, rep person, status string) string {
	t.Helper()
	e := sim.DemoEnterprise()
	e.USCC, e.Name, e.Status = randomUSCC(t), "测试企业"+platformRandom(), status
	e.LegalRepresentative = sim.LegalRepresentative{Name: rep.Name, IDNumber: rep.IDNumber}
	s.must(t, 201, s.call(t, "POST", "/sim/registry/control/enterprises", "", e))
	return e.USCC
}

func platformRandom() string { return fmt.Sprintf("%06d", rand.IntN(1000000)) }

// claimsOf counts the claim documents of uscc.
func (s *stack) claimsOf(t testing.TB, uscc string) int64 {
	t.Helper()
	n, err := s.app.Mongo.DB.Collection("enterprise_claims").CountDocuments(context.Background(), map[string]any{"_id": uscc})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEnterpriseClaim: the level-4 legal representative claims (201), claims
// again (200, the same claim), and lists the enterprise; the answer shows
// Asia/Shanghai time and no personal data; another level-4 citizen is no
// legal representative (403); a new legal representative in the registry
// cannot take it (409).
func TestEnterpriseClaim(t *testing.T) {
	s := getStack(t)
	p, token := levelFour(t, s, "王五")
	uscc := s.registerEnterprise(t, p, sim.RegistryStatusSubsisting)

	a := s.must(t, 201, s.call(t, "POST", apiV1+"/enterprises/claim", token, map[string]string{"uscc": uscc}))
	if a.str("uscc") != uscc || !strings.HasPrefix(a.str("name"), "测试企业") || a.str("role") != "legal_representative" ||
		!strings.HasSuffix(a.str("claimed_at"), "+08:00") || len(a.Body) != 4 {
		t.Fatalf("claim: %s", a.Raw)
	}
	if strings.Contains(string(a.Raw), p.IDNumber) {
		t.Fatalf("the answer shows the ID number: %s", a.Raw)
	}
	again := s.must(t, 200, s.call(t, "POST", apiV1+"/enterprises/claim", token, map[string]string{"uscc": uscc}))
	if string(again.Raw) != string(a.Raw) {
		t.Fatalf("claim again: %s, first %s", again.Raw, a.Raw)
	}
	mine := s.must(t, 200, s.call(t, "GET", apiV1+"/me/enterprises", token, nil))
	list, _ := mine.Body["enterprises"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["uscc"] != uscc || list[0].(map[string]any)["claimed_at"] != a.str("claimed_at") {
		t.Fatalf("mine: %s", mine.Raw)
	}

	q, qtoken := levelFour(t, s, "赵六")
	r := s.call(t, "POST", apiV1+"/enterprises/claim", qtoken, map[string]string{"uscc": uscc})
	if r.Status != 403 || r.errCode() != "not_legal_representative" {
		t.Fatalf("another citizen: %d %s", r.Status, r.Raw)
	}
	// The registry now names q: q may not take it from p.
	e := sim.DemoEnterprise()
	e.USCC, e.LegalRepresentative = uscc, sim.LegalRepresentative{Name: q.Name, IDNumber: q.IDNumber}
	s.must(t, 200, s.call(t, "PUT", "/sim/registry/control/enterprises/"+uscc, "", e))
	r = s.call(t, "POST", apiV1+"/enterprises/claim", qtoken, map[string]string{"uscc": uscc})
	if r.Status != 409 || r.errCode() != "enterprise_claimed" {
		t.Fatalf("new legal representative: %d %s", r.Status, r.Raw)
	}
	if s.claimsOf(t, uscc) != 1 {
		t.Fatal("claim documents changed")
	}
	if l := s.must(t, 200, s.call(t, "GET", apiV1+"/me/enterprises", qtoken, nil)); string(l.Raw) != `{"enterprises":[]}`+"\n" {
		t.Fatalf("q's enterprises: %q", l.Raw)
	}
}

// TestEnterpriseClaimBadInput: every refusal is its 4xx and stores nothing.
func TestEnterpriseClaimBadInput(t *testing.T) {
	s := getStack(t)
	p, token := levelFour(t, s, "孙七")
	active := s.registerEnterprise(t, p, sim.RegistryStatusSubsisting)
	revoked := s.registerEnterprise(t, p, sim.RegistryStatusRevoked)
	l3, l3token := levelThreeAs(t, s, "周八")
	ofL3 := s.registerEnterprise(t, l3, sim.RegistryStatusOperating)
	unknown := randomUSCC(t)

	for _, tc := range []struct {
		name, token string
		body        any
		status      int
		code, field string
		check       string
		uscc        string // whose claims must stay none
	}{
		{"no session", "", map[string]string{"uscc": active}, 401, "unauthenticated", "", "", active},
		{"not JSON", token, "uscc=" + active, 400, "invalid_argument", "body", "", active},
		{"unknown field", token, map[string]string{"uscc": active, "role": "admin"}, 400, "invalid_argument", "role", "", active},
		{"wrong type", token, map[string]any{"uscc": 914401}, 400, "invalid_argument", "uscc", "", active},
		{"missing", token, map[string]string{}, 400, "invalid_argument", "uscc", "required", active},
		{"too short", token, map[string]string{"uscc": active[:17]}, 400, "invalid_argument", "uscc", platform.USCCCheckLength, active},
		// Letters in lower case (a fixed code: a generated one may have no letters).
		{"lower case", token, map[string]string{"uscc": "91440101ma5cxxxx7x"}, 400, "invalid_argument", "uscc", platform.USCCCheckAlphabet, "91440101ma5cxxxx7x"},
		{"ID number", token, map[string]string{"uscc": p.IDNumber}, 400, "invalid_argument", "uscc", "", p.IDNumber},
		{"organisation code check", token, map[string]string{"uscc": "91440101MA5CXXXX8X"}, 400, "invalid_argument", "uscc", platform.USCCCheckOrgCode, "91440101MA5CXXXX8X"},
		{"level 3", l3token, map[string]string{"uscc": ofL3}, 403, "realname_required", "", "", ofL3},
		{"unknown", token, map[string]string{"uscc": unknown}, 404, "enterprise_not_found", "", "", unknown},
		{"revoked", token, map[string]string{"uscc": revoked}, 409, "enterprise_inactive", "", "", revoked},
		{"another's", token, map[string]string{"uscc": ofL3}, 403, "not_legal_representative", "", "", ofL3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.call(t, "POST", apiV1+"/enterprises/claim", tc.token, tc.body)
			if a.Status != tc.status || a.errCode() != tc.code || (tc.field != "" && a.errField("field") != tc.field) ||
				(tc.check != "" && a.errField("check") != tc.check) {
				t.Fatalf("got %d %s", a.Status, a.Raw)
			}
			if n := s.claimsOf(t, tc.uscc); n != 0 {
				t.Fatalf("%d claims of %s stored", n, tc.uscc)
			}
		})
	}
	for _, tok := range []string{token, l3token} {
		if l := s.must(t, 200, s.call(t, "GET", apiV1+"/me/enterprises", tok, nil)); string(l.Raw) != `{"enterprises":[]}`+"\n" {
			t.Fatalf("enterprises after refusals: %q", l.Raw)
		}
	}
	if a := s.call(t, "GET", apiV1+"/me/enterprises", "", nil); a.Status != 401 {
		t.Fatalf("list without a session: %d", a.Status)
	}
}

// TestEnterpriseClaimRace: 20 concurrent claims of the legal representative
// answer one 201 and nineteen 200 with the same claim, over one document.
func TestEnterpriseClaimRace(t *testing.T) {
	s := getStack(t)
	p, token := levelFour(t, s, "吴九")
	uscc := s.registerEnterprise(t, p, sim.RegistryStatusSubsisting)
	const n = 20
	answers := make([]answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i], errs[i] = s.try("POST", apiV1+"/enterprises/claim", token, map[string]string{"uscc": uscc})
		}()
	}
	close(start)
	wg.Wait()
	created, existing := 0, 0
	var first string
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch answers[i].Status {
		case 201:
			created++
		case 200:
			existing++
		default:
			t.Fatalf("claim %d: %d %s", i, answers[i].Status, answers[i].Raw)
		}
		if first == "" {
			first = string(answers[i].Raw)
		} else if string(answers[i].Raw) != first {
			t.Fatalf("claims answered differently: %s and %s", answers[i].Raw, first)
		}
	}
	if created != 1 || existing != n-1 || s.claimsOf(t, uscc) != 1 {
		t.Fatalf("%d created, %d existing, %d documents", created, existing, s.claimsOf(t, uscc))
	}
}

// claimedEnterprise is a new enterprise claimed by a new level-4 legal
// representative: the representative, their token, the code.
func claimedEnterprise(t *testing.T, s *stack, name string) (person, string, string) {
	t.Helper()
	rep, token := levelFour(t, s, name)
	uscc := s.registerEnterprise(t, rep, sim.RegistryStatusSubsisting)
	s.must(t, 201, s.call(t, "POST", apiV1+"/enterprises/claim", token, map[string]string{"uscc": uscc}))
	return rep, token, uscc
}

// pageOf is the enterprise page decoded.
type pageOf struct {
	Enterprise map[string]any   `json:"enterprise"`
	Viewer     map[string]any   `json:"viewer"`
	Members    []map[string]any `json:"members"`
	Sections   struct {
		Applications []map[string]any `json:"applications"`
		Bills        []map[string]any `json:"bills"`
		Messages     []map[string]any `json:"messages"`
	} `json:"sections"`
	Policies    []map[string]any `json:"policies"`
	Unavailable []string         `json:"unavailable"`
}

func (s *stack) page(t *testing.T, token, uscc string) pageOf {
	t.Helper()
	a := s.must(t, 200, s.call(t, "GET", apiV1+"/enterprises/"+uscc+"/page", token, nil))
	var p pageOf
	if err := json.Unmarshal(a.Raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEnterpriseMembers: claim → appoint an administrator → they accept →
// they invite an agent for social insurance → the agent accepts → the page
// shows sections by role, the agent pays the enterprise's social insurance
// bill without its code but not its traffic fine → the legal
// representative revokes the administrator, which revokes the agent → the
// audit trail shows it all; matching policies are on the page.
func TestEnterpriseMembers(t *testing.T) {
	s := getStack(t)
	rep, repToken, uscc := claimedEnterprise(t, s, "钱一")
	admin, adminToken := levelThreeAs(t, s, "孙二")
	agent, agentToken := levelThreeAs(t, s, "李三")
	_, strangerToken := levelThreeAs(t, s, "周四")
	members := apiV1 + "/enterprises/" + uscc + "/members"

	m := s.must(t, 201, s.call(t, "POST", members, repToken, map[string]any{"role": "administrator",
		"invitee": map[string]string{"name": admin.Name, "id_number": admin.IDNumber}}))
	if m.str("state") != "pending" || m.str("name_masked") != "*二" || strings.Contains(string(m.Raw), admin.IDNumber) {
		t.Fatalf("appoint: %s", m.Raw)
	}
	adminID := m.str("id")
	if msgs := s.must(t, 200, s.call(t, "GET", apiV1+"/me/messages?limit=5", adminToken, nil)); !strings.Contains(string(msgs.Raw), `"kind":"enterprise_invitation"`) ||
		!strings.Contains(string(msgs.Raw), adminID) {
		t.Fatalf("the invitee's messages: %s", msgs.Raw)
	}
	inv := s.must(t, 200, s.call(t, "GET", apiV1+"/me/enterprise-invitations", adminToken, nil))
	if !strings.Contains(string(inv.Raw), adminID) || !strings.Contains(string(inv.Raw), uscc) {
		t.Fatalf("invitations: %s", inv.Raw)
	}
	if r := s.call(t, "POST", apiV1+"/me/enterprise-invitations/"+adminID+"/accept", strangerToken, nil); r.Status != 404 || r.errCode() != "invitation_not_found" {
		t.Fatalf("stranger accepts: %d %s", r.Status, r.Raw)
	}
	if a := s.must(t, 200, s.call(t, "POST", apiV1+"/me/enterprise-invitations/"+adminID+"/accept", adminToken, nil)); a.str("state") != "active" {
		t.Fatalf("accept: %s", a.Raw)
	}
	until := s.app.Clock.Now().Add(30 * 24 * time.Hour).In(platform.Shanghai()).Format(time.RFC3339)
	g := s.must(t, 201, s.call(t, "POST", members, adminToken, map[string]any{"role": "agent",
		"invitee": map[string]string{"name": agent.Name, "id_number": agent.IDNumber},
		"scope":   map[string]any{"items": []string{payments.BillKindSocialInsurance}}, "valid_until": until}))
	agentID := g.str("id")
	if g.str("granted_by_member") != adminID || !strings.HasSuffix(g.str("valid_until"), "+08:00") {
		t.Fatalf("invite agent: %s", g.Raw)
	}
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/enterprise-invitations/"+agentID+"/accept", agentToken, nil))
	mine := s.must(t, 200, s.call(t, "GET", apiV1+"/me/enterprises", agentToken, nil))
	if !strings.Contains(string(mine.Raw), `"role":"agent"`) || !strings.Contains(string(mine.Raw), `"in_force":true`) ||
		!strings.Contains(string(mine.Raw), payments.BillKindSocialInsurance) {
		t.Fatalf("agent's enterprises: %s", mine.Raw)
	}

	// The enterprise's bills: social insurance and a traffic fine.
	d := s.newDept(t, s.staffLogin(t, staff.DemoAdmin), integrations.ScopeBills)
	pfx := "EM" + platformtest.RandomID()[:8]
	payer := map[string]any{"type": "enterprise", "uscc": uscc, "name": "测试企业"}
	s.must(t, 200, s.billHook(t, d, s.billEvent("e-1", payments.BillIssue, pfx+"-SI", "", map[string]any{"payer": payer,
		"kind": payments.BillKindSocialInsurance, "item": "单位社会保险费", "late_fee": nil}), nil))
	s.must(t, 200, s.billHook(t, d, s.billEvent("e-2", payments.BillIssue, pfx+"-TF", "", map[string]any{"payer": payer, "late_fee": nil}), nil))

	// Policies: one for Guangzhou's small enterprises, one for Fujian.
	adminStaff := s.staffLogin(t, staff.DemoAdmin)
	gz := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/policies", adminStaff, map[string]any{"title": "小微企业稳岗补贴",
		"department": "广州市人社局", "regions": []string{"4401"}, "sizes": []string{"小型", "微型"}}))
	fj := s.must(t, 201, s.call(t, "POST", apiV1+"/staff/admin/policies", adminStaff, map[string]any{"title": "福建专项",
		"department": "福建省商务厅", "regions": []string{"35"}}))

	rp := s.page(t, repToken, uscc)
	if rp.Viewer["role"] != "legal_representative" || len(rp.Members) != 2 || len(rp.Sections.Bills) != 2 || rp.Sections.Messages == nil ||
		rp.Enterprise["uscc"] != uscc || rp.Enterprise["legal_representative_masked"] != "*一" || len(rp.Unavailable) != 0 {
		t.Fatalf("legal representative's page: %+v", rp)
	}
	var titles []string
	for _, p := range rp.Policies {
		titles = append(titles, p["title"].(string))
	}
	if !slices.Contains(titles, "小微企业稳岗补贴") || slices.Contains(titles, "福建专项") {
		t.Fatalf("policies on the page: %v", titles)
	}
	ap := s.page(t, agentToken, uscc)
	if ap.Viewer["role"] != "agent" || ap.Members != nil || ap.Sections.Messages != nil || len(ap.Sections.Bills) != 1 ||
		ap.Sections.Bills[0]["bill_no"] != pfx+"-SI" {
		t.Fatalf("agent's page: %+v", ap)
	}
	if r := s.call(t, "GET", apiV1+"/enterprises/"+uscc+"/page", strangerToken, nil); r.Status != 403 || r.errCode() != "not_enterprise_member" {
		t.Fatalf("stranger's page: %d %s", r.Status, r.Raw)
	}
	for _, tok := range []string{adminToken, agentToken} {
		if r := s.call(t, "GET", apiV1+"/enterprises/"+uscc+"/audit", tok, nil); r.Status != 403 || r.errCode() != "enterprise_role_forbidden" {
			t.Fatalf("audit by a member: %d %s", r.Status, r.Raw)
		}
	}

	// The agent pays the social insurance without the code, not the fine.
	s.must(t, 201, s.call(t, "POST", apiV1+"/bills/"+pfx+"-SI/orders", agentToken, map[string]string{"channel": "wechat_jsapi"},
		"Idempotency-Key", "k-"+platformtest.RandomID()))
	if r := s.call(t, "POST", apiV1+"/bills/"+pfx+"-TF/orders", agentToken, map[string]string{"channel": "wechat_jsapi"},
		"Idempotency-Key", "k-"+platformtest.RandomID()); r.Status != 404 || r.errCode() != "bill_not_found" {
		t.Fatalf("agent pays the fine: %d %s", r.Status, r.Raw)
	}

	// Revoking the administrator revokes the agent.
	if r := s.must(t, 200, s.call(t, "DELETE", members+"/"+adminID, repToken, nil)); r.str("state") != "revoked" {
		t.Fatalf("revoke: %s", r.Raw)
	}
	for _, tok := range []string{adminToken, agentToken} {
		if r := s.call(t, "GET", apiV1+"/enterprises/"+uscc+"/page", tok, nil); r.Status != 403 {
			t.Fatalf("page after revoke: %d %s", r.Status, r.Raw)
		}
		if l := s.must(t, 200, s.call(t, "GET", apiV1+"/me/enterprises", tok, nil)); string(l.Raw) != `{"enterprises":[]}`+"\n" {
			t.Fatalf("enterprises after revoke: %s", l.Raw)
		}
	}
	list := s.must(t, 200, s.call(t, "GET", members, repToken, nil))
	if strings.Count(string(list.Raw), `"state":"revoked"`) != 2 {
		t.Fatalf("members after revoke: %s", list.Raw)
	}
	audit := s.must(t, 200, s.call(t, "GET", apiV1+"/enterprises/"+uscc+"/audit", repToken, nil))
	for _, action := range []string{enterprises.AuditAppoint, enterprises.AuditInvite, enterprises.AuditAccept, enterprises.AuditRevoke, enterprises.AuditCascade} {
		if !strings.Contains(string(audit.Raw), `"action":"`+action+`"`) {
			t.Fatalf("audit lacks %s: %s", action, audit.Raw)
		}
	}
	for _, p := range []person{rep, admin, agent} {
		if strings.Contains(string(audit.Raw), p.IDNumber) || strings.Contains(string(audit.Raw), p.Name) {
			t.Fatalf("audit shows a person: %s", audit.Raw)
		}
	}
	s.must(t, 204, s.call(t, "DELETE", apiV1+"/staff/admin/policies/"+gz.str("id"), adminStaff, nil))
	s.must(t, 204, s.call(t, "DELETE", apiV1+"/staff/admin/policies/"+fj.str("id"), adminStaff, nil))
}

// memberState is what a refused member request must leave unchanged.
func (s *stack) memberState(t *testing.T, uscc string) [2]int64 {
	t.Helper()
	return [2]int64{s.countWhere(t, enterprises.CollMembers, bson.M{"uscc": uscc}), s.countWhere(t, enterprises.CollAudit, bson.M{"uscc": uscc})}
}

// TestEnterpriseMembersBadInput: every refused member request answers its
// 4xx and changes nothing.
func TestEnterpriseMembersBadInput(t *testing.T) {
	s := getStack(t)
	rep, repToken, uscc := claimedEnterprise(t, s, "吴一")
	_, strangerToken := levelThreeAs(t, s, "郑二")
	members := apiV1 + "/enterprises/" + uscc + "/members"
	someone := map[string]string{"name": "王小二", "id_number": newIDNumber()}
	week := s.app.Clock.Now().Add(7 * 24 * time.Hour).Format(time.RFC3339)
	past := s.app.Clock.Now().Add(-time.Hour).Format(time.RFC3339)
	// Five administrators fill the seats.
	for range enterprises.MaxAdministrators {
		s.must(t, 201, s.call(t, "POST", members, repToken, map[string]any{"role": "administrator",
			"invitee": map[string]string{"name": "管理员", "id_number": newIDNumber()}}))
	}
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		status                    int
		code, field, check        string
	}{
		{"no session", "POST", members, "", map[string]any{"role": "agent"}, 401, "unauthenticated", "", ""},
		{"not JSON", "POST", members, repToken, "role=agent", 400, "invalid_argument", "body", ""},
		{"unknown field", "POST", members, repToken, map[string]any{"role": "agent", "boss": true}, 400, "invalid_argument", "boss", ""},
		{"malformed code", "POST", apiV1 + "/enterprises/91440101MA5CXXXX8X/members", repToken, map[string]any{"role": "agent", "invitee": someone, "scope": map[string]any{"all": true}, "valid_until": week}, 400, "invalid_argument", "uscc", platform.USCCCheckOrgCode},
		{"no invitee", "POST", members, repToken, map[string]any{"role": "agent"}, 400, "invalid_argument", "invitee", "required"},
		{"bad role", "POST", members, repToken, map[string]any{"role": "boss", "invitee": someone}, 400, "invalid_argument", "role", "enum"},
		{"bad ID number", "POST", members, repToken, map[string]any{"role": "agent", "invitee": map[string]string{"name": "王小二", "id_number": "123"}, "scope": map[string]any{"all": true}, "valid_until": week}, 400, "invalid_argument", "invitee.id_number", "length"},
		{"time not RFC 3339", "POST", members, repToken, map[string]any{"role": "agent", "invitee": someone, "scope": map[string]any{"all": true}, "valid_until": "next week"}, 400, "invalid_argument", "valid_until", "format"},
		{"end in the past", "POST", members, repToken, map[string]any{"role": "agent", "invitee": someone, "scope": map[string]any{"all": true}, "valid_until": past}, 400, "invalid_argument", "valid_until", "range"},
		{"no scope", "POST", members, repToken, map[string]any{"role": "agent", "invitee": someone, "valid_until": week}, 400, "invalid_argument", "scope", "required"},
		{"oneself", "POST", members, repToken, map[string]any{"role": "agent", "invitee": map[string]string{"name": rep.Name, "id_number": rep.IDNumber}, "scope": map[string]any{"all": true}, "valid_until": week}, 400, "invalid_argument", "invitee", "self"},
		{"a sixth administrator", "POST", members, repToken, map[string]any{"role": "administrator", "invitee": someone}, 409, "administrator_limit", "", ""},
		{"a stranger invites", "POST", members, strangerToken, map[string]any{"role": "agent", "invitee": someone, "scope": map[string]any{"all": true}, "valid_until": week}, 403, "not_enterprise_member", "", ""},
		{"a stranger lists", "GET", members, strangerToken, nil, 403, "not_enterprise_member", "", ""},
		{"unknown member", "DELETE", members + "/em00000000000000000000", repToken, nil, 404, "member_not_found", "", ""},
		{"validity without a value", "PATCH", members + "/em00000000000000000000", repToken, map[string]any{}, 400, "invalid_argument", "valid_until", "required"},
		{"unknown invitation", "POST", apiV1 + "/me/enterprise-invitations/em00000000000000000000/accept", strangerToken, nil, 404, "invitation_not_found", "", ""},
		{"policy without title", "POST", apiV1 + "/staff/admin/policies", s.staffLogin(t, staff.DemoAdmin), map[string]any{"department": "某局"}, 400, "invalid_argument", "title", "required"},
		{"policy by a citizen", "POST", apiV1 + "/staff/admin/policies", repToken, map[string]any{"title": "x", "department": "某局"}, 401, "unauthenticated", "", ""},
		{"policy bad region", "POST", apiV1 + "/staff/admin/policies", s.staffLogin(t, staff.DemoAdmin), map[string]any{"title": "x", "department": "某局", "regions": []string{"44a"}}, 400, "invalid_argument", "regions", "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.memberState(t, uscc)
			policies := s.count(t, enterprises.CollPolicies)
			a := s.call(t, tc.method, tc.path, tc.token, tc.body)
			if a.Status != tc.status || a.errCode() != tc.code || (tc.field != "" && a.errField("field") != tc.field) ||
				(tc.check != "" && a.errField("check") != tc.check) {
				t.Fatalf("got %d %s", a.Status, a.Raw)
			}
			if after := s.memberState(t, uscc); after != before || s.count(t, enterprises.CollPolicies) != policies {
				t.Fatalf("changed: %v → %v", before, after)
			}
		})
	}
}

// TestEnterpriseBookOnBehalf: an agent whose scope lists a service's item
// code books it for the enterprise; the legal representative's page lists
// the booking without its check-in code; the same agent for another
// service, and a stranger, are refused 403 and nothing is booked.
func TestEnterpriseBookOnBehalf(t *testing.T) {
	s := getStack(t)
	_, repToken, uscc := claimedEnterprise(t, s, "冯一")
	agent, agentToken := levelThreeAs(t, s, "陈二")
	_, strangerToken := levelThreeAs(t, s, "褚三")
	until := s.app.Clock.Now().Add(60 * 24 * time.Hour).Format(time.RFC3339)
	const scjgCode = "11440106MB2C8922XK4442110013000" // thSCJG's item code (appointments/seed.go)
	g := s.must(t, 201, s.call(t, "POST", apiV1+"/enterprises/"+uscc+"/members", repToken, map[string]any{"role": "agent",
		"invitee": map[string]string{"name": agent.Name, "id_number": agent.IDNumber},
		"scope":   map[string]any{"items": []string{scjgCode}}, "valid_until": until}))
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/enterprise-invitations/"+g.str("id")+"/accept", agentToken, nil))

	_, slot := s.openSlot(t, "hall-tianhe", thSCJG, 0, 1, true)
	body := func(svc string) map[string]any {
		return map[string]any{"slot_id": slot.ID, "service_id": svc, "on_behalf_of": map[string]string{"uscc": uscc}}
	}
	for _, tc := range []struct {
		name, token string
		body        map[string]any
		status      int
		code        string
	}{
		{"another service", agentToken, body(thTZJC), 403, "not_acting_for_enterprise"},
		{"a stranger", strangerToken, body(thSCJG), 403, "not_acting_for_enterprise"},
		{"malformed code", agentToken, map[string]any{"slot_id": slot.ID, "service_id": thSCJG, "on_behalf_of": map[string]string{"uscc": "91440101MA5CXXXX8X"}}, 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.countWhere(t, "appointments", bson.M{"on_behalf_of": uscc})
			a := s.call(t, "POST", apiV1+"/appointments", tc.token, tc.body)
			if a.Status != tc.status || a.errCode() != tc.code {
				t.Fatalf("got %d %s", a.Status, a.Raw)
			}
			if after := s.countWhere(t, "appointments", bson.M{"on_behalf_of": uscc}); after != before {
				t.Fatalf("appointments for the enterprise: %d → %d", before, after)
			}
		})
	}
	a := s.must(t, 201, s.call(t, "POST", apiV1+"/appointments", agentToken, body(thSCJG)))
	if a.str("on_behalf_of", "uscc") != uscc {
		t.Fatalf("booked: %s", a.Raw)
	}
	var page struct {
		Sections struct {
			Appointments []map[string]any `json:"appointments"`
		} `json:"sections"`
	}
	decodeInto(t, s.must(t, 200, s.call(t, "GET", apiV1+"/enterprises/"+uscc+"/page", repToken, nil)), &page)
	if len(page.Sections.Appointments) != 1 || page.Sections.Appointments[0]["id"] != a.str("id") ||
		page.Sections.Appointments[0]["checkin_code"] != "" {
		t.Fatalf("page appointments: %+v", page.Sections.Appointments)
	}
	s.must(t, 200, s.call(t, "POST", apiV1+"/appointments/"+a.str("id")+"/cancel", agentToken, nil))
}

// TestEnterpriseAdministratorRace: with four administrators appointed, six
// appointments of six people race over HTTP for the fifth seat: one 201,
// five 409 administrator_limit, five administrators stored.
func TestEnterpriseAdministratorRace(t *testing.T) {
	s := getStack(t)
	_, repToken, uscc := claimedEnterprise(t, s, "蒋一")
	members := apiV1 + "/enterprises/" + uscc + "/members"
	appoint := func(id string) map[string]any {
		return map[string]any{"role": "administrator", "invitee": map[string]string{"name": "管理员", "id_number": id}}
	}
	for range enterprises.MaxAdministrators - 1 {
		s.must(t, 201, s.call(t, "POST", members, repToken, appoint(newIDNumber())))
	}
	const n = 6
	answers := make([]answer, n)
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newIDNumber()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i], errs[i] = s.try("POST", members, repToken, appoint(ids[i]))
		}()
	}
	close(start)
	wg.Wait()
	created, limited := 0, 0
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Fatal(errs[i])
		case answers[i].Status == 201:
			created++
		case answers[i].Status == 409 && answers[i].errCode() == "administrator_limit":
			limited++
		default:
			t.Fatalf("appointment %d: %d %s", i, answers[i].Status, answers[i].Raw)
		}
	}
	stored := s.countWhere(t, enterprises.CollMembers, bson.M{"uscc": uscc, "role": "administrator"})
	if created != 1 || limited != n-1 || stored != enterprises.MaxAdministrators {
		t.Fatalf("%d created, %d limited, %d stored", created, limited, stored)
	}
}
