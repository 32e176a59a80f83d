package evaluations

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzValidate holds Validate to its contract on any request body the API
// could decode: it never panics, and what it accepts has one subject, a
// known level, distinct indicators of that level's set for the subject's
// mode (one at least for a 差评) and a text within MaxText.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"subject":{"application_no":"A1"},"level":"satisfied","indicators":["overall"],"text":"好"}`))
	f.Add([]byte(`{"subject":{"appointment_id":"appt-1"},"level":"very_dissatisfied","indicators":["attitude","competence"]}`))
	f.Add([]byte(`{"subject":{"application_no":"A1","appointment_id":"x"},"level":"basic"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Request
		if json.Unmarshal(body, &r) != nil {
			return
		}
		kind, mode, err := r.Validate()
		if err != nil {
			return
		}
		if (r.Subject.ApplicationNo == "") == (r.Subject.AppointmentID == "") {
			t.Fatalf("accepted %+v without exactly one subject", r.Subject)
		}
		if (kind == KindAppointment) != (mode == ModeOnsite) || !ValidLevel(r.Level) {
			t.Fatalf("accepted kind %s mode %s level %q", kind, mode, r.Level)
		}
		set := IndicatorCodes(r.Level, mode)
		for i, c := range r.Indicators {
			if !slices.Contains(set, c) || slices.Contains(r.Indicators[:i], c) {
				t.Fatalf("accepted indicators %q", r.Indicators)
			}
		}
		if Bad(r.Level) && len(r.Indicators) == 0 {
			t.Fatal("accepted a 差评 without indicators")
		}
		if !utf8.ValidString(r.Text) || utf8.RuneCountInString(r.Text) > MaxText {
			t.Fatalf("accepted text of %d characters", utf8.RuneCountInString(r.Text))
		}
	})
}
