package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/staff"
)

// demoFavorite is a service item code the demo halls serve.
const demoFavorite = "11440106007482133H4440111009000"

// realnameCode asks the simulated WeChat for a fresh real-name consent code
// of p (what the mini-program's real-name authorisation gives).
func (s *stack) realnameCode(t testing.TB, p person) string {
	t.Helper()
	return s.must(t, 200, s.call(t, "POST", "/sim/wechat/realname-codes", "", map[string]string{"openid": p.OpenID})).str("code")
}

// TestConsentsRecordedAndWithdrawn: accepting a subscribe template records a
// consent of that version; withdrawing it zeroes the credits; bad
// withdrawals are 4xx and change nothing.
func TestConsentsRecordedAndWithdrawn(t *testing.T) {
	s := getStack(t)
	_, token := levelThree(t, s)
	_, other := levelThree(t, s)
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/subscriptions", token,
		map[string]string{"DEMO-APPOINTMENT-BOOKED": "accept", "errMsg": "requestSubscribeMessage:ok"}))
	list := s.must(t, 200, s.call(t, "GET", apiV1+"/me/consents", token, nil))
	consents, _ := list.Body["consents"].([]any)
	if len(consents) != 1 {
		t.Fatalf("consents: %s", list.Raw)
	}
	c := consents[0].(map[string]any)
	if c["purpose"] != "subscribe_messages" || c["ref"] != "DEMO-APPOINTMENT-BOOKED" || c["version"] == "" {
		t.Fatalf("consent: %s", list.Raw)
	}
	id := c["id"].(string)

	// Someone else's consent, or none: 404, nothing withdrawn.
	s.must(t, 404, s.call(t, "POST", apiV1+"/me/consents/"+id+"/withdraw", other, nil))
	s.must(t, 404, s.call(t, "POST", apiV1+"/me/consents/cs_unknown/withdraw", token, nil))
	if n := s.countWhere(t, "consents", bson.M{"_id": id, "withdrawn_at": bson.M{"$exists": true}}); n != 0 {
		t.Fatalf("a refused withdrawal withdrew the consent")
	}

	w := s.must(t, 200, s.call(t, "POST", apiV1+"/me/consents/"+id+"/withdraw", token, nil))
	if w.str("withdrawn_at") == "" {
		t.Fatalf("withdraw: %s", w.Raw)
	}
	var credit struct {
		Count int `bson:"count"`
	}
	if err := s.app.Mongo.DB.Collection("subscribe_credits").FindOne(context.Background(),
		bson.M{"template_id": "DEMO-APPOINTMENT-BOOKED", "user_id": s.userID(t, token)}).Decode(&credit); err != nil {
		t.Fatal(err)
	}
	if credit.Count != 0 {
		t.Fatalf("withdrawn subscribe consent left %d credits", credit.Count)
	}
	e := s.must(t, 409, s.call(t, "POST", apiV1+"/me/consents/"+id+"/withdraw", token, nil))
	if e.str("error", "code") != "consent_withdrawn" {
		t.Fatalf("second withdrawal: %s", e.Raw)
	}
}

// userID is the id of the citizen holding token.
func (s *stack) userID(t testing.TB, token string) string {
	t.Helper()
	id := s.must(t, 200, s.call(t, "GET", apiV1+"/me", token, nil)).str("user", "id")
	if id == "" {
		t.Fatal("GET /me shows no user id")
	}
	return id
}

// TestExportNeedsAFreshCheckAndHoldsEverything: the export is refused
// without a fresh real-name check (no code, a used code, no proven
// identity) and otherwise holds the identity in clear and the citizen's
// data, never cached.
func TestExportNeedsAFreshCheckAndHoldsEverything(t *testing.T) {
	s := getStack(t)
	p, token := levelThree(t, s)
	s.must(t, 200, s.call(t, "PUT", apiV1+"/me/favorites", token, map[string][]string{"service_codes": {demoFavorite}}))

	used := s.realnameCode(t, p)
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/export", token, map[string]string{"code": used}))
	lowly := s.newPerson(t)
	lowToken := s.loginFrom(t, lowly)
	for _, tc := range []struct {
		name, token, code, want string
		status                  int
	}{
		{"no code", token, "", "fresh_check_required", 403},
		{"a used code", token, used, "fresh_check_required", 403},
		{"an invented code", token, "not-a-code", "fresh_check_required", 403},
		{"no proven identity", lowToken, s.realnameCode(t, lowly), "realname_required", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.must(t, tc.status, s.call(t, "POST", apiV1+"/me/export", tc.token, map[string]string{"code": tc.code}))
			if a.str("error", "code") != tc.want {
				t.Fatalf("%s", a.Raw)
			}
		})
	}

	a := s.must(t, 200, s.call(t, "POST", apiV1+"/me/export", token, map[string]string{"code": s.realnameCode(t, p)}))
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if a.str("categories", "account", "name") != p.Name || a.str("categories", "account", "id_number") != p.IDNumber {
		t.Fatalf("the owner's export shows the identity in clear: %s", a.Raw)
	}
	if a.str("categories", "account", "realname_level") != "3" || a.str("format") != "banshi-personal-data/1" {
		t.Fatalf("export: %s", a.Raw)
	}
	cats, _ := a.Body["categories"].(map[string]any)
	for _, want := range []string{"favorites", "notification_preferences", "devices", "appointments", "messages",
		"applications", "bills_and_payments", "enterprises", "licences", "evaluations", "consents"} {
		if _, ok := cats[want]; !ok {
			t.Errorf("export lacks %s", want)
		}
	}
	if favs, _ := cats["favorites"].([]any); len(favs) != 1 || favs[0] != demoFavorite {
		t.Errorf("favorites: %v", cats["favorites"])
	}
}

// TestDeleteErasesAndANewLoginStartsAfresh: deletion without a fresh check
// changes nothing; with one it ends the sessions, erases what Banshi alone
// holds, says what it kept and why, releases the ID number, and the same
// WeChat user logging in again is a new account at level 1 that may prove
// the same ID number.
func TestDeleteErasesAndANewLoginStartsAfresh(t *testing.T) {
	s := getStack(t)
	p, token := levelThree(t, s)
	uid := s.userID(t, token)
	s.must(t, 200, s.call(t, "PUT", apiV1+"/me/favorites", token, map[string][]string{"service_codes": {demoFavorite}}))
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/subscriptions", token,
		map[string]string{"DEMO-APPOINTMENT-BOOKED": "accept", "errMsg": "requestSubscribeMessage:ok"}))

	for _, code := range []string{"", "not-a-code"} {
		a := s.must(t, 403, s.call(t, "DELETE", apiV1+"/me", token, map[string]string{"code": code}))
		if a.str("error", "code") != "fresh_check_required" {
			t.Fatalf("%s", a.Raw)
		}
	}
	if s.userID(t, token) != uid || s.countWhere(t, "citizen_pages", bson.M{"_id": uid}) != 1 ||
		s.countWhere(t, "privacy_requests", bson.M{"user_id": uid}) != 0 {
		t.Fatal("a refused deletion changed something")
	}

	d := s.must(t, 200, s.call(t, "DELETE", apiV1+"/me", token, map[string]string{"code": s.realnameCode(t, p)}))
	kept := map[string]string{}
	erased := map[string]bool{}
	for _, o := range d.Body["categories"].([]any) {
		m := o.(map[string]any)
		if m["erased"] == true {
			erased[m["category"].(string)] = true
		} else {
			kept[m["category"].(string)], _ = m["reason"].(string)
		}
	}
	for _, c := range []string{"favorites", "messages", "subscriptions", "enterprise_memberships", "consents", "account"} {
		if !erased[c] {
			t.Errorf("%s not erased: %s", c, d.Raw)
		}
	}
	for _, c := range []string{"applications", "bills_and_payments", "licences", "evaluations", "audit_logs"} {
		if kept[c] == "" {
			t.Errorf("%s not reported kept with a reason: %s", c, d.Raw)
		}
	}

	s.must(t, 401, s.call(t, "GET", apiV1+"/me", token, nil))
	for coll, filter := range map[string]bson.M{
		"citizen_pages":     {"_id": uid},
		"consents":          {"user_id": uid},
		"subscribe_credits": {"user_id": uid},
		"wechat_logins":     {"user_id": uid},
		"identity_claims":   {"user_id": uid},
		"users":             {"_id": uid, "name_enc": bson.M{"$exists": true}},
	} {
		if n := s.countWhere(t, coll, filter); n != 0 {
			t.Errorf("%s still holds %d documents of the deleted person", coll, n)
		}
	}

	// The same WeChat user again: a new account, which may prove the same
	// ID number (the claim was released).
	fresh := s.loginFrom(t, p)
	if id := s.userID(t, fresh); id == uid {
		t.Fatal("a deleted person's login revived the deleted account")
	}
	me := s.must(t, 200, s.call(t, "GET", apiV1+"/me", fresh, nil))
	if me.str("user", "realname_level") != "1" {
		t.Fatalf("new account: %s", me.Raw)
	}
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/declare", fresh, map[string]string{"name": p.Name, "id_number": p.IDNumber}))
	a := s.must(t, 200, s.call(t, "POST", apiV1+"/me/realname/check", fresh,
		map[string]string{"name": p.Name, "id_number": p.IDNumber, "code": s.realnameCode(t, p)}))
	if a.str("user", "realname_level") != "3" {
		t.Fatalf("proving the released ID number again: %s", a.Raw)
	}
}

// TestInterruptedDeletionIsFinished: a deletion that crashed after it was
// recorded (the account marked, nothing else done) is finished by the
// sweeper: the identity erased, the claim released.
func TestInterruptedDeletionIsFinished(t *testing.T) {
	s := getStack(t)
	_, token := levelThree(t, s)
	uid := s.userID(t, token)
	ctx := context.Background()
	// The state a crash right after BeginForget leaves.
	if err := s.app.Accounts.BeginForget(ctx, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.app.Mongo.DB.Collection("privacy_requests").InsertOne(ctx, bson.M{"_id": "delete:" + uid,
		"user_id": uid, "state": "erasing", "started_at": s.app.Clock.Now().UTC().Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.app.Privacy.ResumeDeletions(ctx)
	if err != nil || n < 1 {
		t.Fatalf("resume: %d, %v", n, err)
	}
	if s.countWhere(t, "privacy_requests", bson.M{"_id": "delete:" + uid, "state": "done"}) != 1 ||
		s.countWhere(t, "identity_claims", bson.M{"user_id": uid}) != 0 ||
		s.countWhere(t, "users", bson.M{"_id": uid, "id_index": bson.M{"$exists": true}}) != 0 {
		t.Fatal("the interrupted deletion was not finished")
	}
	s.must(t, 401, s.call(t, "GET", apiV1+"/me", token, nil))
}

// TestFaceConsentWithdrawnLowersTheLevel: starting a face verification is
// the separate consent to it; withdrawing it stops using the result: level
// 4 falls to 3 and the sessions carrying level 4 end.
func TestFaceConsentWithdrawnLowersTheLevel(t *testing.T) {
	s := getStack(t)
	p, token := levelFour(t, s, "李四")
	list := s.must(t, 200, s.call(t, "GET", apiV1+"/me/consents", token, nil))
	var faceID string
	for _, c := range list.Body["consents"].([]any) {
		if m := c.(map[string]any); m["purpose"] == "face_verification" {
			faceID = m["id"].(string)
		}
	}
	if faceID == "" {
		t.Fatalf("no face consent recorded: %s", list.Raw)
	}
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/consents/"+faceID+"/withdraw", token, nil))
	s.must(t, 401, s.call(t, "GET", apiV1+"/me", token, nil))
	again := s.loginFrom(t, p)
	if lvl := s.must(t, 200, s.call(t, "GET", apiV1+"/me", again, nil)).str("user", "realname_level"); lvl != "3" {
		t.Fatalf("level after withdrawing the face consent: %s", lvl)
	}
}

// TestLicenceAuthorizationIsAConsent: authorising a department's use of a
// licence records a consent; withdrawing that consent ends the
// authorisation (the department's copy is refused); withdrawing the
// authorisation in the wallet marks the consent withdrawn; deleting the
// account withdraws every authorisation.
func TestLicenceAuthorizationIsAConsent(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.licenceDept(t, admin, true)
	p, token := levelThree(t, s)
	id := s.must(t, 200, s.issueLicence(t, d, p, "issue", nil)).Header.Get("X-Sim-Licence-Id")
	exp := s.app.Clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
	authorize := func() string {
		return s.must(t, 201, s.call(t, "POST", apiV1+"/me/licences/"+id+"/authorizations", token,
			map[string]string{"integration_id": d.ID, "cause": "住房公积金提取", "expires_at": exp})).str("id")
	}
	consentOf := func(aid string) map[string]any {
		for _, c := range s.must(t, 200, s.call(t, "GET", apiV1+"/me/consents", token, nil)).Body["consents"].([]any) {
			if m := c.(map[string]any); m["purpose"] == "licence_authorization" && m["ref"] == id+"/"+aid {
				return m
			}
		}
		t.Fatalf("no consent recorded for authorisation %s", aid)
		return nil
	}
	copyStatus := func(aid, event string) int {
		body, _ := json.Marshal(map[string]string{"event_id": event, "authorization_id": aid})
		return s.signedPost(t, d, apiV1+"/hooks/licences/copies", body, nil).Status
	}

	a1 := authorize()
	c1 := consentOf(a1)
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/consents/"+c1["id"].(string)+"/withdraw", token, nil))
	if st := copyStatus(a1, "c-"+a1); st == 200 {
		t.Fatal("a copy was made after the consent was withdrawn")
	}

	a2 := authorize()
	s.must(t, 200, s.call(t, "POST", apiV1+"/me/licences/"+id+"/authorizations/"+a2+"/withdraw", token, nil))
	if c := consentOf(a2); c["withdrawn_at"] == nil {
		t.Fatalf("withdrawn in the wallet, the consent is not: %v", c)
	}

	a3 := authorize()
	s.must(t, 200, s.call(t, "DELETE", apiV1+"/me", token, map[string]string{"code": s.realnameCode(t, p)}))
	if st := copyStatus(a3, "c-"+a3); st == 200 {
		t.Fatal("a copy was made after the holder deleted the account")
	}
}
