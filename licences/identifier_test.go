package licences

import (
	"strings"
	"testing"

	"banshi/internal/platform"
)

// The reference's test vector (pages.md, 电子证照).
const vectorID = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"

func TestCheckCharacterVector(t *testing.T) {
	c, ok := CheckCharacter("11100000000013338W032" + "11220000013544541J" + "2430599" + "001")
	if !ok || c != 'F' {
		t.Fatalf("check character %q, want F", c)
	}
	if got := WithCheck("11100000000013338W032", "11220000013544541J", "2430599", "001"); got != vectorID {
		t.Fatalf("WithCheck = %s", got)
	}
}

func TestParseIdentifier(t *testing.T) {
	id, err := ParseIdentifier("identifier", vectorID)
	if err != nil {
		t.Fatal(err)
	}
	if id.TypeCode != "11100000000013338W032" || id.Issuer != "11220000013544541J" || id.Serial != "2430599" ||
		id.Version != "001" || id.Check != 'F' || id.DefiningAuthority() != "11100000000013338W" {
		t.Fatalf("parts %+v", id)
	}
	for _, tc := range []struct{ in, check string }{
		{"", CheckStructure},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001", CheckStructure},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J..001.F", CheckStructure},
		{vectorID + ".X", CheckStructure},
		{strings.Repeat("1", 200), CheckStructure},
		{"1.2.156.3005.3.11100000000013338W032.11220000013544541J.2430599.001.F", CheckPrefix},
		{"1.2.156.3005.2.11100000000013338W03.11220000013544541J.2430599.001.F", CheckTypeCode},
		{"1.2.156.3005.2.11100000000013338W03A.11220000013544541J.2430599.001.F", CheckTypeCode},
		{"1.2.156.3005.2.I1100000000013338W032.11220000013544541J.2430599.001.F", CheckTypeCode},
		{"1.2.156.3005.2.11100000000013338W032.1122000001354454.2430599.001.F", CheckIssuer},
		{"1.2.156.3005.2.11100000000013338W032.11010519491231002X.2430599.001.F", CheckIssuer},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.24305a9.001.F", CheckSerial},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J." + strings.Repeat("A", 33) + ".001.F", CheckSerial},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.000.F", CheckVersion},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.01.F", CheckVersion},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.G", CheckCheckChar},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.FF", CheckCheckChar},
		{"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.002.F", CheckCheckChar},
	} {
		_, err := ParseIdentifier("licence.identifier", tc.in)
		pe, ok := platform.AsError(err)
		if !ok || pe.Code != platform.CodeInvalid || pe.Check != tc.check || pe.Field != "licence.identifier" {
			t.Errorf("%q: %v, want check %s", tc.in, err, tc.check)
		}
	}
}

// FuzzParseIdentifier: ParseIdentifier never panics; a refusal names one of
// its checks; an accepted identifier rebuilds from its parts exactly.
func FuzzParseIdentifier(f *testing.F) {
	f.Add(vectorID)
	f.Add("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.G")
	f.Add("")
	checks := map[string]bool{CheckStructure: true, CheckPrefix: true, CheckTypeCode: true, CheckIssuer: true,
		CheckSerial: true, CheckVersion: true, CheckCheckChar: true}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdentifier("identifier", s)
		if err != nil {
			pe, ok := platform.AsError(err)
			if !ok || pe.Field != "identifier" || !checks[pe.Check] {
				t.Fatalf("%q: unexpected error %v", s, err)
			}
			return
		}
		if WithCheck(id.TypeCode, id.Issuer, id.Serial, id.Version) != s {
			t.Fatalf("%q accepted as %+v", s, id)
		}
	})
}
