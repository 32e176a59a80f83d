package platform

import (
	"strings"
	"testing"
)

func TestIdentifierShapes(t *testing.T) {
	cases := []struct {
		name  string
		valid func(string) bool
		good  []string
		bad   []string
	}{
		{"catalog ID", ValidCatalogID,
			[]string{"h1", "hall-tianhe", "0", strings.Repeat("a", 48)},
			[]string{"", "-h1", "H1", "h_1", "h 1", "厅", strings.Repeat("a", 49)}},
		{"staff username", ValidStaffUsername,
			[]string{"abc", "demo-staff", "li.wei_2", strings.Repeat("a", 32)},
			[]string{"ab", ".abc", "Demo", "a b", strings.Repeat("a", 33)}},
		{"service code", ValidServiceCode,
			[]string{"S", "11440100MB2C92-0001", "ab_CD-9", strings.Repeat("A", 64)},
			[]string{"", "-x", "_x", "a.b", "事项", strings.Repeat("A", 65)}},
	}
	for _, c := range cases {
		for _, s := range c.good {
			if !c.valid(s) {
				t.Errorf("%s %q refused", c.name, s)
			}
		}
		for _, s := range c.bad {
			if c.valid(s) {
				t.Errorf("%s %q accepted", c.name, s)
			}
		}
	}
}

func TestStaffRoles(t *testing.T) {
	for _, r := range []string{"admin", "hall_staff", "finance"} {
		if !IsStaffRole(r) {
			t.Errorf("%q is not a role", r)
		}
	}
	if IsStaffRole("") || IsStaffRole("root") || len(StaffRoles()) != 3 {
		t.Fatal("unexpected roles")
	}
}
