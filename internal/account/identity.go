package account

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"banshi/internal/platform"
)

// Field names of the Invalid errors.
const (
	fieldName     = "name"
	fieldIDNumber = "id_number"
)

// Name length bounds, in runes (middle dots included).
const (
	minNameRunes = 2
	maxNameRunes = 30
)

// nameDot is the middle dot separating the parts of a minority name.
const nameDot = '·' // U+00B7

// checkDigits maps (weighted sum mod 11) to the check character (ISO 7064 MOD 11-2).
const checkDigits = "10X98765432"

func idError(check, msg string) error { return platform.Invalid(fieldIDNumber, check, msg) }

func nameError(check, msg string) error { return platform.Invalid(fieldName, check, msg) }

// ValidateIDNumber checks an 18-character resident ID number (GB 11643-1999)
// and returns it normalised (surrounding spaces trimmed, a final 'x' made 'X').
//
// Checks, in this order (the first that fails is reported as a
// platform.Invalid error with Field "id_number"):
//   - "required": empty;
//   - "length": not 18 characters;
//   - "format": the first 17 are not all ASCII digits, or the last is not a digit or X;
//   - "region": the first two digits are not a GB/T 2260 province code, or digits 3–6 are "0000";
//   - "birth_date": digits 7–14 are not a real calendar date (YYYYMMDD) from 1900 on;
//   - "birth_date_future": the birth date is after today (Asia/Shanghai date of now);
//   - "check_digit": the last character is not the ISO 7064 MOD 11-2 check digit.
func ValidateIDNumber(id string, now time.Time) (string, error) {
	id = normaliseIDNumber(id)
	if id == "" {
		return "", idError("required", "请填写身份证号")
	}
	if utf8.RuneCountInString(id) != 18 {
		return "", idError("length", "身份证号应为18位")
	}
	if len(id) != 18 || !allDigits(id[:17]) || !(isDigit(id[17]) || id[17] == 'X') {
		return "", idError("format", "身份证号前17位应为数字，最后一位为数字或X")
	}
	if !platform.IsProvinceCode(id[:2]) || id[2:6] == "0000" {
		return "", idError("region", "身份证号地区码无效")
	}
	birth, err := time.ParseInLocation("20060102", id[6:14], platform.Shanghai())
	if err != nil || birth.Year() < 1900 {
		return "", idError("birth_date", "身份证号中的出生日期无效")
	}
	today := now.In(platform.Shanghai())
	todayStart := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, platform.Shanghai())
	if birth.After(todayStart) {
		return "", idError("birth_date_future", "身份证号中的出生日期晚于今天")
	}
	if checkDigit(id[:17]) != id[17] {
		return "", idError("check_digit", "身份证号校验位错误")
	}
	return id, nil
}

// normaliseIDNumber trims surrounding spaces and upper-cases a final x. It does
// not validate.
func normaliseIDNumber(id string) string {
	return strings.ToUpper(strings.TrimSpace(id))
}

// WithCheckDigit returns first17 followed by its ISO 7064 MOD 11-2 check digit,
// giving a resident ID number that passes ValidateIDNumber when the region and
// birth date are plausible. Useful for demo data and tests, e.g.
// WithCheckDigit("11010519491231002") == "11010519491231002X".
// It panics unless first17 is exactly 17 ASCII digits.
func WithCheckDigit(first17 string) string {
	if len(first17) != 17 || !allDigits(first17) {
		panic(fmt.Sprintf("account.WithCheckDigit: want 17 digits, got %q", first17))
	}
	return first17 + string(checkDigit(first17))
}

// checkDigit computes the check character of 17 ASCII digits. The weight of
// the i-th digit (from 0) is 2^(17-i) mod 11.
func checkDigit(first17 string) byte {
	sum, w := 0, 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11
		sum += int(first17[i]-'0') * w
	}
	return checkDigits[sum%11]
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ValidateName checks a person's name as written on the resident ID card and
// returns it normalised: surrounding spaces trimmed and every middle-dot
// variant (· U+00B7, ・ U+30FB, • U+2022, ‧ U+2027, ･ U+FF65) made U+00B7.
//
// A valid name is 2–30 runes of Han characters, optionally split into parts
// by single middle dots (minority names such as 买买提·艾力). Failures are a
// platform.Invalid error with Field "name" and Check, in this order: "required"
// (empty), "name_chars" (anything but Han characters and dots, Latin letters
// and inner spaces included), "name_length" (fewer than 2 or more than 30
// runes), "format" (a dot at the start or end, or two dots in a row).
func ValidateName(name string) (string, error) {
	name = normaliseName(name)
	if name == "" {
		return "", nameError("required", "请填写姓名")
	}
	for _, r := range name {
		if r != nameDot && !unicode.Is(unicode.Han, r) {
			return "", nameError("name_chars", "姓名只能包含汉字和间隔号·")
		}
	}
	if n := utf8.RuneCountInString(name); n < minNameRunes || n > maxNameRunes {
		return "", nameError("name_length", "姓名应为2至30个字")
	}
	for _, part := range strings.Split(name, string(nameDot)) {
		if part == "" {
			return "", nameError("format", "间隔号·只能用于分隔姓名的各部分")
		}
	}
	return name, nil
}

// normaliseName trims surrounding spaces and unifies middle-dot variants. It
// does not validate.
func normaliseName(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u00B7', '\u30FB', '\u2022', '\u2027', '\uFF65':
			return nameDot
		}
		return r
	}, strings.TrimSpace(name))
}

// MaskIDNumber shows the first 4 and last 4 characters of an ID number and
// stars the rest: "440106199001011234" -> "4401**********1234". Input of 8
// characters or fewer becomes all stars (one per character).
func MaskIDNumber(id string) string {
	r := []rune(id)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}

// MaskName replaces the first rune of a name by '*': "张三" -> "*三",
// "欧阳娜娜" -> "*阳娜娜", "买买提·艾力" -> "*买提·艾力". An empty name stays empty.
func MaskName(name string) string {
	_, size := utf8.DecodeRuneInString(name)
	if size == 0 {
		return ""
	}
	return "*" + name[size:]
}
