package licences

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"banshi/internal/platform"
)

func TestAuthorizedCopy(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id := f.issued(t, "400001")
	exp := f.clock.Now().Add(72 * time.Hour).Format(time.RFC3339)
	for name, in := range map[string]AuthorizationInput{
		"no cause":     {IntegrationID: "dept-use", ExpiresAt: exp},
		"past":         {IntegrationID: "dept-use", Cause: "公积金提取", ExpiresAt: f.clock.Now().Add(-time.Hour).Format(time.RFC3339)},
		"too long":     {IntegrationID: "dept-use", Cause: "公积金提取", ExpiresAt: f.clock.Now().Add(31 * 24 * time.Hour).Format(time.RFC3339)},
		"unknown dept": {IntegrationID: "dept-none", Cause: "公积金提取", ExpiresAt: exp},
	} {
		if _, err := f.svc.Authorize(ctx, "u1", id, in); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	a, err := f.svc.Authorize(ctx, "u1", id, AuthorizationInput{IntegrationID: "dept-use", Cause: "公积金提取", ExpiresAt: exp})
	if err != nil || !a.Active {
		t.Fatalf("authorize %+v %v", a, err)
	}
	req, _ := json.Marshal(CopyRequest{EventID: "c1", AuthorizationID: a.ID})
	if _, err := f.svc.Copy(ctx, "dept-other", req); !errors.Is(err, ErrAuthorizationNotFound) {
		t.Fatalf("copy by another department: %v", err)
	}
	c, err := f.svc.Copy(ctx, "dept-use", req)
	if err != nil || c.Duplicate {
		t.Fatalf("copy %+v %v", c, err)
	}
	// The department verifies Banshi's signature over the canonical copy it received.
	raw, _ := json.Marshal(c.Copy)
	var got map[string]any
	_ = json.Unmarshal(raw, &got)
	sig, _ := base64.StdEncoding.DecodeString(c.Signature.Value)
	if b, err := CanonicalJSON(got); err != nil || !f.svc.signer.Verify(b, sig) {
		t.Fatal("copy signature does not verify")
	}
	lic := got["licence"].(map[string]any)
	if lic["holder"].(map[string]any)["code"] != testIDNumber || got["annotation"].(map[string]any)["cause"] != "公积金提取" {
		t.Fatalf("copy %s", raw)
	}
	if c, err = f.svc.Copy(ctx, "dept-use", req); err != nil || !c.Duplicate {
		t.Fatalf("repeat %+v %v", c, err)
	}
	if _, err := f.svc.Withdraw(ctx, "u1", id, a.ID); err != nil {
		t.Fatal(err)
	}
	req2, _ := json.Marshal(CopyRequest{EventID: "c2", AuthorizationID: a.ID})
	if _, err := f.svc.Copy(ctx, "dept-use", req2); !errors.Is(err, ErrAuthorizationInactive) {
		t.Fatalf("copy after withdrawal: %v", err)
	}
	if _, err := f.svc.Copy(ctx, "dept-use", []byte(`{"event_id":"c3","authorization_id":"nope"}`)); !isInvalid(err) {
		t.Fatalf("bad request: %v", err)
	}
	uses, _ := f.svc.Uses(ctx, "u1", id)
	if len(uses) != 1 || uses[0].Kind != UseCopy || uses[0].Cause != "公积金提取" {
		t.Fatalf("uses %+v", uses)
	}
}

func isInvalid(err error) bool {
	pe, ok := platform.AsError(err)
	return ok && pe.Code == platform.CodeInvalid
}
