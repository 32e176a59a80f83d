package enterprises

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseRecord: any registry answer either parses into a record of the
// code asked, with every field Claim relies on present, or is an error that
// quotes nothing of the answer; never a panic.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"uscc":"91440101MA5CXXXX7X","name":"广州某某科技有限公司","status":"存续","legal_representative":{"name":"张三","id_number":"11010519491231002x"}}`), "91440101MA5CXXXX7X")
	f.Add([]byte(`{"uscc":"91440101MA5CXXXX7X"}`), "91440101MA5CXXXX7X")
	f.Add([]byte(`[]`), "91440101MA5CXXXX7X")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, body []byte, uscc string) {
		rec, err := parseRecord(body, uscc)
		if err != nil {
			if len(body) > 8 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error quotes the answer: %v", err)
			}
			return
		}
		if rec.USCC != uscc || rec.Name == "" || !utf8.ValidString(rec.Name) || utf8.RuneCountInString(rec.Name) > maxNameRunes ||
			rec.Status == "" || rec.LegalRepresentative.Name == "" || rec.LegalRepresentative.IDNumber == "" {
			t.Fatalf("accepted %+v for %q", rec, uscc)
		}
	})
}
