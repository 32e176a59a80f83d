package platform

import (
	"strings"
	"testing"
)

func TestParseUSCCValid(t *testing.T) {
	// The reference's published valid codes, and codes computed with
	// USCCWithCheck for authorities and categories they do not cover.
	for _, tc := range []struct {
		code             string
		authority, categ byte
		division, org    string
	}{
		{"91350100M000100Y43", '9', '1', "350100", "M000100Y4"},
		{"914403001922038216", '9', '1', "440300", "192203821"},
		{"9144030071526726XG", '9', '1', "440300", "71526726X"},
		{"11320000MB151840XJ", '1', '1', "320000", "MB151840X"},
		{"91512081MA62K0260E", '9', '1', "512081", "MA62K0260"},
		{"11100000000013338W", '1', '1', "100000", "000013338"},
		{USCCWithCheck(withOrgCheck("52440106MJ000000")), '5', '2', "440106", "MJ000000" + string(OrgCodeCheck("MJ000000"))},
		{USCCWithCheck("Y1440101MA5CXXXX7"), 'Y', '1', "440101", "MA5CXXXX7"},
		{USCCWithCheck(withOrgCheck("N265010012345678")), 'N', '2', "650100", "12345678" + string(OrgCodeCheck("12345678"))},
		{USCCWithCheck("93820000MA5CXXXX7"), '9', '3', "820000", "MA5CXXXX7"},
	} {
		u, err := ParseUSCC(tc.code)
		if err != nil {
			t.Errorf("%s: %v", tc.code, err)
			continue
		}
		if !u.CheckMatches || u.Code != tc.code || u.String() != tc.code || u.Authority != tc.authority ||
			u.Category != tc.categ || u.Division != tc.division || u.OrgCode != tc.org {
			t.Errorf("%s: got %+v", tc.code, u)
		}
	}
}

// The reference's worked example: Σ = 1640, 1640 mod 31 = 28, check 31−28 = 3.
// withOrgCheck appends the GB 11714 check character to 16 characters (the
// first 8 of a code and the organisation code's body).
func withOrgCheck(first16 string) string { return first16 + string(OrgCodeCheck(first16[8:])) }

func TestUSCCCheckWorkedExample(t *testing.T) {
	sum := 0
	for i, c := range []byte("91350100M000100Y4") {
		sum += usccValue(c) * usccWeights[i]
	}
	if sum != 1640 || sum%31 != 28 {
		t.Fatalf("Σ = %d (mod 31 = %d), want 1640 (28)", sum, sum%31)
	}
	if got := USCCWithCheck("91350100M000100Y4"); got != "91350100M000100Y43" {
		t.Fatalf("USCCWithCheck = %s", got)
	}
	// 3^(i−1) mod 31, as the standard defines the weights.
	w := 1
	for i := range 17 {
		if usccWeights[i] != w {
			t.Fatalf("weight %d = %d, want %d", i+1, usccWeights[i], w)
		}
		w = w * 3 % 31
	}
}

func TestParseUSCCCheckMismatchIsNotRefused(t *testing.T) {
	// 91350203M0001QKT19 is genuine (registered before 2016) yet fails the
	// final check: well-formed, to be verified against the registry.
	for _, code := range []string{
		"91350203M0001QKT19",
		"91350100M000100Y40", // the valid example with another last character
		"91350100M000100Y4Y",
	} {
		u, err := ParseUSCC(code)
		if err != nil {
			t.Fatalf("%s: refused: %v", code, err)
		}
		if u.CheckMatches || u.Code != code {
			t.Fatalf("%s: %+v, want CheckMatches false", code, u)
		}
	}
}

func TestParseUSCCMalformed(t *testing.T) {
	valid := "91350100M000100Y43"
	for _, tc := range []struct {
		name, code, check string
	}{
		{"empty", "", USCCCheckLength},
		{"17", valid[:17], USCCCheckLength},
		{"19", valid + "3", USCCCheckLength},
		{"multibyte 18 runes", "9135010０M000100Y4", USCCCheckLength}, // a full-width digit: 20 bytes
		{"Z (the reference's invalid example)", "91350100M000100Y4Z", USCCCheckAlphabet},
		{"I", "91350100M000100I43", USCCCheckAlphabet},
		{"O", "91350100O000100Y43", USCCCheckAlphabet},
		{"S", "S1350100M000100Y43", USCCCheckAlphabet},
		{"V", "91350100V000100Y43", USCCCheckAlphabet},
		{"lower case", "91350100m000100y43", USCCCheckAlphabet},
		{"space", "91350100M000100Y4 ", USCCCheckAlphabet},
		{"NUL", "91350100M000100Y4\x00", USCCCheckAlphabet},
		{"unknown authority", "B1350100M000100Y43", USCCCheckCategory},
		{"authority 0", "01350100M000100Y43", USCCCheckCategory},
		{"工商 without category 9", "99350100M000100Y43", USCCCheckCategory},
		{"工商 category 4", "94350100M000100Y43", USCCCheckCategory},
		{"其他 category 2", "Y2350100M000100Y43", USCCCheckCategory},
		{"category letter", "9A350100M000100Y43", USCCCheckCategory},
		{"division letter", "9135A100M000100Y43", USCCCheckDivision},
		{"province 00", "91000100M000100Y43", USCCCheckDivision},
		{"province 10 not national", "91100100M000100Y43", USCCCheckDivision},
		{"province 99", "91990100M000100Y43", USCCCheckDivision},
		{"org code check", "91350100M000100Y53", USCCCheckOrgCode},
		{"org code body changed", "91350100M000200Y43", USCCCheckOrgCode},
		// The earlier demo code: positions 9–16 MA5CXXXX give the check 7, not 0.
		{"earlier demo code", "91440101MA5CXXXX0Y", USCCCheckOrgCode},
		// An ID number that passes its own check: 01 is no province. And one
		// whose region is a real province: 1 then 3 is 机构编制's category 3,
		// 1101xx a division, but the organisation code check fails.
		{"ID number", "11010519491231002X", USCCCheckDivision},
		{"ID number shaped", "130105194912310021", USCCCheckDivision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUSCC(tc.code)
			pe, ok := AsError(err)
			if !ok {
				t.Fatalf("%q: err %v, want platform.Error", tc.code, err)
			}
			if pe.Code != CodeInvalid || pe.Field != "uscc" || pe.Check != tc.check || pe.Message == "" {
				t.Fatalf("%q: %+v, want invalid_argument uscc/%s", tc.code, pe, tc.check)
			}
			if tc.code != "" && strings.Contains(pe.Message, tc.code) {
				t.Fatalf("message repeats the input: %s", pe.Message)
			}
			if u != (USCC{}) {
				t.Fatalf("%q: non-zero result %+v with an error", tc.code, u)
			}
		})
	}
}

// A resident ID number of a real region whose characters happen to form a
// known authority/category pair still fails the structure (division or
// organisation code) — it is never taken for a code.
func TestParseUSCCIDNumbers(t *testing.T) {
	for _, id := range []string{"110105194912310021", "11010519491231002X", "440106199001011234", "350203198507070016"} {
		if _, err := ParseUSCC(id); err == nil {
			t.Errorf("%s: an ID number accepted as a code", id)
		}
	}
}

func TestOrgCodeCheckMapping(t *testing.T) {
	// Σ mod 11 = 1 → 10 → X (9144030071526726XG); Σ mod 11 = 0 → 11 → 0
	// (91512081MA62K0260E); otherwise the digit.
	for body, want := range map[string]byte{"71526726": 'X', "MA62K026": '0', "19220382": '1', "M000100Y": '4'} {
		if got := OrgCodeCheck(body); got != want {
			t.Errorf("OrgCodeCheck(%s) = %c, want %c", body, got, want)
		}
	}
}

func TestUSCCWithCheckPanics(t *testing.T) {
	for _, in := range []string{"", "9135010", "91350100M000100Y43", "91350100M000100I4"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("USCCWithCheck(%q) did not panic", in)
				}
			}()
			USCCWithCheck(in)
		}()
	}
}
