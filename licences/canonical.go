package licences

import "banshi/licences/licsig"

// canonical writes v in canonical JSON (licsig.CanonicalJSON), v built by
// this package of strings and objects only: anything else is a programming
// error.
func canonical(v map[string]any) []byte {
	b, err := licsig.CanonicalJSON(v)
	if err != nil {
		panic("licences: " + err.Error())
	}
	return b
}

// CanonicalJSON returns the canonical form of v (licsig.CanonicalJSON).
func CanonicalJSON(v map[string]any) ([]byte, error) { return licsig.CanonicalJSON(v) }

// signable reports whether s needs no escape but \" and \\ (licsig.Signable).
func signable(s string) bool { return licsig.Signable(s) }
