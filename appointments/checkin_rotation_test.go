package appointments

import (
	"bytes"
	"testing"
)

// TestCheckinKeyRotationOverlap: after the check-in key is rotated, QR
// payloads signed with the previous key still verify while it is
// configured; new payloads use the current key; a key never configured
// (or the previous one once removed) verifies nothing.
func TestCheckinKeyRotationOverlap(t *testing.T) {
	oldKey, newKey, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	body := qrPrefix + "ap_01.hall-tianhe.20261124"
	during := &Service{ckey: newKey, ckeyPrev: oldKey}
	after := &Service{ckey: newKey}
	for _, c := range []struct {
		name string
		s    *Service
		key  []byte
		want bool
	}{
		{"new key during the overlap", during, newKey, true},
		{"old key during the overlap", during, oldKey, true},
		{"unknown key during the overlap", during, other, false},
		{"new key after the overlap", after, newKey, true},
		{"old key after the overlap", after, oldKey, false},
	} {
		if got := c.s.qrSigned(body, qrSignature(c.key, body)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if during.qrSign(body) != qrSignature(newKey, body) {
		t.Fatal("new payloads are not signed with the current key")
	}
	if during.qrSigned(body+"x", qrSignature(oldKey, body)) {
		t.Fatal("a previous-key signature verifies another body")
	}
}
