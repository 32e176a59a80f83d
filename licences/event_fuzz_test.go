package licences

import (
	"strings"
	"testing"

	"banshi/internal/platform"
)

// FuzzParseEvent: ParseEvent never panics; it refuses with a platform.Invalid
// naming a field, or returns an event whose metadata encodes canonically
// and whose identifier, type code, version and issuer agree.
func FuzzParseEvent(f *testing.F) {
	f.Add(string(event(f, testKey, "e1", ActionIssue, licence("2430599"))))
	f.Add(`{"event_id":"e","action":"revoke","licence":{},"signature":{}}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := ParseEvent([]byte(body), testNow)
		if err != nil {
			pe, ok := platform.AsError(err)
			if !ok || pe.Code != platform.CodeInvalid || pe.Field == "" {
				t.Fatalf("%q: unexpected error %v", body, err)
			}
			return
		}
		m := ev.Licence
		if m.TypeCode != ev.ID.TypeCode || m.Version != ev.ID.Version || m.IssuingAuthority.Code != ev.ID.Issuer ||
			!strings.HasPrefix(string(m.Canonical()), `{"area_code":`) || len(ev.Signature.Value) == 0 {
			t.Fatalf("%q accepted as %+v", body, ev)
		}
	})
}

// FuzzParseCopyRequest: parseCopyRequest never panics and refuses with a
// platform.Invalid, or returns a request of the right shapes.
func FuzzParseCopyRequest(f *testing.F) {
	f.Add(`{"event_id":"c1","authorization_id":"la_0123456789abcdef01234567"}`)
	f.Add(`{"event_id":"","authorization_id":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		r, err := parseCopyRequest([]byte(body))
		if err != nil {
			if pe, ok := platform.AsError(err); !ok || pe.Code != platform.CodeInvalid {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		if !eventIDPattern.MatchString(r.EventID) || !authIDPattern.MatchString(r.AuthorizationID) {
			t.Fatalf("%q accepted as %+v", body, r)
		}
	})
}
