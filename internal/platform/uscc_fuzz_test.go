package platform

import (
	"strings"
	"testing"
)

// FuzzParseUSCC: ParseUSCC never panics; it either refuses with a named check
// of field uscc or returns the code's parts; an accepted code keeps being
// accepted with its check character recomputed, and CheckMatches agrees with
// USCCWithCheck.
func FuzzParseUSCC(f *testing.F) {
	for _, s := range []string{"91350100M000100Y43", "91350100M000100Y4Z", "91350203M0001QKT19",
		"11100000000013338W", "11010519491231002X", "", "9135010０M000100Y4"} {
		f.Add(s)
	}
	checks := map[string]bool{USCCCheckLength: true, USCCCheckAlphabet: true, USCCCheckCategory: true,
		USCCCheckDivision: true, USCCCheckOrgCode: true}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUSCC(s)
		if err != nil {
			pe, ok := AsError(err)
			if !ok || pe.Code != CodeInvalid || pe.Field != "uscc" || !checks[pe.Check] {
				t.Fatalf("%q: unexpected error %v", s, err)
			}
			if u != (USCC{}) {
				t.Fatalf("%q: result with an error", s)
			}
			return
		}
		if u.Code != s || len(s) != 18 || strings.ContainsAny(s, "IOSVZ") {
			t.Fatalf("%q accepted as %+v", s, u)
		}
		fixed := USCCWithCheck(s[:17])
		if u.CheckMatches != (fixed == s) {
			t.Fatalf("%q: CheckMatches %v, recomputed %s", s, u.CheckMatches, fixed)
		}
		v, err := ParseUSCC(fixed)
		if err != nil || !v.CheckMatches {
			t.Fatalf("%q recomputed to %s: %v %+v", s, fixed, err, v)
		}
	})
}
