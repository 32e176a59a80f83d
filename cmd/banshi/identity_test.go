package main

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// messageKinds returns the kinds of the messages on the caller's page.
func messageKinds(t *testing.T, s *stack, token string) []string {
	t.Helper()
	me := s.must(t, 200, s.call(t, "GET", "/api/v1/me", token, nil))
	msgs, _ := me.Body["sections"].(map[string]any)["messages"].([]any)
	var kinds []string
	for _, m := range msgs {
		k, _ := m.(map[string]any)["kind"].(string)
		kinds = append(kinds, k)
	}
	return kinds
}

// TestDeclarationYieldsToProof is issue 8's lock-out through the API: anyone
// who knew a citizen's ID number could declare it (level 2), and the citizen
// then got 409 realname_taken at levels 2, 3 and 4 and could never book. A
// proof (WeChat's check at level 3, or face verification at level 4) takes
// the number; the declarer falls back to level 1, is signed out everywhere
// and told in the inbox, and the revocation is an identity event.
func TestDeclarationYieldsToProof(t *testing.T) {
	s := getStack(t)
	for _, how := range []string{"check", "face"} {
		victim, attacker := s.newPerson(t), s.newPerson(t)
		at, al := s.login(t, attacker)
		vt, _ := s.login(t, victim)
		stolen := map[string]string{"name": victim.Name, "id_number": victim.IDNumber}
		s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/declare", at, stolen))

		// Declaration against declaration: still refused.
		if a := s.call(t, "POST", "/api/v1/me/realname/declare", vt, stolen); a.Status != 409 || a.errCode() != "realname_taken" {
			t.Fatalf("victim's declaration: %d %s", a.Status, a.Raw)
		}
		// Proof against declaration: the proof takes the number.
		var a answer
		want := "3"
		if how == "check" {
			rc := s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": victim.OpenID})).str("code")
			a = s.call(t, "POST", "/api/v1/me/realname/check", vt, map[string]string{"name": victim.Name, "id_number": victim.IDNumber, "code": rc})
		} else {
			want = "4"
			vid := s.must(t, 200, s.call(t, "POST", "/api/v1/me/realname/face/start", vt, stolen)).str("verify_id")
			s.must(t, 204, s.call(t, "POST", "/sim/wechat/face/"+vid+"/complete", "", map[string]string{"outcome": "success"}))
			a = s.call(t, "POST", "/api/v1/me/realname/face/finish", vt, map[string]string{"verify_id": vid})
		}
		if a.Status != 200 || a.str("user", "realname_level") != want {
			t.Fatalf("%s against a declaration: %d %s", how, a.Status, a.Raw)
		}

		// The declarer's sessions ended with the declaration.
		if a := s.call(t, "GET", "/api/v1/me", at, nil); a.Status != 401 {
			t.Fatalf("declarer's session after the revocation: %d %s", a.Status, a.Raw)
		}
		at2, login := s.login(t, attacker)
		if login.str("user", "realname_level") != "1" || login.str("user", "id_number_masked") != "" {
			t.Fatalf("declarer logs in again: %s", login.Raw)
		}
		if kinds := messageKinds(t, s, at2); len(kinds) == 0 || kinds[0] != "realname_declaration_revoked" {
			t.Fatalf("declarer's messages: %v", kinds)
		}
		if a := s.call(t, "POST", "/api/v1/me/realname/declare", at2, stolen); a.Status != 409 || a.errCode() != "realname_taken" {
			t.Fatalf("declaring a proven number: %d %s", a.Status, a.Raw)
		}
		me := s.must(t, 200, s.call(t, "GET", "/api/v1/me", vt, nil))
		if me.str("user", "realname_level") != want || strings.Contains(string(me.Raw), victim.IDNumber) {
			t.Fatalf("victim's page: %s", me.Raw)
		}

		var ev bson.M
		err := s.app.Mongo.DB.Collection("identity_events").FindOne(context.Background(),
			bson.M{"kind": "realname_declaration_revoked", "user_id": al.str("user", "id")}).Decode(&ev)
		if err != nil || ev["state"] != "done" || ev["other_user_id"] != a.str("user", "id") {
			t.Fatalf("identity event: %v, %v", ev, err)
		}
		for _, v := range ev {
			if str, ok := v.(string); ok && (strings.Contains(str, victim.IDNumber) || strings.Contains(str, victim.Name)) {
				t.Fatalf("identity event holds PII: %v", ev)
			}
		}
	}
}
