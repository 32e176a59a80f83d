package licences

import (
	"strings"

	"banshi/internal/platform"
	"banshi/licences/licsig"
)

// IdentifierPrefix starts every licence identifier (证照标识, GB/T 36903):
// the OID arc of China's e-licences.
const IdentifierPrefix = licsig.IdentifierPrefix

// MaxIdentifier bounds an identifier's length in bytes.
const MaxIdentifier = 128

// The checks ParseIdentifier reports (platform.Error.Check), in the order it
// makes them.
const (
	CheckStructure = "structure"       // not ten non-empty dot-separated parts, or too long
	CheckPrefix    = "prefix"          // the first five parts are not 1.2.156.3005.2
	CheckTypeCode  = "type_code"       // not a defining authority's USCC + 3 digits
	CheckIssuer    = "issuer_code"     // not a well-formed USCC
	CheckSerial    = "serial"          // not 1–32 characters of 0-9 A-Z
	CheckVersion   = "version"         // not 3 digits from 001
	CheckCheckChar = "check_character" // not the ISO/IEC 7064 MOD 37,36 check character
)

// Identifier is a licence identifier that passed ParseIdentifier.
type Identifier struct {
	Full     string // the identifier as given
	TypeCode string // 21 characters: the defining authority's USCC and a 3-digit sequence
	Issuer   string // the issuing authority's USCC (18)
	Serial   string
	Version  string // 3 digits
	Check    byte
}

// String returns the identifier.
func (id Identifier) String() string { return id.Full }

// DefiningAuthority is the USCC the type code starts with.
func (id Identifier) DefiningAuthority() string { return id.TypeCode[:18] }

// CheckCharacter returns the ISO/IEC 7064 MOD 37,36 check character of s
// (licsig.CheckCharacter).
func CheckCharacter(s string) (byte, bool) { return licsig.CheckCharacter(s) }

// WithCheck builds an identifier from its parts (licsig.WithCheck).
func WithCheck(typeCode, issuer, serial, version string) string {
	return licsig.WithCheck(typeCode, issuer, serial, version)
}

// ParseIdentifier checks s as a licence identifier
// 1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check> and
// returns its parts. s is taken as it is (callers trim it).
//
// A malformed identifier is a platform.Invalid error with Field field and
// Check, the first that fails in this order:
//   - CheckStructure: not ten non-empty parts separated by dots, or longer
//     than MaxIdentifier;
//   - CheckPrefix: the first five parts are not 1.2.156.3005.2;
//   - CheckTypeCode: not 21 characters, a USCC (platform.ParseUSCC's
//     structure checks; a wrong final check character is accepted, as
//     everywhere) followed by three digits;
//   - CheckIssuer: not a USCC passing platform.ParseUSCC;
//   - CheckSerial: not 1–32 characters of 0-9 A-Z;
//   - CheckVersion: not three digits, or 000;
//   - CheckCheckChar: not one character, or not the ISO/IEC 7064 MOD 37,36
//     check character of type code + issuer code + serial + version.
func ParseIdentifier(field, s string) (Identifier, error) {
	bad := func(check, msg string) (Identifier, error) {
		return Identifier{}, platform.Invalid(field, check, msg)
	}
	if len(s) > MaxIdentifier {
		return bad(CheckStructure, "证照标识过长")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 10 {
		return bad(CheckStructure, "证照标识应为 1.2.156.3005.2.类型代码.颁发机构代码.顺序号.版本号.校验位")
	}
	for _, p := range parts {
		if p == "" {
			return bad(CheckStructure, "证照标识含有空的分段")
		}
	}
	if strings.Join(parts[:5], ".") != IdentifierPrefix {
		return bad(CheckPrefix, "证照标识应以 1.2.156.3005.2 开头")
	}
	typeCode, issuer, serial, version, check := parts[5], parts[6], parts[7], parts[8], parts[9]
	if len(typeCode) != 21 || !allDigits(typeCode[18:]) {
		return bad(CheckTypeCode, "证照类型代码应为定义机构的统一社会信用代码加 3 位数字")
	}
	if _, err := platform.ParseUSCC(typeCode[:18]); err != nil {
		return bad(CheckTypeCode, "证照类型代码中的统一社会信用代码有误")
	}
	if _, err := platform.ParseUSCC(issuer); err != nil {
		return bad(CheckIssuer, "颁发机构代码应为统一社会信用代码")
	}
	if len(serial) > 32 || !alnumUpper(serial) {
		return bad(CheckSerial, "证照顺序号应为 1 至 32 位数字或大写字母")
	}
	if len(version) != 3 || !allDigits(version) || version == "000" {
		return bad(CheckVersion, "证照版本号应为 3 位数字，从 001 起")
	}
	want, _ := CheckCharacter(typeCode + issuer + serial + version)
	if len(check) != 1 || check[0] != want {
		return bad(CheckCheckChar, "证照标识校验位不正确")
	}
	return Identifier{Full: s, TypeCode: typeCode, Issuer: issuer, Serial: serial, Version: version, Check: want}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func alnumUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(licsig.Mod3736Alphabet, s[i]) < 0 {
			return false
		}
	}
	return s != ""
}
