package subscribe

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"banshi/internal/platform"
)

// Field types of subscribe templates (a key's type is the key without its
// trailing digits: "thing1" is a thing).
const (
	TypeThing           = "thing"
	TypeNumber          = "number"
	TypeLetter          = "letter"
	TypeSymbol          = "symbol"
	TypeCharacterString = "character_string"
	TypePhrase          = "phrase"
	TypeName            = "name"
	TypeAmount          = "amount"
	TypePhoneNumber     = "phone_number"
	TypeCarNumber       = "car_number"
	TypeTime            = "time"
	TypeDate            = "date"
	TypeEnum            = "enum"
)

// KeyType returns the type of template key key: the key without its
// trailing digits.
func KeyType(key string) string { return strings.TrimRightFunc(key, unicode.IsDigit) }

var numberRun = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// Fit returns value made acceptable to WeChat as a value of fieldType
// (reference: wechat.md, "Data value rules"; lengths are characters, not
// bytes), or "" when nothing acceptable can be made of it (a phrase without
// a Chinese character, a time that does not parse): the caller then uses
// the field's default, or does not send. Control characters go and runs of
// spaces become one first. A thing longer than 20 characters is cut to 19
// and "…"; a phrase keeps only its Chinese characters (≤ 5); a
// character_string only digits, letters and ASCII symbols (≤ 32); times
// (RFC 3339, "2006-01-02 15:04", a date, …) are shown in Asia/Shanghai as
// "2019年10月1日 15:01" (a date as "2019年10月1日"). An enum's values are the
// template's own: see Field.Fit. A 47003 from WeChat is Banshi's bug, and
// the fuzz test holds Fit to the simulator's checker.
func Fit(fieldType, value string) string {
	v := clean(value)
	if v == "" {
		return ""
	}
	var out string
	switch fieldType {
	case TypeNumber:
		out = fitNumber(v, 32)
	case TypeLetter:
		out = truncate(keep(v, isLetter), 32)
	case TypeSymbol:
		out = truncate(keep(v, isSymbol), 5)
	case TypeCharacterString:
		out = truncate(keep(v, func(r rune) bool { return isDigit(r) || isLetter(r) || isSymbol(r) }), 32)
	case TypePhrase:
		out = truncate(keep(v, isHan), 5)
	case TypeName:
		out = fitName(v)
	case TypeAmount:
		out = fitAmount(v)
	case TypePhoneNumber:
		out = truncate(keep(v, func(r rune) bool { return isDigit(r) || isSymbol(r) }), 17)
	case TypeCarNumber:
		out = truncate(keep(v, func(r rune) bool { return isDigit(r) || isLetter(r) || isHan(r) }), 8)
	case TypeTime, TypeDate:
		out = fitTime(v, fieldType == TypeDate)
	case TypeEnum:
		out = v
	default: // thing, and types without a rule beyond "not empty"
		out = fitThing(v)
	}
	if strings.TrimSpace(out) == "" {
		return ""
	}
	return out
}

// clean drops control characters, turns runs of white space into one space
// and trims.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r) || r == utf8.RuneError || !unicode.IsPrint(r):
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

func keep(s string, ok func(rune) bool) string {
	var b strings.Builder
	for _, r := range s {
		if ok(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncate keeps the first n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func fitThing(v string) string {
	if utf8.RuneCountInString(v) <= 20 {
		return v
	}
	return strings.TrimRight(string([]rune(v)[:19]), " ") + "…"
}

// fitNumber is the first number in v, its fraction dropped when it does not
// fit in n characters; "" when even its integer part does not.
func fitNumber(v string, n int) string {
	m := numberRun.FindString(v)
	if len(m) <= n {
		return m
	}
	whole, _, _ := strings.Cut(m, ".")
	if len(whole) > n {
		return ""
	}
	return whole
}

func fitName(v string) string {
	if strings.ContainsFunc(v, isHan) {
		return strings.Trim(truncate(keep(v, func(r rune) bool { return isHan(r) || r == '·' }), 10), "·")
	}
	letters := strings.Join(strings.Fields(keep(v, func(r rune) bool { return isLetter(r) || r == ' ' })), " ")
	return strings.TrimSpace(truncate(letters, 20))
}

var amountPattern = regexp.MustCompile(`^[¥￥$€£]?[0-9]+(\.[0-9]+)?元?$`)

// fitAmount keeps an amount already written as WeChat wants it (¥12.50,
// 12.50元); otherwise it is its first number followed by 元. At most 10
// digits.
func fitAmount(v string) string {
	v = strings.NewReplacer(",", "", " ", "", "，", "").Replace(v)
	if amountPattern.MatchString(v) && countDigits(v) <= 10 {
		return v
	}
	m := numberRun.FindString(v)
	if m == "" {
		return ""
	}
	whole, frac, _ := strings.Cut(m, ".")
	switch {
	case len(whole) > 10:
		return ""
	case len(whole)+len(frac) > 10:
		frac = frac[:10-len(whole)]
	}
	if frac != "" {
		whole += "." + frac
	}
	return whole + "元"
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if isDigit(r) {
			n++
		}
	}
	return n
}

// timeLayouts are the forms a time arrives in Message.Data, tried in order;
// those without an offset are Asia/Shanghai.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006/01/02 15:04", "2006年1月2日 15:04", "2006-01-02", "2006/01/02", "2006年1月2日",
}

// fitTime shows v, a time in one of timeLayouts (or starting with
// "2006-01-02 15:04", as the "09:00-09:30" ranges of appointments do), as
// WeChat's 24-hour form in Asia/Shanghai; a bare "15:04" stays as it is.
func fitTime(v string, dateOnly bool) string {
	loc := platform.Shanghai()
	if t, err := time.ParseInLocation("15:04", v, loc); err == nil && !dateOnly {
		return t.Format("15:04")
	}
	for _, layout := range timeLayouts {
		t, err := time.ParseInLocation(layout, v, loc)
		if err != nil && len(v) > len(layout) && strings.HasPrefix(layout, "2006-01-02") && !strings.Contains(layout, "T") {
			t, err = time.ParseInLocation(layout, v[:len(layout)], loc)
		}
		if err != nil {
			continue
		}
		if t = t.In(loc); t.Year() < 1000 || t.Year() > 9999 {
			return ""
		}
		if dateOnly {
			return t.Format("2006年1月2日")
		}
		return t.Format("2006年1月2日 15:04")
	}
	return ""
}

func isDigit(r rune) bool  { return r >= '0' && r <= '9' }
func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isHan(r rune) bool    { return unicode.Is(unicode.Han, r) }

// isSymbol: ASCII punctuation and symbols.
func isSymbol(r rune) bool { return r < utf8.RuneSelf && (unicode.IsPunct(r) || unicode.IsSymbol(r)) }
