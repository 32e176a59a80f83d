package sim

import (
	"strings"
	"testing"
)

// FuzzValidateSend: the messages:send validator never panics, and whatever
// it accepts keeps FCM's rules: one target, string data under keys that are
// not reserved, at most 4096 bytes of text.
func FuzzValidateSend(f *testing.F) {
	f.Add([]byte(`{"message":{"token":"abc:APA91b","data":{"kind":"x","application_no":"A1"},"notification":{"title":"t","body":"b"}}}`))
	f.Add([]byte(`{"validate_only":true,"message":{"topic":"news"}}`))
	f.Add([]byte(`{"message":{"token":"a","topic":"b"}}`))
	f.Add([]byte(`{"message":{"token":"a","data":{"from":"x"}}}`))
	f.Add([]byte(`{"message":{"token":"a","data":{"n":1}}}`))
	f.Add([]byte(`{"message":null}`))
	f.Add([]byte(`{"message":{"token":"a","unknown":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, _, problem := validateSend(body)
		if problem != "" {
			return
		}
		targets := 0
		for _, s := range []string{msg.Token, msg.Topic, msg.Condition} {
			if s != "" {
				targets++
			}
		}
		if targets != 1 {
			t.Fatalf("accepted %d targets: %q", targets, body)
		}
		if msg.Token != "" && !fcmTokenShaped(msg.Token) {
			t.Fatalf("accepted token %q", msg.Token)
		}
		size := 0
		for k, v := range msg.Data {
			if reservedDataKey(k) {
				t.Fatalf("accepted reserved key %q", k)
			}
			size += len(k) + len(v)
		}
		if n := msg.Notification; n != nil {
			size += len(n.Title) + len(n.Body) + len(n.Image)
		}
		if size > maxFCMPayload {
			t.Fatalf("accepted %d bytes", size)
		}
	})
}

// FuzzParseJWT: the assertion parser never panics, and what it accepts is
// an RS256 compact JWS whose signing input is the assertion's first two
// parts.
func FuzzParseJWT(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhQGIiLCJleHAiOjF9.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b")
	f.Add("..")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOiJzb29uIn0.AA")
	f.Fuzz(func(t *testing.T, assertion string) {
		p, err := parseJWT(assertion)
		if err != nil {
			return
		}
		if p.header.Alg != "RS256" || !strings.HasPrefix(assertion, p.signingInput+".") || strings.Count(assertion, ".") != 2 {
			t.Fatalf("accepted %q", assertion)
		}
	})
}
