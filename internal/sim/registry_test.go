package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"banshi/internal/platform"
)

// registryFixture is a registry served by httptest through Mount, as `banshi
// sim` and development serve it.
type registryFixture struct {
	t   *testing.T
	reg *Registry
	url string
}

func newRegistryFixture(t *testing.T) *registryFixture {
	t.Helper()
	reg := NewRegistry()
	srv := httptest.NewServer(Mount(map[string]Part{"/sim/registry/": reg}))
	t.Cleanup(srv.Close)
	return &registryFixture{t: t, reg: reg, url: srv.URL}
}

// with returns f reporting to t (a subtest).
func (f *registryFixture) with(t *testing.T) *registryFixture {
	g := *f
	g.t = t
	return &g
}

// call sends body (a string as it is, anything else as JSON, nil none) and
// returns the status and the raw answer.
func (f *registryFixture) call(method, path string, body any) (int, []byte) {
	f.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			f.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, f.url+path, bytes.NewReader(raw))
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, out.Bytes()
}

// enterprise calls and decodes an Enterprise answer of status want.
func (f *registryFixture) enterprise(want int, method, path string, body any) Enterprise {
	f.t.Helper()
	status, raw := f.call(method, path, body)
	if status != want {
		f.t.Fatalf("%s %s: %d %s, want %d", method, path, status, raw, want)
	}
	var e Enterprise
	if err := json.Unmarshal(raw, &e); err != nil {
		f.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
	}
	return e
}

// refused calls, expects status want and returns the error body.
func (f *registryFixture) refused(want int, method, path string, body any) registryError {
	f.t.Helper()
	status, raw := f.call(method, path, body)
	if status != want {
		f.t.Fatalf("%s %s: %d %s, want %d", method, path, status, raw, want)
	}
	var e registryError
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		f.t.Fatalf("%s %s: error body %s (%v)", method, path, raw, err)
	}
	return e
}

// list returns the control listing.
func (f *registryFixture) list() []Enterprise {
	f.t.Helper()
	status, raw := f.call(http.MethodGet, "/sim/registry/control/enterprises", nil)
	var out struct {
		Enterprises []Enterprise `json:"enterprises"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.Enterprises == nil {
		f.t.Fatalf("list: %d %s (%v)", status, raw, err)
	}
	return out.Enterprises
}

// validUSCC returns a well-formed code with a matching check character for
// n, built from 91440101 and an organisation code body from n.
func validUSCC(t testing.TB, n int) string {
	t.Helper()
	body := fmt.Sprintf("%08d", n)
	for _, c := range "0123456789X" {
		code := platform.USCCWithCheck("91440101" + body + string(c))
		if u, err := platform.ParseUSCC(code); err == nil && u.CheckMatches {
			return code
		}
	}
	t.Fatalf("no organisation code check for %s", body)
	return ""
}

func TestDemoEnterpriseIsValid(t *testing.T) {
	d := DemoEnterprise()
	got, err := ValidateEnterprise(d)
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("ValidateEnterprise(DemoEnterprise()) = %+v, %v", got, err)
	}
	u, err := platform.ParseUSCC(d.USCC)
	if err != nil || !u.CheckMatches {
		t.Fatalf("demo USCC %s: %+v %v", d.USCC, u, err)
	}
	if d.LegalRepresentative != (LegalRepresentative{Name: "张三", IDNumber: "11010519491231002X"}) {
		t.Fatalf("legal representative %+v", d.LegalRepresentative)
	}
	// The earlier demo code fails the organisation code check: the registry
	// refuses it, which is why the demo enterprise has another code.
	e := d
	e.USCC = "91440101MA5CXXXX0Y"
	if _, err := ValidateEnterprise(e); !isInvalid(err, "uscc", platform.USCCCheckOrgCode) {
		t.Fatalf("payments' demo code: %v", err)
	}
}

func isInvalid(err error, field, check string) bool {
	pe, ok := platform.AsError(err)
	return ok && pe.Code == platform.CodeInvalid && pe.Field == field && pe.Check == check
}

// Invalid UTF-8 cannot arrive through JSON (the decoder replaces it), so it
// is checked on ValidateEnterprise directly.
func TestValidateEnterpriseInvalidUTF8(t *testing.T) {
	e := DemoEnterprise()
	e.BusinessScope = "软件\xff"
	if _, err := ValidateEnterprise(e); !isInvalid(err, "business_scope", "format") {
		t.Fatal(err)
	}
	e = DemoEnterprise()
	e.LegalRepresentative.Name = "张\xff"
	if _, err := ValidateEnterprise(e); !isInvalid(err, "legal_representative.name", "format") {
		t.Fatal(err)
	}
}

func TestRegistryAddAndQuery(t *testing.T) {
	f := newRegistryFixture(t)
	if l := f.list(); len(l) != 0 {
		t.Fatalf("a new registry lists %v", l)
	}
	demo := DemoEnterprise()
	if got := f.enterprise(http.StatusCreated, http.MethodPost, "/sim/registry/control/enterprises", demo); !reflect.DeepEqual(got, demo) {
		t.Fatalf("created %+v", got)
	}
	if got := f.enterprise(http.StatusOK, http.MethodGet, "/sim/registry/enterprises/"+demo.USCC, nil); !reflect.DeepEqual(got, demo) {
		t.Fatalf("query %+v", got)
	}

	// Stored normalised: text trimmed, the ID number's x upper-cased; the
	// optional fields may be left out.
	code := validUSCC(t, 1)
	in := fmt.Sprintf(`{"uscc":" %s ","name":" 某某合作社 ","status":"在业","legal_representative":{"name":"李四","id_number":"11010519491231002x"}}`, code)
	want := Enterprise{USCC: code, Name: "某某合作社", Status: RegistryStatusOperating,
		LegalRepresentative: LegalRepresentative{Name: "李四", IDNumber: "11010519491231002X"}}
	if got := f.enterprise(http.StatusCreated, http.MethodPost, "/sim/registry/control/enterprises", in); !reflect.DeepEqual(got, want) {
		t.Fatalf("created %+v, want %+v", got, want)
	}
	if got, ok := f.reg.Lookup(code); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Lookup %+v %v", got, ok)
	}

	// The trap: a genuine code failing its final check is registered and
	// found, as the registry is what decides.
	genuine := DemoEnterprise()
	genuine.USCC = "91350203M0001QKT19"
	f.enterprise(http.StatusCreated, http.MethodPost, "/sim/registry/control/enterprises", genuine)
	if got := f.enterprise(http.StatusOK, http.MethodGet, "/sim/registry/enterprises/91350203M0001QKT19", nil); got.USCC != genuine.USCC {
		t.Fatalf("query %+v", got)
	}

	// Listed by code.
	l := f.list()
	if len(l) != 3 || l[0].USCC != genuine.USCC || l[1].USCC != code || l[2].USCC != demo.USCC {
		t.Fatalf("list %+v", l)
	}
}

func TestRegistryQueryRefusals(t *testing.T) {
	f := newRegistryFixture(t)
	f.enterprise(http.StatusCreated, http.MethodPost, "/sim/registry/control/enterprises", DemoEnterprise())
	for _, tc := range []struct{ code, check string }{
		{"91440101MA5CXXXX7", platform.USCCCheckLength},
		{"91440101ma5cxxxx7x", platform.USCCCheckAlphabet},
		{"B1440101MA5CXXXX7X", platform.USCCCheckCategory},
		{"91990101MA5CXXXX7X", platform.USCCCheckDivision},
		{"91440101MA5CXXXX0Y", platform.USCCCheckOrgCode},
		{"11010519491231002X", platform.USCCCheckDivision},
	} {
		e := f.refused(http.StatusBadRequest, http.MethodGet, "/sim/registry/enterprises/"+tc.code, nil)
		if e.Error.Code != platform.CodeInvalid || e.Error.Field != "uscc" || e.Error.Check != tc.check {
			t.Errorf("%s: %+v, want uscc/%s", tc.code, e.Error, tc.check)
		}
	}
	// Well-formed but not registered, with and without a matching check.
	for _, code := range []string{validUSCC(t, 2), "91350100M000100Y40"} {
		if e := f.refused(http.StatusNotFound, http.MethodGet, "/sim/registry/enterprises/"+code, nil); e.Error.Code != "not_found" {
			t.Errorf("%s: %+v", code, e.Error)
		}
	}
	if l := f.list(); len(l) != 1 {
		t.Fatalf("queries changed the registry: %+v", l)
	}
}

func TestRegistryAddRefusals(t *testing.T) {
	f := newRegistryFixture(t)
	base := DemoEnterprise()
	f.enterprise(http.StatusCreated, http.MethodPost, "/sim/registry/control/enterprises", base)
	code := validUSCC(t, 3) // not registered: every refusal below is of a new code
	with := func(change func(*Enterprise)) Enterprise {
		e := DemoEnterprise()
		e.USCC = code
		change(&e)
		return e
	}
	for _, tc := range []struct {
		name         string
		body         any
		field, check string // "" for a body that is not a record
	}{
		{"not JSON", "{", "", ""},
		{"array", `[]`, "", ""},
		{"unknown field", fmt.Sprintf(`{"uscc":%q,"nmae":"x"}`, code), "", ""},
		{"trailing data", `{"uscc":"` + code + `"} {}`, "", ""},
		{"too large", `{"name":"` + strings.Repeat("a", maxBodyBytes) + `"}`, "", ""},
		{"empty", `{}`, "uscc", platform.USCCCheckLength},
		{"uscc alphabet", with(func(e *Enterprise) { e.USCC = "91440101MA5CXXXX7Z" }), "uscc", platform.USCCCheckAlphabet},
		{"uscc category", with(func(e *Enterprise) { e.USCC = "94440101MA5CXXXX7X" }), "uscc", platform.USCCCheckCategory},
		{"uscc division", with(func(e *Enterprise) { e.USCC = "91004401MA5CXXXX7X" }), "uscc", platform.USCCCheckDivision},
		{"uscc org code", with(func(e *Enterprise) { e.USCC = "91440101MA5CXXXX0Y" }), "uscc", platform.USCCCheckOrgCode},
		{"name missing", with(func(e *Enterprise) { e.Name = "  " }), "name", "required"},
		{"name long", with(func(e *Enterprise) { e.Name = strings.Repeat("企", 101) }), "name", "length"},
		{"name control", with(func(e *Enterprise) { e.Name = "某某\n公司" }), "name", "format"},
		{"status missing", with(func(e *Enterprise) { e.Status = "" }), "status", "required"},
		{"status unknown", with(func(e *Enterprise) { e.Status = "active" }), "status", "enum"},
		{"representative name missing", with(func(e *Enterprise) { e.LegalRepresentative.Name = "" }), "legal_representative.name", "required"},
		{"representative name long", with(func(e *Enterprise) { e.LegalRepresentative.Name = strings.Repeat("张", 31) }), "legal_representative.name", "length"},
		{"id number missing", with(func(e *Enterprise) { e.LegalRepresentative.IDNumber = "" }), "legal_representative.id_number", "required"},
		{"id number short", with(func(e *Enterprise) { e.LegalRepresentative.IDNumber = "1101051949123100" }), "legal_representative.id_number", "format"},
		{"id number letter", with(func(e *Enterprise) { e.LegalRepresentative.IDNumber = "1101051949123100AX" }), "legal_representative.id_number", "format"},
		{"id number check", with(func(e *Enterprise) { e.LegalRepresentative.IDNumber = "110105194912310021" }), "legal_representative.id_number", "check_digit"},
		{"address long", with(func(e *Enterprise) { e.Address = strings.Repeat("路", 201) }), "address", "length"},
		{"scope control", with(func(e *Enterprise) { e.BusinessScope = "软件\x00开发" }), "business_scope", "format"},
		{"industry lower", with(func(e *Enterprise) { e.Industry = "i6513" }), "industry", "format"},
		{"industry section U", with(func(e *Enterprise) { e.Industry = "U65" }), "industry", "format"},
		{"industry 5 digits", with(func(e *Enterprise) { e.Industry = "I65131" }), "industry", "format"},
		{"size", with(func(e *Enterprise) { e.Size = "small" }), "size", "enum"},
		{"registered_at", with(func(e *Enterprise) { e.RegisteredAt = "2016-02-30" }), "registered_at", "format"},
		{"registered_at time", with(func(e *Enterprise) { e.RegisteredAt = "2016-03-18T00:00:00Z" }), "registered_at", "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			e := f.refused(http.StatusBadRequest, http.MethodPost, "/sim/registry/control/enterprises", tc.body)
			if e.Error.Code != platform.CodeInvalid || e.Error.Field != tc.field || e.Error.Check != tc.check {
				t.Fatalf("%+v, want %s/%s", e.Error, tc.field, tc.check)
			}
			if _, ok := f.reg.Lookup(code); ok {
				t.Fatal("a refused record was stored")
			}
		})
	}

	// A duplicate is refused and leaves the first record as it was.
	dup := DemoEnterprise()
	dup.Name, dup.Status = "另一家公司", RegistryStatusCancelled
	if e := f.refused(http.StatusConflict, http.MethodPost, "/sim/registry/control/enterprises", dup); e.Error.Code != "duplicate" {
		t.Fatalf("duplicate: %+v", e.Error)
	}
	if l := f.list(); len(l) != 1 || !reflect.DeepEqual(l[0], base) {
		t.Fatalf("after refusals: %+v", l)
	}
}

func TestRegistryUpdate(t *testing.T) {
	f := newRegistryFixture(t)
	demo := DemoEnterprise()
	f.enterprise(http.StatusCreated, http.MethodPost, "/sim/registry/control/enterprises", demo)
	path := "/sim/registry/control/enterprises/" + demo.USCC

	// Revoked, with the code left out of the body; a new representative with
	// the code given.
	upd := demo
	upd.USCC, upd.Status = "", RegistryStatusRevoked
	got := f.enterprise(http.StatusOK, http.MethodPut, path, upd)
	want := demo
	want.Status = RegistryStatusRevoked
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("updated %+v", got)
	}
	want.LegalRepresentative = LegalRepresentative{Name: "王五", IDNumber: "440106199001011234"}
	want.LegalRepresentative.IDNumber = want.LegalRepresentative.IDNumber[:17] + string(idCheckDigit(want.LegalRepresentative.IDNumber[:17]))
	f.enterprise(http.StatusOK, http.MethodPut, path, want)
	if got := f.enterprise(http.StatusOK, http.MethodGet, "/sim/registry/enterprises/"+demo.USCC, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("query after update %+v, want %+v", got, want)
	}

	// Refusals change nothing.
	other := validUSCC(t, 4)
	mismatch := want
	mismatch.USCC, mismatch.Name = other, "别家"
	badStatus := want
	badStatus.Status = "gone"
	for _, tc := range []struct {
		name, path   string
		body         any
		status       int
		code, field  string
		check        string
		wantUnstored string
	}{
		{"body names another code", path, mismatch, http.StatusBadRequest, platform.CodeInvalid, "uscc", "mismatch", other},
		{"bad status", path, badStatus, http.StatusBadRequest, platform.CodeInvalid, "status", "enum", ""},
		{"not JSON", path, "nope", http.StatusBadRequest, platform.CodeInvalid, "", "", ""},
		{"malformed path code", "/sim/registry/control/enterprises/91440101MA5CXXXX0Y", want, http.StatusBadRequest, platform.CodeInvalid, "uscc", platform.USCCCheckOrgCode, ""},
		{"unknown code", "/sim/registry/control/enterprises/" + other, Enterprise{Name: "别家", Status: RegistryStatusSubsisting,
			LegalRepresentative: demo.LegalRepresentative}, http.StatusNotFound, "not_found", "", "", other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			e := f.refused(tc.status, http.MethodPut, tc.path, tc.body)
			if e.Error.Code != tc.code || e.Error.Field != tc.field || e.Error.Check != tc.check {
				t.Fatalf("%+v", e.Error)
			}
			if l := f.list(); len(l) != 1 || !reflect.DeepEqual(l[0], want) {
				t.Fatalf("after refusal: %+v", l)
			}
			if tc.wantUnstored != "" {
				if _, ok := f.reg.Lookup(tc.wantUnstored); ok {
					t.Fatal("stored")
				}
			}
		})
	}
}

// Concurrent adds of one code: exactly one is registered, the others are
// duplicates; concurrent adds of distinct codes all land.
func TestRegistryConcurrentAdds(t *testing.T) {
	f := newRegistryFixture(t)
	const n = 32
	var wg sync.WaitGroup
	statuses := make([]int, n)
	names := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := DemoEnterprise()
			e.Name = fmt.Sprintf("并发公司%d", i)
			names[i] = e.Name
			statuses[i], _ = f.call(http.MethodPost, "/sim/registry/control/enterprises", e)
		}()
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = validUSCC(t, 100+i)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := DemoEnterprise()
			e.USCC = codes[i]
			if s, raw := f.call(http.MethodPost, "/sim/registry/control/enterprises", e); s != http.StatusCreated {
				t.Errorf("distinct %d: %d %s", i, s, raw)
			}
		}()
	}
	wg.Wait()
	created := -1
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			if created >= 0 {
				t.Fatalf("two creations: %d and %d", created, i)
			}
			created = i
		case http.StatusConflict:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if created < 0 {
		t.Fatal("none created")
	}
	if got, _ := f.reg.Lookup(DemoUSCC); got.Name != names[created] {
		t.Fatalf("stored %q, created by %q", got.Name, names[created])
	}
	if l := f.list(); len(l) != n+1 {
		t.Fatalf("%d listed, want %d", len(l), n+1)
	}
}

func TestRegistryFull(t *testing.T) {
	f := newRegistryFixture(t)
	for i := range MaxRegistryEnterprises {
		e := DemoEnterprise()
		e.USCC = validUSCC(t, 1000+i)
		if _, err := f.reg.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	e := f.refused(http.StatusConflict, http.MethodPost, "/sim/registry/control/enterprises", DemoEnterprise())
	if e.Error.Code != "full" {
		t.Fatalf("%+v", e.Error)
	}
	if _, ok := f.reg.Lookup(DemoUSCC); ok {
		t.Fatal("stored beyond the bound")
	}
}
