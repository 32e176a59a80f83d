package licences

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

func (f *fixture) count(t *testing.T, coll string) int64 {
	t.Helper()
	n, err := f.svc.licences.Database().Collection(coll).CountDocuments(t.Context(), bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The canonical bytes are what a department computes with another JSON
// library: keys sorted, no spaces, only " and \ escaped (no \u003c for <).
func TestCanonicalMetadata(t *testing.T) {
	ev, err := ParseEvent(event(t, testKey, "e1", ActionIssue, licence("2430599")), testNow)
	if err != nil {
		t.Fatal(err)
	}
	got := string(ev.Licence.Canonical())
	want := `{"area_code":"220000","defining_authority":{"code":"11100000000013338W","name":"公安部"},` +
		`"extensions":{"address":"长春市<朝阳区>&1号"},"holder":{"code":"` + testIDNumber + `","code_type":"111","name":"张三"},` +
		`"identifier":"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F","issue_date":"2026-01-05",` +
		`"issuing_authority":{"code":"11220000013544541J","name":"吉林省公安厅"},"name":"居民户口簿","number":"No.2430599",` +
		`"status":"valid","type_code":"11100000000013338W032","type_name":"户口簿","valid_from":"2026-01-05","valid_until":"2036-01-04","version":"001"}`
	if got != want {
		t.Fatalf("canonical\n%s\nwant\n%s", got, want)
	}
}

func TestReceiveIssueUpdateRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	lic := licence("100001")
	r, err := f.svc.Receive(ctx, testSource, event(t, testKey, "e1", ActionIssue, lic))
	if err != nil || r.Duplicate || r.Status != StatusValid {
		t.Fatalf("issue: %+v %v", r, err)
	}
	// Stored: the holder only sealed, masked and indexed.
	var raw bson.M
	if err := f.svc.licences.FindOne(ctx, bson.M{"_id": r.Identifier}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if s := strings.Join([]string{bsonString(raw)}, ""); strings.Contains(s, testIDNumber) || strings.Contains(s, "张三") {
		t.Fatalf("holder stored in the clear: %s", s)
	}
	r, err = f.svc.Receive(ctx, testSource, event(t, testKey, "e1", ActionIssue, lic))
	if err != nil || !r.Duplicate {
		t.Fatalf("duplicate: %+v %v", r, err)
	}
	if _, err := f.svc.Receive(ctx, testSource, event(t, testKey, "e2", ActionIssue, lic)); !errors.Is(err, ErrExists) {
		t.Fatalf("second issue: %v", err)
	}
	list, err := f.svc.ForUser(ctx, "u1")
	if err != nil || len(list) != 1 || list[0].Holder.Code == testIDNumber || !list[0].Usable || list[0].Extensions["address"] == "" {
		t.Fatalf("wallet %+v %v", list, err)
	}
	if got, _ := f.svc.ForUser(ctx, "nobody"); len(got) != 0 {
		t.Fatal("wallet of someone without a proven ID number")
	}
	if _, err := f.svc.Get(ctx, "u2", r.Identifier); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another's licence: %v", err)
	}
	lic["name"] = "居民户口簿（更正）"
	if r, err = f.svc.Receive(ctx, testSource, event(t, testKey, "e3", ActionUpdate, lic)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(ctx, "other-dept", event(t, testKey, "e4", ActionUpdate, lic)); err == nil {
		t.Fatal("another department changed the licence")
	}
	lic["status"] = StatusRevoked
	if r, err = f.svc.Receive(ctx, testSource, event(t, testKey, "e5", ActionRevoke, lic)); err != nil || r.Status != StatusRevoked {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	v, err := f.svc.Get(ctx, "u1", r.Identifier)
	if err != nil || !v.Revoked || v.Usable || v.StatusCode != "03" || v.Name != "居民户口簿（更正）" {
		t.Fatalf("revoked view %+v %v", v, err)
	}
	if _, err := f.svc.Show(ctx, "u1", r.Identifier); !errors.Is(err, ErrNotShowable) {
		t.Fatalf("show revoked: %v", err)
	}
}

func bsonString(m bson.M) string {
	b, _ := bson.MarshalExtJSON(m, false, false)
	return string(b)
}

// Every bad event is refused with a 4xx error and stores nothing.
func TestReceiveRefusesBadEvents(t *testing.T) {
	f := newFixture(t)
	good := licence("200001")
	mut := func(k string, v any) map[string]any {
		l := licence("200001")
		if v == nil {
			delete(l, k)
		} else {
			l[k] = v
		}
		return l
	}
	cases := []struct {
		name  string
		body  []byte
		field string
		err   error
	}{
		{"bad check character", event(t, testKey, "b1", ActionIssue, mut("identifier", "1.2.156.3005.2.11100000000013338W032.11220000013544541J.200001.001.Z")), "licence.identifier", nil},
		{"issuer mismatch", event(t, testKey, "b2", ActionIssue, mut("issuing_authority", map[string]any{"name": "x", "code": "91350100M000100Y43"})), "licence.issuing_authority.code", nil},
		{"type code mismatch", event(t, testKey, "b3", ActionIssue, mut("type_code", "11100000000013338W033")), "licence.type_code", nil},
		{"holder code type", event(t, testKey, "b4", ActionIssue, mut("holder", map[string]any{"name": "张三", "code": testIDNumber, "code_type": "999"})), "licence.holder.code_type", nil},
		{"holder id number", event(t, testKey, "b5", ActionIssue, mut("holder", map[string]any{"name": "张三", "code": "110105194912310021", "code_type": "111"})), "licence.holder.code", nil},
		{"issued revoked", event(t, testKey, "b6", ActionIssue, mut("status", StatusRevoked)), "licence.status", nil},
		{"unknown field", event(t, testKey, "b7", ActionIssue, mut("colour", "red")), "colour", nil},
		{"control character", event(t, testKey, "b8", ActionIssue, mut("name", "户口\u0007簿")), "licence.name", nil},
		{"until before from", event(t, testKey, "b9", ActionIssue, mut("valid_until", "2020-01-01")), "licence.valid_until", nil},
		{"not json", []byte("{"), "body", nil},
		{"wrong key", event(t, otherKey, "b10", ActionIssue, good), "", ErrSignature},
		{"no issuer key", event(t, testKey, "b11", ActionIssue, good), "", ErrNoIssuerKey},
		{"update unknown", event(t, testKey, "b12", ActionUpdate, good), "", ErrNotFound},
	}
	for _, tc := range cases {
		source := testSource
		if tc.name == "no issuer key" {
			source = "keyless"
		}
		_, err := f.svc.Receive(t.Context(), source, tc.body)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
			}
		} else if pe, ok := platform.AsError(err); !ok || pe.Code != platform.CodeInvalid || pe.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	// A signature over other bytes (the metadata changed after signing).
	body := strings.Replace(string(event(t, testKey, "b13", ActionIssue, good)), "居民户口簿", "居民户口薄", 1)
	if _, err := f.svc.Receive(t.Context(), testSource, []byte(body)); !errors.Is(err, ErrSignature) {
		t.Errorf("altered metadata: %v", err)
	}
	if n, m := f.count(t, CollLicences), f.count(t, CollEvents); n != 0 || m != 0 {
		t.Fatalf("stored %d licences, %d events", n, m)
	}
}

// The same issue event delivered ten times at once (a department's retries)
// stores one licence and one event; every answer is 200-worthy, exactly one
// not a duplicate.
func TestReceiveSameEventConcurrently(t *testing.T) {
	f := newFixture(t)
	body := event(t, testKey, "race-1", ActionIssue, licence("500001"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.svc.Receive(t.Context(), testSource, body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("receive: %v", err)
				return
			}
			if !r.Duplicate {
				fresh++
			}
		}()
	}
	wg.Wait()
	if fresh != 1 || f.count(t, CollLicences) != 1 || f.count(t, CollEvents) != 1 {
		t.Fatalf("%d fresh answers, %d licences, %d events", fresh, f.count(t, CollLicences), f.count(t, CollEvents))
	}
}
