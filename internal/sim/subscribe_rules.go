package sim

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keyKind is the kind of a template key: the key without its trailing
// digits ("thing3" → "thing").
func keyKind(key string) string { return strings.TrimRightFunc(key, unicode.IsDigit) }

// Patterns of the data value rules (reference: "Data value rules").
var (
	numberPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	amountPattern = regexp.MustCompile(`^[¥￥$€£]?[0-9]+(\.[0-9]+)?元?$`)
	// Dates Y年M月D日, Y-M-D or Y/M/D, optionally followed by a 24-hour time;
	// or a time alone. Ranges are checked after the match.
	timePattern = regexp.MustCompile(`^(?:(\d{4})(?:年(\d{1,2})月(\d{1,2})日|-(\d{1,2})-(\d{1,2})|/(\d{1,2})/(\d{1,2})))?(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?$`)
)

// checkValue checks one data value against the rule of its key's kind; it
// returns "" or what is wrong, for 47003's errmsg. Values are characters
// (runes), not bytes. Kinds without a rule are only checked for emptiness.
func checkValue(key, value string, enums []string) string {
	n := utf8.RuneCountInString(value)
	switch keyKind(key) {
	case "thing":
		return limit(n, 20)
	case "number":
		if !numberPattern.MatchString(value) {
			return "must be digits"
		}
		return limit(n, 32)
	case "letter":
		if !every(value, isLetter) {
			return "must be letters"
		}
		return limit(n, 32)
	case "symbol":
		if !every(value, isSymbol) {
			return "must be symbols"
		}
		return limit(n, 5)
	case "character_string":
		if !every(value, func(r rune) bool { return isDigit(r) || isLetter(r) || isSymbol(r) }) {
			return "must be digits, letters or symbols"
		}
		return limit(n, 32)
	case "phrase":
		if !every(value, isHan) {
			return "must be Chinese characters"
		}
		return limit(n, 5)
	case "name":
		switch {
		case every(value, func(r rune) bool { return isHan(r) || r == '·' }):
			return limit(n, 10)
		case every(value, func(r rune) bool { return isLetter(r) || r == ' ' }):
			return limit(n, 20)
		}
		return "must be Chinese characters or letters"
	case "amount":
		digits := 0
		for _, r := range value {
			if isDigit(r) {
				digits++
			}
		}
		if !amountPattern.MatchString(value) {
			return "must be an amount such as ¥12.50 or 12.50元"
		}
		return limit(digits, 10)
	case "phone_number":
		if !every(value, func(r rune) bool { return isDigit(r) || isSymbol(r) }) {
			return "must be digits and symbols"
		}
		return limit(n, 17)
	case "car_number":
		if !every(value, func(r rune) bool { return isDigit(r) || isLetter(r) || isHan(r) }) {
			return "must be a licence plate"
		}
		return limit(n, 8)
	case "time", "date":
		if !validTime(value) {
			return "must be a 24-hour time, optionally with a date, such as 2019年10月1日 15:01"
		}
	case "enum":
		if !slices.Contains(enums, value) {
			return "must be one of the template's values"
		}
	}
	return ""
}

// limit is "" when n ≤ max, else "exceeds limit".
func limit(n, max int) string {
	if n > max {
		return "exceeds limit"
	}
	return ""
}

func every(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isDigit(r rune) bool  { return r >= '0' && r <= '9' }
func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isHan(r rune) bool    { return unicode.Is(unicode.Han, r) }

// isSymbol: ASCII punctuation and symbols (not letters, digits or spaces).
func isSymbol(r rune) bool { return r < utf8.RuneSelf && (unicode.IsPunct(r) || unicode.IsSymbol(r)) }

// validTime reports a 24-hour time, a date, or a date with a time, whose
// numbers are in range.
func validTime(s string) bool {
	m := timePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || strings.TrimSpace(s) == "" {
		return false
	}
	num := func(i int) int {
		v := 0
		for _, c := range m[i] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	for _, md := range [][2]int{{2, 3}, {4, 5}, {6, 7}} {
		if m[md[0]] != "" && (num(md[0]) < 1 || num(md[0]) > 12 || num(md[1]) < 1 || num(md[1]) > 31) {
			return false
		}
	}
	if m[8] != "" && (num(8) > 23 || num(9) > 59 || (m[10] != "" && num(10) > 59)) {
		return false
	}
	return m[1] != "" || m[8] != ""
}

// CheckSubscribeValue checks value as subscribe/send checks the value of
// template key key (its kind is the key without trailing digits: "thing3"
// is a thing; a bare kind such as "thing" works too), enums being the
// template's values of an enum key. It returns "" when WeChat would accept
// the value, else what 47003's errmsg would say. Exported so that Banshi's
// value fitting can be tested against the very rules the simulator enforces.
func CheckSubscribeValue(key, value string, enums []string) string {
	if strings.TrimSpace(value) == "" {
		return "is empty"
	}
	return checkValue(key, value, enums)
}
