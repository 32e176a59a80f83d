package enterprises

import (
	"bytes"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
	"banshi/internal/sim"
)

// TestRotationResealsInvitations: an invitation sealed under the first key
// is re-sealed under a new one by account.RotatePII with SealedPII, and the
// invitee can still accept it (which opens the sealed identity) through a
// service holding the new keyring.
func TestRotationResealsInvitations(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	admin := f.newPerson("李四", 1, 3)
	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: Invitee{Name: admin.name, IDNumber: admin.id}})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := account.NewKeyring([]account.PIIKey{{ID: account.InitialKeyID, Master: bytes.Repeat([]byte{9}, 32)}, {ID: "k2", Master: bytes.Repeat([]byte{10}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := account.RotatePII(f.ctx, f.db, platform.NewLeases(f.db, f.clock), rotated,
		[]account.SealedCollection{SealedPII(f.db)}, account.RotateOptions{}, platformtest.Logger())
	if err != nil || len(counts) != 1 || counts[0].Resealed != 1 || counts[0].Failed != 0 {
		t.Fatalf("rotation %+v, %v", counts, err)
	}
	var d memberDoc
	if err := f.db.Collection(CollMembers).FindOne(f.ctx, bson.M{"_id": m.ID}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	for _, sealed := range [][]byte{d.NameSealed, d.IDSealed} {
		if k, _ := rotated.SealedKeyID(sealed); k != "k2" {
			t.Fatalf("member field under %q after rotation", k)
		}
	}
	f.cipher = rotated
	svc := f.service(f.accounts)
	if a, err := svc.Accept(f.ctx, admin.uid, m.ID); err != nil || a.State != MemberActive {
		t.Fatalf("accept after rotation: %+v %v", a, err)
	}
}
