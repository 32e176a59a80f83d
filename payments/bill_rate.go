package payments

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Permille is a daily late-fee rate in hundredths of a permille (0.01‰ =
// 1/100,000 a day), so that the rates departments use are exact: 万分之五
// (0.5‰, taxes and social insurance) is 50, the 3 % a day of a traffic
// fine's 加处罚款 (30‰) is 3000. In JSON it is the permille itself, a number
// with at most two decimals (0.5, 30, 0.05); nothing finer exists, so no
// rounding ever happens on the way in.
type Permille int64

// PermilleScale is how many units of Permille make one ‰.
const PermilleScale = 100

// permilleNumber: a JSON number of at most four integer digits and two
// decimals, no sign, no exponent.
var permilleNumber = regexp.MustCompile(`^(0|[1-9][0-9]{0,3})(\.[0-9]{1,2})?$`)

// errPermilleSyntax is what UnmarshalJSON returns for anything but such a
// number; ParseBillEvent names the field.
var errPermilleSyntax = errors.New("permille: a number of ‰ with at most two decimals")

// UnmarshalJSON reads a permille number (0.5, 30, 0.05).
func (p *Permille) UnmarshalJSON(b []byte) error {
	s := string(b)
	if !permilleNumber.MatchString(s) {
		return errPermilleSyntax
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	*p = Permille(w*PermilleScale + f)
	return nil
}

// MarshalJSON writes the permille number, without trailing zeros.
func (p Permille) MarshalJSON() ([]byte, error) { return []byte(p.String()), nil }

// String is the permille as a decimal number ("0.5", "30", "0.05").
func (p Permille) String() string {
	sign := ""
	v := int64(p)
	if v < 0 {
		sign, v = "-", -v
	}
	s := sign + strconv.FormatInt(v/PermilleScale, 10)
	if f := v % PermilleScale; f != 0 {
		s += strings.TrimRight("."+strconv.FormatInt(f+PermilleScale, 10)[1:], "0")
	}
	return s
}
