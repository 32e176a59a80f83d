package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
	"banshi/internal/staff"
	"banshi/licences"
)

// licenceDept is a department registered with the scope licences whose
// licences the department simulator signs (its SM2 key registered through
// the admin route, its secret told to the simulator).
func (s *stack) licenceDept(t *testing.T, admin string, withKey bool) dept {
	t.Helper()
	d := s.newDept(t, admin, "licences")
	s.must(t, 204, s.call(t, "PUT", "/sim/department/"+d.ID, "", map[string]string{"secret": d.Secret}))
	if withKey {
		pub := s.must(t, 200, s.call(t, "GET", "/sim/department/licence-key", "", nil)).str("sm2_public_key")
		a := s.must(t, 200, s.call(t, "PUT", apiV1+"/staff/admin/integrations/"+d.ID+"/sm2-key", admin, map[string]string{"sm2_public_key": pub}))
		if len(a.str("fingerprint")) != 64 {
			t.Fatalf("key registration: %s", a.Raw)
		}
	}
	return d
}

// issueLicence has the simulator issue (or, with action, change) a licence
// for p; over replaces fields of the licence object.
func (s *stack) issueLicence(t *testing.T, d dept, p person, action string, over map[string]any) answer {
	t.Helper()
	lic := map[string]any{"holder": map[string]any{"name": p.Name, "code": p.IDNumber, "code_type": "111"}}
	for k, v := range over {
		lic[k] = v
	}
	return s.call(t, "POST", "/sim/department/"+d.ID+"/licences", "", map[string]any{"action": action, "licence": lic})
}

// TestLicenceWalkthrough: a licence issued by a department (SM2-signed) is in
// the holder's wallet, masked; shown, it verifies once at the counter and is
// listed as a use; a department the holder authorised fetches a copy signed
// by Banshi; revoked, it can no longer be shown.
func TestLicenceWalkthrough(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.licenceDept(t, admin, true)
	p, token := levelThree(t, s)

	a := s.must(t, 200, s.issueLicence(t, d, p, "issue", nil))
	id := a.Header.Get("X-Sim-Licence-Id")
	if a.str("identifier") != id || a.str("status") != "valid" || a.str("duplicate") != "false" {
		t.Fatalf("issue: %s", a.Raw)
	}
	list := s.must(t, 200, s.call(t, "GET", apiV1+"/me/licences", token, nil))
	if !strings.Contains(string(list.Raw), id) || strings.Contains(string(list.Raw), p.IDNumber) {
		t.Fatalf("wallet: %s", list.Raw)
	}
	one := s.must(t, 200, s.call(t, "GET", apiV1+"/me/licences/"+id, token, nil))
	if one.str("holder", "code_type") != "111" || one.str("usable") != "true" || one.str("holder", "code") == p.IDNumber {
		t.Fatalf("licence: %s", one.Raw)
	}
	// Someone else sees nothing of it.
	_, other := levelThree(t, s)
	if a := s.call(t, "GET", apiV1+"/me/licences/"+id, other, nil); a.Status != 404 || a.errCode() != "licence_not_found" {
		t.Fatalf("another citizen: %d %s", a.Status, a.Raw)
	}
	if a := s.call(t, "POST", apiV1+"/me/licences/"+id+"/show", other, nil); a.Status != 404 {
		t.Fatalf("another citizen shows it: %d %s", a.Status, a.Raw)
	}

	// 亮证, verified at the counter once.
	shown := s.must(t, 200, s.call(t, "POST", apiV1+"/me/licences/"+id+"/show", token, nil))
	tok := shown.str("token")
	if !strings.HasPrefix(tok, licences.TokenPrefix+".") || shown.str("qr_png") == "" || shown.str("expires_at") == "" {
		t.Fatalf("show: %s", shown.Raw)
	}
	desk := s.staffLogin(t, staff.DemoStaff)
	v := s.must(t, 200, s.call(t, "POST", apiV1+"/staff/licences/verify", desk, map[string]string{"token": tok}))
	if v.str("licence", "id") != id || v.str("licence", "status") != "valid" || strings.Contains(string(v.Raw), p.IDNumber) {
		t.Fatalf("verify: %s", v.Raw)
	}
	if a := s.call(t, "POST", apiV1+"/staff/licences/verify", desk, map[string]string{"token": tok}); a.Status != 409 || a.errCode() != "licence_token_used" {
		t.Fatalf("reuse: %d %s", a.Status, a.Raw)
	}
	uses := s.must(t, 200, s.call(t, "GET", apiV1+"/me/licences/"+id+"/uses", token, nil))
	if n := len(uses.Body["uses"].([]any)); n != 1 {
		t.Fatalf("uses: %s", uses.Raw)
	}

	// 用证授权: the department authorised fetches an annotated copy.
	exp := s.app.Clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
	auth := s.must(t, 201, s.call(t, "POST", apiV1+"/me/licences/"+id+"/authorizations", token,
		map[string]string{"integration_id": d.ID, "cause": "住房公积金提取", "expires_at": exp}))
	body, _ := json.Marshal(map[string]string{"event_id": "copy-1", "authorization_id": auth.str("id")})
	cp := s.must(t, 200, s.signedPost(t, d, apiV1+"/hooks/licences/copies", body, nil))
	if cp.str("copy", "annotation", "cause") != "住房公积金提取" || cp.str("signature", "algorithm") != "SM2-SM3" {
		t.Fatalf("copy: %s", cp.Raw)
	}
	// Another department cannot use it.
	d2 := s.licenceDept(t, admin, false)
	body2, _ := json.Marshal(map[string]string{"event_id": "copy-2", "authorization_id": auth.str("id")})
	if a := s.signedPost(t, d2, apiV1+"/hooks/licences/copies", body2, nil); a.Status != 404 {
		t.Fatalf("copy by another department: %d %s", a.Status, a.Raw)
	}
	uses = s.must(t, 200, s.call(t, "GET", apiV1+"/me/licences/"+id+"/uses", token, nil))
	if n := len(uses.Body["uses"].([]any)); n != 2 {
		t.Fatalf("uses after the copy: %s", uses.Raw)
	}

	// Revoked: marked, and it can no longer be shown.
	s.must(t, 200, s.issueLicence(t, d, p, "revoke", map[string]any{"identifier": id}))
	one = s.must(t, 200, s.call(t, "GET", apiV1+"/me/licences/"+id, token, nil))
	if one.str("revoked") != "true" || one.str("status_code") != "03" {
		t.Fatalf("revoked: %s", one.Raw)
	}
	if a := s.call(t, "POST", apiV1+"/me/licences/"+id+"/show", token, nil); a.Status != 409 || a.errCode() != "licence_not_valid" {
		t.Fatalf("show revoked: %d %s", a.Status, a.Raw)
	}
}

// TestLicenceTokenVerifiedOnceUnderRace: twenty counters verifying the same
// token at once: exactly one 200, the rest 409, one use recorded.
func TestLicenceTokenVerifiedOnceUnderRace(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.licenceDept(t, admin, true)
	p, token := levelThree(t, s)
	id := s.must(t, 200, s.issueLicence(t, d, p, "issue", nil)).Header.Get("X-Sim-Licence-Id")
	tok := s.must(t, 200, s.call(t, "POST", apiV1+"/me/licences/"+id+"/show", token, nil)).str("token")
	desk := s.staffLogin(t, staff.DemoStaff)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.try("POST", apiV1+"/staff/licences/verify", desk, map[string]string{"token": tok})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = a.Status
		}()
	}
	wg.Wait()
	ok, used := 0, 0
	for _, st := range statuses {
		switch st {
		case 200:
			ok++
		case 409:
			used++
		}
	}
	if ok != 1 || used != 19 {
		t.Fatalf("statuses %v", statuses)
	}
	if n := s.countWhere(t, licences.CollUses, bson.M{"licence_id": id}); n != 1 {
		t.Fatalf("%d uses recorded", n)
	}
}

// TestLicenceBadInput: malformed identifiers (the failing check named),
// licences from a department without a key or with a forged signature, and
// expired, forged or malformed tokens are 4xx and change nothing.
func TestLicenceBadInput(t *testing.T) {
	s := getStack(t)
	admin := s.staffLogin(t, staff.DemoAdmin)
	d := s.licenceDept(t, admin, true)
	keyless := s.licenceDept(t, admin, false)
	p, token := levelThree(t, s)
	before := s.count(t, licences.CollLicences)
	good := licences.WithCheck("11100000000013338W032", "11220000013544541J", "BAD0001", "001")
	for _, tc := range []struct {
		name, identifier, check string
	}{
		{"check character", good[:len(good)-1] + "0", licences.CheckCheckChar},
		{"prefix", strings.Replace(good, "3005.2", "3005.9", 1), licences.CheckPrefix},
		{"serial", strings.Replace(good, "BAD0001", "bad0001", 1), licences.CheckSerial},
		{"issuer", strings.Replace(good, "11220000013544541J", "11010519491231002X", 1), licences.CheckIssuer},
		{"structure", "1.2.156.3005.2.x", licences.CheckStructure},
	} {
		a := s.issueLicence(t, d, p, "issue", map[string]any{"identifier": tc.identifier})
		if a.Status != 400 || a.errField("field") != "licence.identifier" || a.errField("check") != tc.check {
			t.Errorf("%s: %d %s", tc.name, a.Status, a.Raw)
		}
	}
	if a := s.issueLicence(t, keyless, p, "issue", nil); a.Status != 403 || a.errCode() != "issuer_key_missing" {
		t.Errorf("keyless department: %d %s", a.Status, a.Raw)
	}
	// Signed by someone else's key: the department's own HMAC is right, the SM2 signature is not.
	forged := map[string]any{"event_id": "forged-1", "action": "issue", "licence": map[string]any{},
		"signature": map[string]any{"algorithm": "SM2-SM3", "value": "MEUCIQ==", "signed_at": "2026-03-16T10:00:00+08:00"}}
	lic := s.issueLicence(t, d, p, "issue", map[string]any{"identifier": good}) // stored: the one good licence
	s.must(t, 200, lic)
	var full map[string]any
	cur, err := s.app.Mongo.DB.Collection(licences.CollLicences).Find(t.Context(), bson.M{"_id": good})
	if err != nil || !cur.Next(t.Context()) {
		t.Fatal("licence not stored")
	}
	_ = cur.Close(t.Context())
	full = map[string]any{"identifier": licences.WithCheck("11100000000013338W032", "11220000013544541J", "BAD0002", "001"),
		"name": "居民户口簿", "number": "X1", "type_name": "户口簿", "type_code": "11100000000013338W032", "version": "001",
		"defining_authority": map[string]any{"name": "公安部", "code": "11100000000013338W"},
		"issuing_authority":  map[string]any{"name": "演示公安厅", "code": "11220000013544541J"},
		"issue_date":         "2026-01-05", "valid_from": "2026-01-05", "area_code": "220000",
		"holder": map[string]any{"name": p.Name, "code": p.IDNumber, "code_type": "111"}, "status": "valid", "extensions": map[string]any{}}
	forged["licence"] = full
	body, _ := json.Marshal(forged)
	if a := s.signedPost(t, d, apiV1+"/hooks/licences", body, nil); a.Status != 422 || a.errCode() != "licence_signature_invalid" {
		t.Errorf("forged signature: %d %s", a.Status, a.Raw)
	}
	if n := s.count(t, licences.CollLicences); n != before+1 {
		t.Fatalf("licences %d, want %d", n, before+1)
	}
	if n := s.countWhere(t, licences.CollEvents, bson.M{"source": keyless.ID}); n != 0 {
		t.Fatalf("keyless events recorded: %d", n)
	}

	// Tokens.
	desk := s.staffLogin(t, staff.DemoStaff)
	tok := s.must(t, 200, s.call(t, "POST", apiV1+"/me/licences/"+good+"/show", token, nil)).str("token")
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"garbage": "hello", "empty signature": parts[0] + "." + parts[1] + ".", "other signature": parts[0] + "." + parts[1] + ".MEUCIQ",
		"too long": strings.Repeat("A", 2000),
	} {
		a := s.call(t, "POST", apiV1+"/staff/licences/verify", desk, map[string]string{"token": bad})
		if a.Status != 400 {
			t.Errorf("%s: %d %s", name, a.Status, a.Raw)
		}
	}
	if a := s.call(t, "POST", apiV1+"/staff/licences/verify", desk, map[string]string{}); a.Status != 400 || a.errField("field") != "token" {
		t.Errorf("no token: %d %s", a.Status, a.Raw)
	}
	if a := s.call(t, "POST", apiV1+"/staff/licences/verify", token, map[string]string{"token": tok}); a.Status != 401 {
		t.Errorf("a citizen verifies: %d %s", a.Status, a.Raw)
	}
	if err := s.app.Clock.Advance(licences.TokenLifetime + time.Second); err != nil {
		t.Fatal(err)
	}
	if a := s.call(t, "POST", apiV1+"/staff/licences/verify", desk, map[string]string{"token": tok}); a.Status != 410 || a.errCode() != "licence_token_expired" {
		t.Errorf("expired: %d %s", a.Status, a.Raw)
	}
	if n := s.countWhere(t, licences.CollUses, bson.M{"licence_id": good}); n != 0 {
		t.Fatalf("%d uses recorded for refused tokens", n)
	}
	// Authorisations with bad input change nothing.
	for name, in := range map[string]map[string]string{
		"no cause":   {"integration_id": d.ID, "expires_at": s.app.Clock.Now().Add(time.Hour).Format(time.RFC3339)},
		"past":       {"integration_id": d.ID, "cause": "核验", "expires_at": s.app.Clock.Now().Add(-time.Hour).Format(time.RFC3339)},
		"unknown":    {"integration_id": "no-such-dept", "cause": "核验", "expires_at": s.app.Clock.Now().Add(time.Hour).Format(time.RFC3339)},
		"bad expiry": {"integration_id": d.ID, "cause": "核验", "expires_at": "tomorrow"},
	} {
		if a := s.call(t, "POST", apiV1+"/me/licences/"+good+"/authorizations", token, in); a.Status < 400 || a.Status > 499 {
			t.Errorf("%s: %d %s", name, a.Status, a.Raw)
		}
	}
	if n := s.countWhere(t, licences.CollAuthorizations, bson.M{"licence_id": good}); n != 0 {
		t.Fatalf("%d authorisations stored", n)
	}
	if a := s.call(t, "PUT", apiV1+"/staff/admin/integrations/"+d.ID+"/sm2-key", admin, map[string]string{"sm2_public_key": "not a key"}); a.Status != 400 {
		t.Errorf("bad key: %d %s", a.Status, a.Raw)
	}
}

// TestLicenceSignerSetting: BANSHI_LICENCE_SM2_KEY is used as given and
// printed masked; a bad one is refused without quoting it; development
// without it mints one key into the data folder and keeps it.
func TestLicenceSignerSetting(t *testing.T) {
	key, err := licences.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pemText := licences.PrivateKeyPEM(key)
	cfg, err := platform.LoadConfig(getenv(map[string]string{"BANSHI_DATA_DIR": t.TempDir(), "BANSHI_LICENCE_SM2_KEY": pemText}))
	if err != nil {
		t.Fatal(err)
	}
	pairs := cfg.Printable()
	if printed := fmt.Sprint(pairs...); strings.Contains(printed, "PRIVATE KEY") {
		t.Fatalf("printed: %s", printed)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "licence_sm2_key" && pairs[i+1] != "******" {
			t.Fatalf("licence_sm2_key printed as %v", pairs[i+1])
		}
	}
	s, err := licenceSigner(cfg, testLog())
	if err != nil || s.PublicKeyPEM() != licences.PublicKeyPEM(&key.PublicKey) {
		t.Fatalf("configured key not used: %v", err)
	}
	cfg.LicenceSM2Key = platform.Secret(strings.Replace(pemText, "PRIVATE KEY", "PUBLIC KEY", -1))
	if _, err := licenceSigner(cfg, testLog()); err == nil || strings.Contains(err.Error(), "MI") {
		t.Fatalf("bad key: %v", err)
	}
	cfg.LicenceSM2Key = ""
	first, err := licenceSigner(cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	again, err := licenceSigner(cfg, testLog())
	if err != nil || again.Fingerprint() != first.Fingerprint() {
		t.Fatalf("development key not kept: %v", err)
	}
}
