package alipay

import (
	"strings"
	"time"

	"banshi/internal/platform"
)

// maxYuanDigits bounds the integer part of an amount: 12 digits of yuan
// keep every fen value far inside int64.
const maxYuanDigits = 12

// fenOf parses a non-negative Alipay amount ("0.01", "12", "12.3",
// "12.30") into fen, exactly, without floats; ok is false for anything
// else: signs, spaces, exponents, more than two decimals, more than 12
// integer digits, an empty part around the dot.
func fenOf(s string) (int64, bool) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxYuanDigits || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, false
	}
	var fen int64
	for i := 0; i < len(whole); i++ {
		c := whole[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		fen = fen*10 + int64(c-'0')
	}
	frac += "00"[:2-len(frac)]
	for i := 0; i < 2; i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		fen = fen*10 + int64(c-'0')
	}
	return fen, true
}

// signedFenOf parses an amount that may be negative ("-0.40"), as bill
// rows have them.
func signedFenOf(s string) (int64, bool) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		fen, ok := fenOf(rest)
		return -fen, ok
	}
	return fenOf(s)
}

// parseTime reads Alipay's "yyyy-MM-dd HH:mm:ss" (optionally with
// fractional seconds) in Asia/Shanghai, returned in UTC.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, platform.Shanghai())
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
