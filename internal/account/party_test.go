package account

import (
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

func TestValidateParty(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	ok := []PartyInput{
		{Type: PartyPerson, IDNumber: "11010519491231002x", Name: " 张三 "},
		{Type: PartyEnterprise, USCC: "91440101MA5CXXXX7X", Name: "广州某某科技有限公司"},
		// A wrong final check character: the registry decides.
		{Type: PartyEnterprise, USCC: "91440101MA5CXXXX71", Name: "广州某某科技有限公司"},
	}
	for _, in := range ok {
		p, err := ValidateParty("payer", "缴款人", &in, now)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if in.Type == PartyPerson && (p.IDNumber != "11010519491231002X" || p.Name != "张三") {
			t.Fatalf("not normalised: %+v", p)
		}
	}
	for _, c := range []struct {
		in           *PartyInput
		field, check string
	}{
		{nil, "payer", "required"},
		{&PartyInput{}, "payer.type", "required"},
		{&PartyInput{Type: "robot"}, "payer.type", "enum"},
		{&PartyInput{Type: PartyPerson, IDNumber: "11010519491231002X", Name: "张三", USCC: "91440101MA5CXXXX7X"}, "payer.uscc", "not_allowed"},
		{&PartyInput{Type: PartyPerson, IDNumber: "110105194912310021", Name: "张三"}, "payer.id_number", "check_digit"},
		{&PartyInput{Type: PartyEnterprise, USCC: "91440101MA5CXXXX7X", Name: "x", IDNumber: "11010519491231002X"}, "payer.id_number", "not_allowed"},
		{&PartyInput{Type: PartyEnterprise, Name: "x"}, "payer.uscc", "required"},
		{&PartyInput{Type: PartyEnterprise, USCC: "91440101MA5CXXXX0Y", Name: "x"}, "payer.uscc", platform.USCCCheckOrgCode},
		{&PartyInput{Type: PartyEnterprise, USCC: "91440101MA5CXXXX7X"}, "payer.name", "required"},
		{&PartyInput{Type: PartyEnterprise, USCC: "91440101MA5CXXXX7X", Name: strings.Repeat("企", MaxOrgName+1)}, "payer.name", "length"},
		{&PartyInput{Type: PartyEnterprise, USCC: "91440101MA5CXXXX7X", Name: "a\x00b"}, "payer.name", "format"},
	} {
		_, err := ValidateParty("payer", "缴款人", c.in, now)
		pe, ok := platform.AsError(err)
		if !ok || pe.Field != c.field || pe.Check != c.check {
			t.Errorf("%+v: %v, want %s/%s", c.in, err, c.field, c.check)
		}
	}
}
