package platform

import (
	"strings"
	"unicode"
)

// CSVSafe defuses a cell a spreadsheet would evaluate (CSV injection): a
// cell whose first character that is not blank — spaces, tabs, no-break and
// ideographic spaces, zero-width and other invisible format characters,
// which spreadsheets skip or users do not see — is = + - @ or a line break,
// or that starts with a tab or carriage return, is prefixed with an
// apostrophe (its text is kept as it is). Every CSV export of Banshi passes
// each cell through it.
func CSVSafe(v string) string {
	rest := strings.TrimLeftFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || r == '\u00a0' || r == '\u3000'
	})
	if rest != "" && strings.ContainsRune("=+-@\t\r\n", []rune(rest)[0]) {
		return "'" + v
	}
	if rest != v && v != "" && strings.ContainsRune("\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
