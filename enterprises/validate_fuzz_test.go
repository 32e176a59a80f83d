package enterprises

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// FuzzValidatePolicy: any policy an admin sends is either refused with an
// invalid_argument naming one of its fields, or accepted within every
// bound: a title and department present, lengths kept, criteria
// well-formed and without duplicates, a link https.
func FuzzValidatePolicy(f *testing.F) {
	f.Add("稳岗补贴", "摘要\n第二行", "人社局", "https://example.gov.cn/p", "4401,35", "I65,C", "小型", "2026-12-31")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("x\x00", "", "d", "http://x", "440", "i", "巨型", "2026-02-30")
	f.Fuzz(func(t *testing.T, title, summary, dept, link, regions, industries, sizes, until string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		in := PolicyInput{Title: title, Summary: summary, Department: dept, URL: link, Regions: split(regions),
			Industries: split(industries), Sizes: split(sizes), ApplyUntil: until}
		out, err := validatePolicy(in)
		if err != nil {
			pe, ok := platform.AsError(err)
			fields := []string{"title", "summary", "department", "url", "regions", "industries", "sizes", "apply_until"}
			if !ok || pe.Code != "invalid_argument" || !slices.Contains(fields, pe.Field) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if out.Title == "" || out.Department == "" || utf8.RuneCountInString(out.Title) > maxPolicyTitle ||
			utf8.RuneCountInString(out.Summary) > maxPolicySummary || !account.PlainText(out.Title, false) ||
			(out.URL != "" && !strings.HasPrefix(out.URL, "https://")) {
			t.Fatalf("accepted %+v", out)
		}
		for _, list := range [][]string{out.Regions, out.Industries, out.Sizes} {
			if len(list) > maxPolicyCriteria {
				t.Fatalf("accepted %d criteria", len(list))
			}
			for i, x := range list {
				if slices.Contains(list[i+1:], x) {
					t.Fatalf("duplicate %q", x)
				}
			}
		}
		for _, r := range out.Regions {
			if !policyRegion.MatchString(r) {
				t.Fatalf("region %q", r)
			}
		}
	})
}

// FuzzValidateGrant: any grant is either refused with an invalid_argument
// or normalised to one whose invitee passes the real-name checks, whose
// scope is all business or 1–50 distinct well-formed codes (administrators:
// all), and whose validity lies ahead within three years.
func FuzzValidateGrant(f *testing.F) {
	f.Add("agent", "李四", "44010619850101001X", false, "A1,B2,A1", int64(0), int64(3600))
	f.Add("administrator", "王五", "440106198501010021", true, "", int64(-60), int64(0))
	f.Add("agent", "x", "123", true, "A 1", int64(10), int64(-10))
	now := time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, role, name, id string, all bool, items string, fromSec, untilSec int64) {
		g := Grant{Role: role, Invitee: Invitee{Name: name, IDNumber: id}, Scope: Scope{All: all}}
		if items != "" {
			g.Scope.Items = strings.Split(items, ",")
		}
		if fromSec != 0 {
			g.ValidFrom = now.Add(time.Duration(fromSec%(1<<32)) * time.Second)
		}
		if untilSec != 0 {
			u := now.Add(time.Duration(untilSec%(1<<32)) * time.Second)
			g.ValidUntil = &u
		}
		out, err := validateGrant(g, now)
		if err != nil {
			if pe, ok := platform.AsError(err); !ok || pe.Code != "invalid_argument" || pe.Field == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if _, err := account.ValidateIDNumber(out.Invitee.IDNumber, now); err != nil {
			t.Fatalf("accepted ID number: %v", err)
		}
		if _, err := account.ValidateName(out.Invitee.Name); err != nil {
			t.Fatalf("accepted name: %v", err)
		}
		switch out.Role {
		case RoleAdministrator:
			if !out.Scope.All || len(out.Scope.Items) != 0 {
				t.Fatalf("administrator scope %+v", out.Scope)
			}
		case RoleAgent:
			if out.Scope.All == (len(out.Scope.Items) > 0) || len(out.Scope.Items) > maxScopeItems || out.ValidUntil == nil {
				t.Fatalf("agent %+v", out)
			}
			for i, it := range out.Scope.Items {
				if !platform.ValidServiceCode(it) || slices.Contains(out.Scope.Items[i+1:], it) {
					t.Fatalf("items %v", out.Scope.Items)
				}
			}
		default:
			t.Fatalf("role %q", out.Role)
		}
		if out.ValidFrom.Before(now) || out.ValidFrom.After(now.Add(maxValidity)) {
			t.Fatalf("valid from %v", out.ValidFrom)
		}
		if out.ValidUntil != nil && (!out.ValidUntil.After(now) || !out.ValidUntil.After(out.ValidFrom) || out.ValidUntil.After(now.Add(maxValidity))) {
			t.Fatalf("valid until %v", out.ValidUntil)
		}
	})
}
