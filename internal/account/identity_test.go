package account

import (
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
)

// refCheckDigit is an independent implementation of ISO 7064 MOD 11-2 with the
// weight table of GB 11643-1999, to check checkDigit against.
func refCheckDigit(first17 string) byte {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

func TestCheckDigitMatchesStandard(t *testing.T) {
	// Published sample from GB 11643-1999.
	if got := WithCheckDigit("11010519491231002"); got != "11010519491231002X" {
		t.Fatalf("WithCheckDigit(sample) = %s, want 11010519491231002X", got)
	}
	for _, p := range []string{"44010619900101123", "11010519491231002", "65010220000229001", "00000000000000000", "99999999999999999", "12345678901234567"} {
		if got, want := checkDigit(p), refCheckDigit(p); got != want {
			t.Errorf("checkDigit(%s) = %c, want %c", p, got, want)
		}
	}
}

func TestWithCheckDigitPanicsOnBadInput(t *testing.T) {
	for _, in := range []string{"", "1234", "1101051949123100X", "110105194912310021"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithCheckDigit(%q) did not panic", in)
				}
			}()
			WithCheckDigit(in)
		}()
	}
}

// withWrongCheckDigit returns a 18-character number whose check digit is wrong.
func withWrongCheckDigit(first17 string) string {
	good := checkDigit(first17)
	bad := byte('0')
	if good == '0' {
		bad = '1'
	}
	return first17 + string(bad)
}

func TestValidateIDNumber(t *testing.T) {
	// 2024-06-15 10:00 in Shanghai.
	now := time.Date(2024, 6, 15, 2, 0, 0, 0, time.UTC)
	// 2024-06-15 17:00 UTC is already 2024-06-16 in Shanghai.
	lateUTC := time.Date(2024, 6, 15, 17, 0, 0, 0, time.UTC)
	sample := WithCheckDigit("44010619900101123")
	tests := []struct {
		name  string
		in    string
		now   time.Time
		want  string // normalised result when valid
		check string // failed check when invalid
	}{
		{name: "valid", in: sample, want: sample},
		{name: "known sample with X", in: "11010519491231002X", want: "11010519491231002X"},
		{name: "lowercase x", in: "11010519491231002x", want: "11010519491231002X"},
		{name: "surrounding spaces", in: "  " + sample + "\t", want: sample},
		{name: "leap day", in: WithCheckDigit("65010220000229001"), want: WithCheckDigit("65010220000229001")},
		{name: "born today", in: WithCheckDigit("11010520240615001"), want: WithCheckDigit("11010520240615001")},
		{name: "born 1900-01-01", in: WithCheckDigit("11010519000101001"), want: WithCheckDigit("11010519000101001")},
		{name: "Macao province code", in: WithCheckDigit("82010219800101001"), want: WithCheckDigit("82010219800101001")},
		{name: "Shanghai date of now", in: WithCheckDigit("11010520240616001"), now: lateUTC, want: WithCheckDigit("11010520240616001")},

		{name: "empty", in: "", check: "required"},
		{name: "spaces only", in: "   ", check: "required"},
		{name: "too short", in: "1101051949123100", check: "length"},
		{name: "17 digits", in: "11010519491231002", check: "length"},
		{name: "19 digits", in: "1101051949123100211", check: "length"},
		{name: "too long", in: sample + "1", check: "length"},
		{name: "letter inside", in: "1101051949A231002X", check: "format"},
		{name: "bad last char", in: "11010519491231002Y", check: "format"},
		{name: "X inside", in: "1101051949123100XX", check: "format"},
		{name: "non-ASCII digit", in: "11010519491231002１", check: "format"},
		{name: "Han character", in: "1101051949123100二X", check: "format"},
		{name: "unknown province 99", in: WithCheckDigit("99010519491231002"), check: "region"},
		{name: "unknown province 10", in: WithCheckDigit("10010519491231002"), check: "region"},
		{name: "unknown province 83", in: WithCheckDigit("83000019491231002"), check: "region"},
		{name: "city and county 0000", in: WithCheckDigit("11000019491231002"), check: "region"},
		// Residence permits of Hong Kong residents (810000…) fall under the
		// "digits 3-6 not 0000" rule and are refused, as specified.
		{name: "HK residence permit", in: WithCheckDigit("81000019800101001"), check: "region"},
		{name: "Feb 30", in: WithCheckDigit("11010519900230123"), check: "birth_date"},
		{name: "Feb 29 in 1900", in: WithCheckDigit("11010519000229123"), check: "birth_date"},
		{name: "month 13", in: WithCheckDigit("11010519901301123"), check: "birth_date"},
		{name: "day 00", in: WithCheckDigit("11010519900100123"), check: "birth_date"},
		{name: "before 1900", in: WithCheckDigit("11010518991231123"), check: "birth_date"},
		{name: "tomorrow", in: WithCheckDigit("11010520240616001"), check: "birth_date_future"},
		{name: "far future", in: WithCheckDigit("11010521000101001"), check: "birth_date_future"},
		{name: "wrong check digit", in: withWrongCheckDigit("44010619900101123"), check: "check_digit"},
		{name: "X where digit due", in: "44010619900101123X", check: "check_digit"},
		{name: "region before check digit", in: withWrongCheckDigit("99010519491231002"), check: "region"},
		{name: "birth date before check digit", in: withWrongCheckDigit("11010519900230123"), check: "birth_date"},
		{name: "region before birth date", in: withWrongCheckDigit("99010519900230123"), check: "region"},
		{name: "future before check digit", in: withWrongCheckDigit("11010520240616001"), check: "birth_date_future"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.now
			if n.IsZero() {
				n = now
			}
			got, err := ValidateIDNumber(tc.in, n)
			if tc.check == "" {
				if err != nil || got != tc.want {
					t.Fatalf("ValidateIDNumber(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
				return
			}
			ve, ok := platform.AsError(err)
			if !ok || ve.Code != platform.CodeInvalid {
				t.Fatalf("ValidateIDNumber(%q) = %q, %v; want an invalid_argument error", tc.in, got, err)
			}
			if ve.Field != "id_number" || ve.Check != tc.check || ve.Message == "" || got != "" {
				t.Fatalf("ValidateIDNumber(%q) = %q, %+v; want check %q", tc.in, got, ve, tc.check)
			}
			if strings.Contains(ve.Error(), strings.TrimSpace(tc.in)) && strings.TrimSpace(tc.in) != "" {
				t.Fatalf("error repeats the input: %s", ve.Error())
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := ValidateIDNumber(withWrongCheckDigit("44010619900101123"), time.Now())
	if got := err.Error(); !strings.Contains(got, "身份证号校验位错误") || !strings.Contains(got, "check_digit") {
		t.Fatalf("Error() = %q", got)
	}
}

func TestValidateName(t *testing.T) {
	long30 := strings.Repeat("张", 30)
	tests := []struct {
		in, want, check string
	}{
		{in: "张三", want: "张三"},
		{in: "  张三　", want: "张三"},
		{in: "欧阳娜娜", want: "欧阳娜娜"},
		{in: "买买提·艾力", want: "买买提·艾力"},
		{in: "买买提・艾力", want: "买买提·艾力"},
		{in: "买买提•艾力", want: "买买提·艾力"},
		{in: "阿卜杜拉·买买提·艾力", want: "阿卜杜拉·买买提·艾力"},
		{in: "张〇", want: "张〇"},
		{in: "𠮷田", want: "𠮷田"},
		{in: long30, want: long30},
		{in: "", check: "required"},
		{in: "  ", check: "required"},
		{in: "Zhang San", check: "name_chars"},
		{in: "张3", check: "name_chars"},
		{in: "张 三", check: "name_chars"},
		{in: "张-三", check: "name_chars"},
		{in: "キム", check: "name_chars"},
		{in: "김철수", check: "name_chars"},
		{in: "张", check: "name_length"},
		{in: "·", check: "name_length"},
		{in: long30 + "张", check: "name_length"},
		{in: "·张三", check: "format"},
		{in: "张三·", check: "format"},
		{in: "张··三", check: "format"},
		{in: "张·•三", check: "format"},
		{in: "··", check: "format"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ValidateName(tc.in)
			if tc.check == "" {
				if err != nil || got != tc.want {
					t.Fatalf("ValidateName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
				return
			}
			ve, ok := platform.AsError(err)
			if !ok || ve.Field != "name" || ve.Check != tc.check || ve.Message == "" || got != "" {
				t.Fatalf("ValidateName(%q) = %q, %#v; want check %q", tc.in, got, err, tc.check)
			}
		})
	}
}

func TestMask(t *testing.T) {
	ids := []struct{ in, want string }{
		{"440106199001011234", "4401**********1234"},
		{"11010519491231002X", "1101**********002X"},
		{"123456789", "1234*6789"},
		{"12345678", "********"},
		{"123", "***"},
		{"", ""},
	}
	for _, tc := range ids {
		if got := MaskIDNumber(tc.in); got != tc.want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	names := []struct{ in, want string }{
		{"张三", "*三"},
		{"欧阳娜娜", "*阳娜娜"},
		{"买买提·艾力", "*买提·艾力"},
		{"张", "*"},
		{"", ""},
	}
	for _, tc := range names {
		if got := MaskName(tc.in); got != tc.want {
			t.Errorf("MaskName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShanghaiIsUTC8(t *testing.T) {
	// The future check relies on the Shanghai date; guard the zone it uses.
	if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, platform.Shanghai()).Zone(); off != 8*3600 {
		t.Fatalf("Shanghai offset %d", off)
	}
}
