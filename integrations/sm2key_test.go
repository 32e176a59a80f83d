package integrations

import (
	"errors"
	"testing"

	"banshi/internal/platform"
	"banshi/licences"
)

// An SM2 key is registered, replaced, refused when it is no SM2 public key
// (nothing changed), and not handed out for a disabled integration.
func TestSM2Key(t *testing.T) {
	f := newFixture(t)
	if _, err := f.reg.Create(f.ctx, New{ID: "dept-lic", Name: "证照库", Scopes: []string{ScopeLicences}}); err != nil {
		t.Fatal(err)
	}
	if p, err := f.reg.IssuerKey(f.ctx, "dept-lic"); err != nil || p != "" {
		t.Fatalf("key before any: %q %v", p, err)
	}
	k1, _ := licences.GenerateKey()
	pem1 := licences.PublicKeyPEM(&k1.PublicKey)
	got, err := f.reg.SetSM2Key(f.ctx, "dept-lic", pem1)
	if err != nil || got.PublicKeyPEM != pem1 || !hex64.MatchString(got.Fingerprint) {
		t.Fatalf("set: %+v %v", got, err)
	}
	for name, bad := range map[string]string{"garbage": "not a key", "private key": licences.PrivateKeyPEM(k1)} {
		_, err := f.reg.SetSM2Key(f.ctx, "dept-lic", bad)
		if pe, ok := platform.AsError(err); !ok || pe.Field != "sm2_public_key" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if p, _ := f.reg.IssuerKey(f.ctx, "dept-lic"); p != pem1 {
		t.Fatal("a refused key changed the registered one")
	}
	if _, err := f.reg.SetSM2Key(f.ctx, "nobody", pem1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown integration: %v", err)
	}
	if _, err := f.reg.SetDisabled(f.ctx, "dept-lic", true); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.reg.IssuerKey(f.ctx, "dept-lic"); p != "" {
		t.Fatal("a disabled integration's key is still used")
	}
}
