package enterprises

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/sim"
)

// TestPolicyMatches: region and industry as prefixes, size exactly, the
// application period; empty criteria match all.
func TestPolicyMatches(t *testing.T) {
	p := func(in PolicyInput) Policy { return Policy{PolicyInput: in} }
	for _, tc := range []struct {
		name                     string
		pol                      Policy
		division, industry, size string
		want                     bool
	}{
		{"no criteria", p(PolicyInput{}), "440101", "I6513", "小型", true},
		{"province", p(PolicyInput{Regions: []string{"44"}}), "440101", "", "", true},
		{"other province", p(PolicyInput{Regions: []string{"35"}}), "440101", "", "", false},
		{"city of several", p(PolicyInput{Regions: []string{"3501", "4401"}}), "440101", "", "", true},
		{"industry section", p(PolicyInput{Industries: []string{"I"}}), "440101", "I6513", "", true},
		{"industry class", p(PolicyInput{Industries: []string{"I65"}}), "440101", "I6513", "", true},
		{"other industry", p(PolicyInput{Industries: []string{"C"}}), "440101", "I6513", "", false},
		{"industry unknown", p(PolicyInput{Industries: []string{"I"}}), "440101", "", "", false},
		{"size", p(PolicyInput{Sizes: []string{"小型", "微型"}}), "440101", "", "小型", true},
		{"other size", p(PolicyInput{Sizes: []string{"大型"}}), "440101", "", "小型", false},
		{"size unknown", p(PolicyInput{Sizes: []string{"小型"}}), "440101", "", "", false},
		{"last day", p(PolicyInput{ApplyUntil: "2026-03-16"}), "440101", "", "", true},
		{"over", p(PolicyInput{ApplyUntil: "2026-03-15"}), "440101", "", "", false},
	} {
		if got := tc.pol.Matches(tc.division, tc.industry, tc.size, "2026-03-16"); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPolicyCatalog: create, update, list, delete; every bad input is
// refused naming its field and stores nothing; unknown ids are not found.
func TestPolicyCatalog(t *testing.T) {
	f := newFixture(t)
	ok := PolicyInput{Title: " 稳岗补贴 ", Department: "人社局", Regions: []string{"4401", "4401"}, Sizes: []string{"小型"}, ApplyUntil: "2026-12-31", URL: "https://example.gov.cn/p/1"}
	p, err := f.svc.CreatePolicy(f.ctx, "demo-admin", ok)
	if err != nil || p.Title != "稳岗补贴" || len(p.Regions) != 1 || p.UpdatedBy != "demo-admin" {
		t.Fatalf("create: %+v %v", p, err)
	}
	invalid := platform.Invalid("", "", "")
	for _, tc := range []struct {
		name         string
		in           PolicyInput
		field, check string
	}{
		{"no title", PolicyInput{Department: "x"}, "title", "required"},
		{"title too long", PolicyInput{Title: strings.Repeat("长", 101), Department: "x"}, "title", "length"},
		{"control character", PolicyInput{Title: "a\x07", Department: "x"}, "title", "format"},
		{"no department", PolicyInput{Title: "x"}, "department", "required"},
		{"http link", PolicyInput{Title: "x", Department: "x", URL: "http://example.gov.cn"}, "url", "format"},
		{"link with credentials", PolicyInput{Title: "x", Department: "x", URL: "https://a:b@example.gov.cn"}, "url", "format"},
		{"odd region", PolicyInput{Title: "x", Department: "x", Regions: []string{"440"}}, "regions", "format"},
		{"industry lower case", PolicyInput{Title: "x", Department: "x", Industries: []string{"i65"}}, "industries", "format"},
		{"unknown size", PolicyInput{Title: "x", Department: "x", Sizes: []string{"巨型"}}, "sizes", "format"},
		{"bad date", PolicyInput{Title: "x", Department: "x", ApplyUntil: "2026-13-01"}, "apply_until", "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := f.count(CollPolicies, bson.M{})
			_, err := f.svc.CreatePolicy(f.ctx, "demo-admin", tc.in)
			pe, _ := platform.AsError(err)
			if !errors.Is(err, invalid) || pe.Field != tc.field || pe.Check != tc.check {
				t.Fatalf("err = %v, want %s/%s", err, tc.field, tc.check)
			}
			if _, err := f.svc.UpdatePolicy(f.ctx, "demo-admin", p.ID, tc.in); !errors.Is(err, invalid) {
				t.Fatalf("update: %v", err)
			}
			if f.count(CollPolicies, bson.M{}) != n {
				t.Fatal("stored")
			}
		})
	}
	f.clock.Advance(time.Minute)
	up, err := f.svc.UpdatePolicy(f.ctx, "admin2", p.ID, PolicyInput{Title: "新标题", Department: "人社局"})
	if err != nil || up.Title != "新标题" || up.UpdatedBy != "admin2" || !up.UpdatedAt.After(p.UpdatedAt) || len(up.Regions) != 0 {
		t.Fatalf("update: %+v %v", up, err)
	}
	if list, err := f.svc.Policies(f.ctx); err != nil || len(list) != 1 || list[0].Title != "新标题" {
		t.Fatalf("list: %+v %v", list, err)
	}
	for _, id := range []string{"pol00000000000000000000", "nonsense"} {
		if _, err := f.svc.UpdatePolicy(f.ctx, "x", id, ok); !errors.Is(err, ErrPolicyNotFound) {
			t.Fatalf("update %s: %v", id, err)
		}
		if err := f.svc.DeletePolicy(f.ctx, id); !errors.Is(err, ErrPolicyNotFound) {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	if err := f.svc.DeletePolicy(f.ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeletePolicy(f.ctx, p.ID); !errors.Is(err, ErrPolicyNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// stubSection answers its name and the scope it was asked with.
type stubSection struct{ name string }

func (s stubSection) ForEnterprise(_ context.Context, uscc string, scope Scope) (any, error) {
	return []string{s.name, uscc, fmt.Sprint(scope.All, scope.Items)}, nil
}

// failingSection always fails.
type failingSection struct{}

func (failingSection) ForEnterprise(context.Context, string) (any, error) {
	return nil, errors.New("licences down")
}

// TestEnterprisePageByRole: the legal representative sees members, every
// section and messages; an agent sees its scoped sections, no members and
// no messages; a stranger is refused; a failing section is empty and named;
// policies match the registry record.
func TestEnterprisePageByRole(t *testing.T) {
	f := newFixture(t)
	f.page = PageSources{Applications: stubSection{"applications"}, Bills: stubSection{"bills"}, Licences: failingSection{}}
	f.svc = f.service(f.accounts)
	rep := f.claimed()
	agent := f.newPerson("王五", 2, 3)
	stranger := f.newPerson("赵六", 3, 3)
	g, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id},
		Scope: Scope{Items: []string{"A1"}}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreatePolicy(f.ctx, "a", PolicyInput{Title: "广州小微", Department: "x", Regions: []string{"4401"}, Sizes: []string{"小型"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreatePolicy(f.ctx, "a", PolicyInput{Title: "制造业", Department: "x", Industries: []string{"C"}}); err != nil {
		t.Fatal(err)
	}
	rp, err := f.svc.EnterprisePage(f.ctx, rep.uid, sim.DemoUSCC)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Viewer.Role != RoleLegalRepresentative || len(rp.Members) != 1 || rp.Sections[SectionMessages] == nil ||
		rp.Enterprise.LegalRepresentative != "*三" || rp.Enterprise.Industry != "I6513" ||
		fmt.Sprint(rp.Sections[SectionBills]) != fmt.Sprint([]string{"bills", sim.DemoUSCC, "true []"}) ||
		len(rp.Policies) != 1 || rp.Policies[0].Title != "广州小微" || fmt.Sprint(rp.Unavailable) != "[licences]" {
		t.Fatalf("legal representative's page: %+v", rp)
	}
	ap, err := f.svc.EnterprisePage(f.ctx, agent.uid, sim.DemoUSCC)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := ap.Sections[SectionMessages]; has || ap.Members != nil || ap.Viewer.Role != RoleAgent ||
		fmt.Sprint(ap.Sections[SectionApplications]) != fmt.Sprint([]string{"applications", sim.DemoUSCC, "false [A1]"}) {
		t.Fatalf("agent's page: %+v", ap)
	}
	if _, err := f.svc.EnterprisePage(f.ctx, stranger.uid, sim.DemoUSCC); !errors.Is(err, ErrNotMember) {
		t.Fatalf("stranger: %v", err)
	}
}
