package licences

import (
	"bytes"
	"testing"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// TestRotationResealsHolders: a person holder sealed under the first key is
// re-sealed under a new one by account.RotatePII with SealedPII (and the
// holder reads back through the new keyring); the blind index of the holder is unchanged.
func TestRotationResealsHolders(t *testing.T) {
	f := newFixture(t)
	id := f.issued(t, "300001")
	before, err := f.svc.load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := account.NewKeyring([]account.PIIKey{{ID: account.InitialKeyID, Master: make([]byte, 32)}, {ID: "k2", Master: bytes.Repeat([]byte{1}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	db := f.svc.licences.Database()
	counts, err := account.RotatePII(t.Context(), db, platform.NewLeases(db, f.clock), rotated,
		[]account.SealedCollection{SealedPII(db)}, account.RotateOptions{}, platformtest.Logger())
	if err != nil || len(counts) != 1 || counts[0].Resealed != 1 || counts[0].Failed != 0 {
		t.Fatalf("rotation %+v, %v", counts, err)
	}
	d, err := f.svc.load(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, sealed := range [][]byte{d.Holder.NameSealed, d.Holder.CodeSealed} {
		if k, _ := rotated.SealedKeyID(sealed); k != "k2" {
			t.Fatalf("holder field under %q after rotation", k)
		}
	}
	if d.IDIndex != before.IDIndex || d.IDIndex != rotated.BlindIndex(IDNumberKind, testIDNumber) {
		t.Fatal("the holder's blind index changed")
	}
	f.svc.cipher = rotated
	m, err := f.svc.metadata(d)
	if err != nil || m.Holder.Name != "张三" || m.Holder.Code != testIDNumber {
		t.Fatalf("holder after rotation: %+v, %v", m.Holder, err)
	}
}
