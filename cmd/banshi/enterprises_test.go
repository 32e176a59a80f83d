package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"banshi/internal/platform"
	"banshi/internal/sim"
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
