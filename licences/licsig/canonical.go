package licsig

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Canonical JSON (DESIGN.md, 电子证照): what issuers and Banshi sign. An
// object is written with its keys sorted by their bytes, no whitespace
// anywhere, a key omitted when its value is absent; values are strings or
// objects only. A string is written in UTF-8 between double quotes with only
// `"` and `\` escaped (as \" and \\); the strings signed never hold control
// characters, U+2028 or U+2029 (the parsers refuse them), so no other escape
// can occur. Banshi never re-encodes with encoding/json, whose escaping of
// <, > and & would change the bytes.

// CanonicalJSON returns the canonical form of v, whose values must be
// strings or objects (map[string]any, map[string]string) of the same kind:
// what a licence's issuer, or a department checking a copy, signs and
// verifies. Errors: a value of another type (a number, an array, null).
func CanonicalJSON(v map[string]any) ([]byte, error) {
	var b strings.Builder
	if err := writeObject(&b, v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func writeObject(b *strings.Builder, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		switch x := m[k].(type) {
		case string:
			writeString(b, x)
		case map[string]string:
			sub := make(map[string]any, len(x))
			for k, v := range x {
				sub[k] = v
			}
			if err := writeObject(b, sub); err != nil {
				return err
			}
		case map[string]any:
			if err := writeObject(b, x); err != nil {
				return err
			}
		default:
			return errors.New("canonical JSON: " + k + " is neither a string nor an object")
		}
	}
	b.WriteByte('}')
	return nil
}

func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			// Never reached for validated input; written unambiguously anyway.
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)) + h)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// Signable reports whether s is valid UTF-8 without control characters,
// U+2028 or U+2029: a string canonical writes without escapes beyond \" and \\.
func Signable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			return false
		}
	}
	return true
}
