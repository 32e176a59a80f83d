package licsig

import "strings"

// IdentifierPrefix starts every licence identifier (证照标识, GB/T 36903).
const IdentifierPrefix = "1.2.156.3005.2"

// Mod3736Alphabet is ISO/IEC 7064 MOD 37,36's character set; a character's
// value is its index.
const Mod3736Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// CheckCharacter returns the ISO/IEC 7064 MOD 37,36 (hybrid system, M = 36)
// check character of s, or false when s is empty or has a character outside
// 0-9 A-Z.
func CheckCharacter(s string) (byte, bool) {
	const m = 36
	if s == "" {
		return 0, false
	}
	p := m
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(Mod3736Alphabet, s[i])
		if v < 0 {
			return 0, false
		}
		p = (p + v) % m
		if p == 0 {
			p = m
		}
		p = (p * 2) % (m + 1)
	}
	return Mod3736Alphabet[(m+1-p)%m], true
}

// WithCheck builds an identifier from its parts, computing the check
// character (for issuers: the department simulator, tests). It does not
// validate the parts.
func WithCheck(typeCode, issuer, serial, version string) string {
	c, _ := CheckCharacter(typeCode + issuer + serial + version)
	return IdentifierPrefix + "." + typeCode + "." + issuer + "." + serial + "." + version + "." + string(c)
}
